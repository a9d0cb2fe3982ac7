"""clock_skew without false alarms, with the real broker, controller and agents.

A status's ts is compared with the time its message ARRIVED (taken on the MQTT
library's thread, before it waits for the main loop), and the alert needs two
consecutive statuses of the agent that are off by about the same amount. So:
- a controller whose main loop is busy for seconds (here: blocked on a state.db write
  lock, as behind a long commit) sees every status on time: no reading is off at all;
- a controller stopped outright (SIGSTOP, its network thread too) for ~4 s sees each
  agent's statuses of those seconds late, but each one late by a different amount: no
  alert;
- an agent whose clock is really wrong still raises one, and it resolves when the
  clock is right again."""
import json
import os
import signal
import sqlite3
import threading
import time

import pytest

import harness
from daemons import Site, wait_for

CONF = "[alerts]\nclock_skew_limit_ms=2000\n"
DEFERRED = "not raised unless the next status agrees"


class Heartbeat:
    """ROOM's agent, faked: a retained online status every INTERVAL s, stamped by a
    clock OFFSET_S seconds off (changeable while it runs)."""

    def __init__(self, site, room, interval=1.0, offset_s=0.0):
        self.client = site.client("agent-" + room, client_id="test-heartbeat-" + room)
        self.topic = harness.topic("room", room, "status")
        self.room = room
        self.interval = interval
        self.offset_s = offset_s
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            now = int(time.time() * 1e6)
            self.client.publish(self.topic, {"v": 1, "kind": "status", "seq": now,
                                             "ts": now + int(self.offset_s * 1e6),
                                             "state": "online",
                                             "identity": "agent-" + self.room}, retain=True)
            self.sent += 1
            self._stop.wait(self.interval)

    def close(self):
        self._stop.set()
        self._thread.join()
        self.client.publish(self.topic, b"", retain=True)
        self.client.close()


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def clock_alerts(site, state=None):
    rc, out, err = site.ctl("alerts")
    assert rc == 0, err
    return [a for a in out["alerts"]
            if a["kind"] == "clock_skew" and (state is None or a["state"] == state)]


def rooms_online(site, rooms):
    rc, out, err = site.ctl("status")
    return rc == 0 and {r["room"] for r in out["rooms"] if r["online"]} >= set(rooms)


def deferred_lines(site, room):
    log = site.daemons["controller"].log(this_run=True)
    return [ln for ln in log.splitlines() if DEFERRED in ln and "room %s:" % room in ln]


def test_busy_main_loop_sees_statuses_on_time(site):
    site.start_controller(CONF)
    fake = Heartbeat(site, "T1")
    assert wait_for(lambda: rooms_online(site, ["T1"]), 10)
    op = site.client(site.operator, client_id="test-clock-op")
    op.subscribe(harness.topic("ctl", site.operator, "resp"))

    # Hold state.db's write lock for 4 s while the controller must write (an audited
    # request): its main loop waits in SQLite's busy handler (5 s), statuses pile up.
    db = sqlite3.connect(os.path.join(site.tmp, "controller-state", "state.db"),
                         isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    now = int(time.time() * 1e6)
    op.publish(harness.topic("ctl", site.operator, "req"),
               {"v": 1, "kind": "request", "seq": now, "ts": now, "id": "clock-busy",
                "expires": now + 60 * 10**6, "command": "session.create",
                "args": {"date": "2026-12-02", "id": "BUSY"}})
    sent_before = fake.sent
    time.sleep(4.0)
    sent_during = fake.sent - sent_before
    db.execute("ROLLBACK")
    db.close()
    resp = harness.topic("ctl", site.operator, "resp")
    assert wait_for(lambda: op.messages_on(resp), 10)
    assert json.loads(op.messages_on(resp)[0])["ok"] is True
    time.sleep(1.5)  # the queued statuses are handled
    fake.close()
    op.close()

    assert sent_during >= 3, sent_during
    assert deferred_lines(site, "T1") == [], "a status looked late to a busy controller"
    assert clock_alerts(site) == []
    assert site.schema_problems() == []


def test_stopped_controller_raises_no_clock_skew(site):
    site.start_controller(CONF)
    site.start_agent("E1")
    site.start_agent("E2")
    fake = Heartbeat(site, "T1")
    assert wait_for(lambda: rooms_online(site, ["E1", "E2", "T1"]), 15)

    # Stop the controller, the MQTT library's thread included, for 4 s (less than the
    # broker's keepalive: the session stays): the statuses of those seconds reach it late.
    # The stop begins ~8.5 s after E1's heartbeat (every 10 s), so that one is late too.
    obs = site.observers[0]
    e1 = harness.topic("room", "E1", "status")
    seen = len(obs.messages_on(e1))
    assert wait_for(lambda: len(obs.messages_on(e1)) > seen, 15)
    time.sleep(8.5)
    ctrl = site.daemons["controller"].proc
    ctrl.send_signal(signal.SIGSTOP)
    time.sleep(4.0)
    ctrl.send_signal(signal.SIGCONT)
    # The agents' next heartbeats come in on time.
    time.sleep(12)
    assert deferred_lines(site, "T1"), "the stop made no status look late: nothing tested"
    assert clock_alerts(site) == []

    # An agent whose clock is really 30 s behind: raised by its second status.
    fake.offset_s = -30.0
    a = wait_for(lambda: clock_alerts(site, "open"), 10, 0.2)
    assert a and a[0]["room"] == "T1" and "30.0 s behind" in a[0]["detail"], a
    fake.offset_s = 0.0
    assert wait_for(lambda: clock_alerts(site, "resolved"), 10, 0.2)
    fake.close()
    assert [x["room"] for x in clock_alerts(site)] == ["T1"]
    assert site.schema_problems() == []
