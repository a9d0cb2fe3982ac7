"""Issue 6 on the agent: configured streams record into the spool and are shipped to the
controller's media topic in chunks; a segment acknowledged by the controller leaves the
spool; stream health goes out as events. (Ingest into archives: test_ingest*.py.)"""
import hashlib
import json
import time

import pytest

import harness
from daemons import Site, streams_config, wait_for

ROOM = "E1"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def chunks(site):
    """The chunks seen on the room's media topic: each its metadata (the MQTT 5 user
    properties, integers and booleans decoded) with "data", the payload's media bytes."""
    out = []
    for meta, payload in site.observers[0].chunks_on(harness.topic("room", ROOM, "media")):
        c = {k: (v == "true" if v in ("true", "false") else int(v) if v.isdigit() else v)
             for k, v in meta.items()}
        c["data"] = payload
        out.append(c)
    return out


def test_records_ships_and_reports(site):
    site.start_agent(ROOM, extra=streams_config(["cam-E1"], [("cam-E1-S1", "S1")]))
    obs = site.observers[0]

    def states():
        return [json.loads(p) for p in obs.messages_on(harness.topic("room", ROOM, "event"))
                if json.loads(p)["kind"] == "stream.state"]
    assert wait_for(lambda: {s["stream"] for s in states() if s["state"] == "recording"}
                    == {"cam-E1", "cam-E1-S1"}, 20), states()

    def complete_segments():
        by = {}
        for c in chunks(site):
            if c["kind"] != "segment.chunk":
                continue
            key = (c["stream"], c["segment_seq"])
            by.setdefault(key, {"meta": c, "data": {}})["data"][c["offset"]] = c["data"]
        done = []
        for key, v in by.items():
            blob = b"".join(v["data"][o] for o in sorted(v["data"]))
            if len(blob) == v["meta"]["size"]:
                done.append((key, v["meta"], blob))
        return done
    segs = wait_for(lambda: (lambda d: d if len(d) >= 3 else None)(complete_segments()), 30)
    assert segs, "no complete segments shipped"
    for (stream, seq), meta, blob in segs:
        assert hashlib.sha256(blob).hexdigest() == meta["sha256"]
        assert blob[:1] == b"\x47"  # MPEG-TS sync byte
        assert meta["v"] == 2 and "room" not in meta  # the topic names the room

    # A malformed acknowledgement is refused by the agent (an error event naming the
    # member) and deletes nothing.
    (stream, seq), meta, _ = segs[0]
    ctl = site.client("controller", client_id="test-acker")
    now = int(time.time() * 1e6)
    spool = site.tmp + "/spool-%s/media/%s" % (ROOM, stream)
    import os
    before = sorted(os.listdir(spool))
    ctl.publish(harness.topic("room", ROOM, "cmd"),
                {"v": 1, "kind": "segment.ack", "seq": now, "ts": now, "stream": stream,
                 "segment_seq": str(seq)})
    now += 1

    def ack_errors():
        return [m for m in (json.loads(p) for p in
                            obs.messages_on(harness.topic("room", ROOM, "event")))
                if m["kind"] == "error" and "segment_seq" in m["fault"]]
    assert wait_for(ack_errors, 5), "no error for a malformed segment.ack"
    assert set(before) <= set(os.listdir(spool))

    # The controller acknowledges one: it leaves the agent's spool and is not sent again.
    ctl.publish(harness.topic("room", ROOM, "cmd"),
                {"v": 1, "kind": "segment.ack", "seq": now, "ts": now, "stream": stream,
                 "segment_seq": seq})
    ctl.close()
    assert wait_for(lambda: not any(f.startswith("%05d" % seq) or f == "%d.ts" % seq
                                    for f in os.listdir(spool)), 5), os.listdir(spool)
    assert site.schema_problems() == []
