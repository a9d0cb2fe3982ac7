"""The agent's ack timeout with the real broker, controller and agent: while the
controller cannot store segments (its archive directory is gone: a file stands in its
place), it acknowledges none, the agent's window of four fills, and the agent sends the
unacknowledged segments again after [recorder] ack_timeout_ms, backing off. Once the
directory is back, every segment recorded meanwhile reaches the archive, without any
restart or reconnect of the agent, the controller or the broker."""
import glob
import json
import os
import sqlite3
import time

import pytest

import harness
from daemons import Site, streams_config, wait_for

ROOM = "E1"
STREAM = "cam-E1"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def rows(path, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def archived(adir):
    """seq -> sha256 (hex) of STREAM's segments in the site's retention archives."""
    out = {}
    for p in glob.glob(os.path.join(adir, "site-*.evarc")):
        # The controller creates an archive under a hidden name and renames it into
        # place once its tables exist: every file seen here has them.
        found = rows(p, "SELECT seq, sha256 FROM segments WHERE stream = ?", STREAM)
        for seq, sha in found:
            assert seq not in out, "segment %d stored twice" % seq
            out[seq] = sha.hex()
    return out


def media_status(site, ctl, n):
    """The agent's media.status result, asked as the controller would."""
    now = int(time.time() * 1e6)
    cid = "test-media-status-%d" % n
    ctl.publish(harness.topic("room", ROOM, "cmd"),
                {"v": 1, "kind": "cmd", "seq": now, "ts": now, "id": cid,
                 "expires": now + 10_000_000, "command": "media.status"})
    replies = site.observers[0]

    def answer():
        for p in replies.messages_on(harness.topic("room", ROOM, "reply")):
            m = json.loads(p)
            if m.get("id") == cid:
                return m
        return None
    m = wait_for(answer, 10)
    assert m and m["ok"], m
    return m["result"]


def test_unacknowledged_segments_are_resent_without_reconnect(site):
    ctl_daemon = site.start_controller()
    rc, out, err = site.ctl("site", "import", harness.EXAMPLE_SITE)
    assert rc == 0, (out, err)
    adir = os.path.join(site.tmp, "controller-state", "archive")
    assert os.listdir(adir) == []
    # The cause: no archive can be created, so no segment is stored or acknowledged.
    os.rmdir(adir)
    open(adir, "w").close()

    extra = streams_config([STREAM], segment_s=1, audio=False)
    extra = extra.replace("[recorder]\n", "[recorder]\nack_timeout_ms=1000\n", 1)
    agent = site.start_agent(ROOM, extra=extra)
    spool_db = os.path.join(site.tmp, "spool-%s" % ROOM, "media", "spool.db")

    def spooled():
        if not os.path.exists(spool_db):
            return {}
        return dict(rows(spool_db, "SELECT seq, sha256 FROM segment WHERE stream = ?",
                         STREAM))

    # The window is full and its oldest segment has been sent again twice.
    assert wait_for(lambda: len(spooled()) >= 6 and "(resend 2)" in agent.log(), 30), \
        agent.log()
    assert "not stored now" in ctl_daemon.log()
    chunks = [meta for meta, _ in
              site.observers[0].chunks_on(harness.topic("room", ROOM, "media"))]
    assert {int(c["segment_seq"]) for c in chunks} <= {1, 2, 3, 4}, "window exceeded"
    assert sum(1 for c in chunks if c["segment_seq"] == "1" and c["last"] == "true") >= 3
    ctl = site.client("controller", client_id="test-media-status")
    status = media_status(site, ctl, 1)
    assert status["inflight"] == 4 and status["resends"] >= 2, status

    # The cause goes away; nothing is restarted or reconnected.
    recorded = spooled()
    assert sorted(recorded) == list(range(1, len(recorded) + 1)), recorded
    os.unlink(adir)
    os.mkdir(adir, 0o700)
    fixed = time.monotonic()

    assert wait_for(lambda: set(recorded) <= set(archived(adir)), 60, 0.2), \
        (sorted(archived(adir)), agent.log())
    took = time.monotonic() - fixed
    stored = archived(adir)
    for seq, sha in recorded.items():
        assert stored[seq] == sha, seq
    assert wait_for(lambda: not set(recorded) & set(spooled()), 10), spooled()

    # Every segment recorded since keeps flowing with a window that drains.
    last = max(stored)
    assert wait_for(lambda: max(archived(adir)) >= last + 2, 15)
    status = media_status(site, ctl, 2)
    assert status["resends"] >= 2 and status["inflight"] <= 2, status
    ctl.close()

    for d, name in ((agent, "agent"), (ctl_daemon, "controller")):
        assert d.alive(), name
        assert d.log().count("connected to the broker") == 1, (name, d.log())
    assert agent.log().count("controller online") == 1, agent.log()
    assert "controller unreachable" not in agent.log()
    assert "sending it again from offset 0 (resend 1)" in agent.log()
    assert site.schema_problems() == []
    print("recorded %d segments during the fault; all archived %.1f s after it ended"
          % (len(recorded), took))
