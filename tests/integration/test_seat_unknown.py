"""Locking a seat that does not exist is refused with a clear error, never accepted
silently (issue 15, finding 5): by the controller for an operator (the site has no such
seat), and by the room agent for a command naming a seat it has never heard of (no
terminal reported from it, nobody assigned to it), which it does not keep as a new seat."""
import json
import time

import harness
from daemons import Site, wait_for

ROOM = "E1"


def test_lock_of_a_seat_that_does_not_exist_is_refused(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    try:
        s.start_controller()
        s.start_agent(ROOM)
        rc, out, err = s.ctl("site", "import", harness.EXAMPLE_SITE)
        assert rc == 0, err
        for cmd in ("lock", "unlock"):
            rc, out, err = s.ctl("seat", cmd, ROOM, "S99", "--reason", "test")
            assert rc == 1 and "no seat S99 in room E1" in err, (rc, out, err)

        # The agent, told directly (as the controller), refuses too.
        obs = s.client("controller", client_id="test-seat-unknown")
        reply_topic = harness.topic("room", ROOM, "reply")
        obs.subscribe(reply_topic)
        now = int(time.time() * 1e6)
        for i, cmd in enumerate(("seat.lock", "seat.unlock", "seat.lock")):
            args = {"seat": "S99" if i < 2 else "S98"}
            if cmd == "seat.lock":
                args["reason"] = "test"
            obs.publish(harness.topic("room", ROOM, "cmd"),
                        {"v": 1, "kind": "cmd", "seq": now + i, "ts": now, "id": "u-%d" % i,
                         "expires": now + 10**7, "command": cmd, "args": args})

        def reply(cid):
            for p in obs.messages_on(reply_topic):
                m = json.loads(p)
                if m.get("id") == cid:
                    return m
            return None
        for i, seat in enumerate(("S99", "S99", "S98")):
            r = wait_for(lambda: reply("u-%d" % i), 10)
            assert r, obs.messages_on(reply_topic)
            text = json.dumps(r)
            assert r.get("ok") is False or "error" in r, r
            assert "no seat %s in room E1" % seat in text, r
        obs.close()
        assert s.schema_problems() == []
    finally:
        s.close()
