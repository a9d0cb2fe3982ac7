"""No event lost when the broker drops messages for the controller (docs/reliability.md,
"Events the broker dropped"). The real broker, configured here to queue at most a few
messages for a client that falls behind, the real controller and agent with a simulated
door: the controller is stopped (SIGSTOP) while the door produces a burst of events, so
the broker drops most of those queued for it. Once the controller runs again it records
the events that reached it and acknowledges exactly those (`events.ack {seqs}`); the agent
sends the dropped ones again (a later one was acknowledged) and every event of the burst
ends in state.db exactly once, the agent's outbox empty."""
import json
import os
import re
import signal
import sqlite3
import time

import pytest

import harness
from daemons import Site, wait_for

ROOM = "E1"
QUEUED = 5  # the broker's max_queued_messages in this test (provisioned: 100000)
BURST = 60  # door events produced while the controller is stopped


@pytest.fixture
def site(bin_dir, tmp_path):
    # No observers: they would be clients that fall behind too.
    s = Site(bin_dir, tmp_path, observe=False)
    s.broker.stop()
    conf = open(s.prov.conf).read()
    conf = re.sub(r"(?m)^max_queued_messages .*\n", "", conf)
    conf = conf.replace("\nlistener ", "\nmax_queued_messages %d\n\nlistener " % QUEUED, 1)
    with open(s.prov.conf, "w") as f:
        f.write(conf)
    s.broker.start()
    yield s
    s.close()


def query(path, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def test_events_dropped_by_the_broker_are_sent_again_and_recorded_once(site):
    controller = site.start_controller()
    agent = site.start_agent(ROOM, door=True)
    outbox = os.path.join(site.tmp, "spool-" + ROOM, "outbox.db")
    state = os.path.join(site.tmp, "controller-state", "state.db")
    assert wait_for(lambda: os.path.exists(outbox), 10)
    # Whatever the agent said at start is recorded and acknowledged first.
    assert wait_for(lambda: query(outbox, "SELECT count(*) FROM outbox")[0][0] == 0, 20)

    controller.kill(signal.SIGSTOP)
    try:
        door = site.door(ROOM)
        for i in range(BURST):
            door.card(12, 1000 + i)  # unknown cards: one door.event each
            time.sleep(0.05)
        # Every event of the burst is in the outbox (nothing can be acknowledged now).
        assert wait_for(lambda: query(outbox, "SELECT count(*) FROM outbox")[0][0] >= BURST,
                        20), agent.log()
        produced = {s for (s,) in query(outbox, "SELECT seq FROM outbox")}
    finally:
        controller.kill(signal.SIGCONT)

    # The scenario itself: the broker dropped messages for the controller.
    assert wait_for(lambda: "being dropped for client controller" in site.broker.log(), 10), \
        site.broker.log()

    # The broker dropped the burst's tail (its queue was full): the door goes on, and once
    # a later event is acknowledged the agent knows the others were lost on the way.
    time.sleep(1)
    for i in range(3):
        door.card(12, 2000 + i)
        time.sleep(0.2)
    t0 = time.monotonic()

    def recorded():
        return query(state, "SELECT seq FROM agent_event WHERE room = ?", ROOM)
    # Stragglers go again 2 s after a later event's acknowledgement (the backstop: 30 s).
    assert wait_for(lambda: produced <= {s for (s,) in recorded()}, 90), (
        "lost: %s\n%s" % (sorted(produced - {s for (s,) in recorded()}), agent.log()))
    took = time.monotonic() - t0
    seqs = [s for (s,) in recorded()]
    assert len(seqs) == len(set(seqs)), "an event recorded twice"
    assert wait_for(lambda: query(outbox, "SELECT count(*) FROM outbox")[0][0] == 0, 20), \
        query(outbox, "SELECT seq FROM outbox")
    # The agent said what it did, with counts.
    sent_again = [int(n) for n in re.findall(r"outbox: sent (\d+) unacknowledged event",
                                              agent.log())]
    assert sum(sent_again) > 0, agent.log()
    # Each recorded event of the burst is the agent's door.event, body intact.
    bodies = query(state, "SELECT seq, body FROM agent_event WHERE room = ?", ROOM)
    kinds = {s: json.loads(b)["kind"] for s, b in bodies if s in produced}
    assert set(kinds.values()) == {"door.event"}
    print("burst %d events, %d sent again by the agent, %d recorded, all within %.1f s"
          % (len(produced), sum(sent_again), len(kinds), took))
