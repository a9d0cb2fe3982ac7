"""Replay protection that survives restarts (issue 15 finding 3, docs/reliability.md).

The same unlock delivered twice with a restart in between (what a broker redelivery
after a crash, or a hostile resend within the expiry, does) runs once: the simulated
door's lock line rises once.
- controller: an operator's `door unlock` request, the controller restarted, the same
  request again: the first answer, no second unlock, no second audit record;
- agent: a controller command `unlock`, the agent restarted, the same command again:
  the first reply, the lock line does not rise.
"""
import json
import time

import pytest

import harness
from daemons import Site, wait_for

ROOM = "E1"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    s.start_controller()
    s.start_agent(ROOM, door=True)
    yield s
    s.close()


def rising_edges(site):
    h = site.door(ROOM).history("DOOR_LOCK")
    return sum(1 for (_, a), (_, b) in zip([(0, 0)] + h, h) if a == 0 and b == 1)


def online(site):
    return (site.ctl("status")[1] or {}).get("agents_online") == 1


def audit_count(site, command):
    rc, out, err = site.ctl("audit")
    assert rc == 0, err
    records = out["records"] if isinstance(out, dict) else out
    return sum(1 for r in records if r["command"] == command)


def test_request_replayed_after_controller_restart_runs_once(site):
    op = site.client(site.operator, client_id="test-replay-op")
    resp = harness.topic("ctl", site.operator, "resp")
    op.subscribe(resp)
    assert wait_for(lambda: online(site), 10)
    now = int(time.time() * 1e6)
    req = json.dumps({"v": 1, "kind": "request", "seq": now, "ts": now, "id": "replay-rs-1",
                      "expires": now + 120 * 10**6, "command": "door",
                      "args": {"room": ROOM, "action": "unlock"}})

    def answers():
        return [p for p in op.messages_on(resp) if json.loads(p).get("id") == "replay-rs-1"]

    op.publish(harness.topic("ctl", site.operator, "req"), req)
    assert wait_for(lambda: len(answers()) == 1, 10)
    assert json.loads(answers()[0])["ok"] is True, answers()
    assert wait_for(lambda: rising_edges(site) == 1, 5)
    assert wait_for(lambda: site.door(ROOM).get("DOOR_LOCK") == 0, 10)  # pulse over
    doors_audited = audit_count(site, "door")

    ctrl = site.daemons["controller"]
    ctrl.restart()
    assert ctrl.wait_log("connected to the broker", 15)
    assert wait_for(lambda: online(site), 15)

    op.publish(harness.topic("ctl", site.operator, "req"), req)
    assert wait_for(lambda: len(answers()) == 2, 10)
    time.sleep(1.0)
    assert rising_edges(site) == 1, "an unlock resent after a controller restart ran again"
    assert answers()[1] == answers()[0]
    assert audit_count(site, "door") == doors_audited
    op.close()


def test_command_replayed_after_agent_restart_runs_once(site):
    assert wait_for(lambda: online(site), 10)
    ctl = site.client("controller", client_id="test-replay-ctl")
    obs = site.observers[0]
    reply_topic = harness.topic("room", ROOM, "reply")
    now = int(time.time() * 1e6)
    cmd = {"v": 1, "kind": "cmd", "seq": now, "ts": now, "id": "replay-rs-cmd",
           "expires": now + 120 * 10**6, "command": "door", "args": {"action": "unlock"}}

    def replies():
        return [p for p in obs.messages_on(reply_topic)
                if json.loads(p).get("id") == "replay-rs-cmd"]

    ctl.publish(harness.topic("room", ROOM, "cmd"), json.dumps(cmd))
    assert wait_for(lambda: len(replies()) == 1, 10)
    assert json.loads(replies()[0])["ok"] is True, replies()
    assert wait_for(lambda: rising_edges(site) == 1, 5)
    assert wait_for(lambda: site.door(ROOM).get("DOOR_LOCK") == 0, 10)  # pulse over

    agent = site.daemons["agent-" + ROOM]
    agent.restart()
    assert agent.wait_log("connected to the broker", 15)
    assert wait_for(lambda: online(site), 15)
    edges_before = rising_edges(site)  # the simulated chip starts afresh with the agent

    ctl.publish(harness.topic("room", ROOM, "cmd"), json.dumps(cmd))
    assert wait_for(lambda: len(replies()) == 2, 10)
    time.sleep(1.0)
    assert rising_edges(site) == edges_before, \
        "an unlock delivered again after an agent restart ran again"
    assert replies()[1] == replies()[0]
    ctl.close()
