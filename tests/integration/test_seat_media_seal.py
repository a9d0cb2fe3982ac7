"""Issue 17 item 4 for recordings, with the real broker and controller and a stand-in agent
(ingest_agent.FakeAgent, the shipper's protocol as room E1's agent identity) shipping real
MPEG-TS segments: the seat map stays sealed until check-in also for what a tender archive
records. Before its person's check-in a seat's (and, before anyone there has checked in,
a room's) recording goes to no tender's archive, so no archive file, its `info` or its
`timeline` shows which seat or room the draw gave a tender; it is kept, acknowledged, in
the site's retention archive of its day. From the check-in on the seat's and the room's
segments go to the person's tender's archive, which also gets a `recording.checkin` event
saying where the seat's earlier recording is (and that day is held against the retention
sweep, as it is again for each tender at the seal's release). A segment recorded before
the check-in that arrives later still goes by its time."""
import json
import os
import sqlite3
import subprocess
import time

import pytest

import harness
from daemons import Site, wait_for
from ingest_agent import FakeAgent, Segment

TODAY = time.strftime("%Y-%m-%d")
DESK = "desk-entrance"
ID = {"xp-wang": "11010519491231002X", "xp-zhou": "110105194912310038",
      "xp-sun": "310101198001010018", "xp-lin": "320102198001010016"}
TENDER_OF = {"xp-wang": "TA", "xp-zhou": "TA", "xp-sun": "TB", "xp-lin": "TB"}
ROOM = "E1"
SEAT_STREAMS = ("cam-E1-S1", "mic-E1-S1", "cam-E1-S2", "mic-E1-S2")
ROOM_STREAMS = ("cam-E1", "mic-E1")
SEG_US = 1_000_000


@pytest.fixture(scope="module")
def segs(tmp_path_factory):
    """Four 1 s MPEG-TS segments of a live test recording (x264, 10 fps)."""
    d = tmp_path_factory.mktemp("segs")
    r = subprocess.run(
        ["gst-launch-1.0", "-q", "splitmuxsink", "name=s", "muxer=mpegtsmux",
         "max-size-time=%d" % (SEG_US * 1000), "location=%s/seg%%03d.ts" % d, "videotestsrc",
         "is-live=true", "num-buffers=40", "pattern=ball", "!",
         "video/x-raw,format=I420,width=160,height=120,framerate=10/1", "!", "x264enc",
         "key-int-max=10", "speed-preset=ultrafast", "tune=zerolatency", "!", "h264parse",
         "!", "s."], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    files = sorted(d.glob("seg*.ts"))
    assert len(files) == 4
    return [f.read_bytes() for f in files]


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    s.start_controller()
    yield s
    s.close()


def ok(site, *args, identity=None):
    rc, out, err = site.ctl(*args, identity=identity)
    assert rc == 0, (args, out, err)
    return out


def archive(site, name):
    return os.path.join(site.tmp, "controller-state", "archive", name + ".evarc")


def rows(site, name, sql, *args):
    if not os.path.exists(archive(site, name)):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % archive(site, name), uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def streams_in(site, name):
    """The streams with a segment or a gap in archive NAME."""
    return {s for (s,) in rows(site, name, "SELECT stream FROM segments UNION "
                                           "SELECT stream FROM gaps")}


def tool_text(bin_dir, site, name):
    """What the auditor's tool says of archive NAME: info and timeline."""
    out = ""
    for cmd in ("info", "timeline"):
        r = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), cmd,
                            archive(site, name)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (cmd, r.stdout, r.stderr)
        out += r.stdout
    return out


def names_the_room(site, bin_dir, tender):
    """Every mention of room E1's streams, seats or seat map in TENDER's archive: its
    segments and gaps, its events' bodies, its draw row, and the tool's text."""
    found = [("stream", s) for s in streams_in(site, tender)
             if s in SEAT_STREAMS + ROOM_STREAMS]
    def strings(v):
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            return [x for y in v for x in strings(y)]
        return [v] if isinstance(v, str) else []

    for kind, body in rows(site, tender, "SELECT kind, body FROM events"):
        found += [(kind, s) for s in strings(json.loads(body))
                  if s in SEAT_STREAMS + ROOM_STREAMS + (ROOM,)]
    found += [("draw", n) for (n,) in rows(site, tender, "SELECT count(*) FROM draw") if n]
    text = tool_text(bin_dir, site, tender)
    found += [("tool", s) for s in SEAT_STREAMS + ROOM_STREAMS if s in text]
    return found


def test_seat_media_sealed_until_check_in(site, bin_dir, tmp_path, segs):
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", "TA", "--name", "Ring road, lot 3")
    ok(site, "tender", "add", "--session", TODAY, "--id", "TB", "--name", "School canteen")
    for t in ("TA", "TB"):
        p = tmp_path / ("%s.csv" % t)
        p.write_text("person_id,name,id_number,role\n" + "".join(
            "%s,%s,%s,expert\n" % (x, x, ID[x]) for x in ID if TENDER_OF[x] == t))
        ok(site, "committee", "import", "--tender", t, str(p))
    c = ok(site, "draw", "commit", "--session", TODAY)["commitment"]
    assert site.witness_run(TODAY, "osprey 3120", c)[0] == 0
    # What the controller holds (no identity can read it before check-in): E1 seats one
    # expert of each tender (algorithm 2 spreads each tender over both expert rooms).
    at = {(a["room"], a["seat"]): a["person"] for a in site.seat_map(TODAY)}
    first, second = at[(ROOM, "S1")], at[(ROOM, "S2")]
    assert {TENDER_OF[first], TENDER_OF[second]} == {"TA", "TB"}
    mine, theirs = TENDER_OF[first], TENDER_OF[second]
    retention = "site-" + time.strftime("%Y-%m-%d", time.gmtime())

    agent = FakeAgent(site.prov, ROOM)
    seq = {}

    def send(stream, start_us, data=0):
        seq[stream] = seq.get(stream, 0) + 1
        s = Segment(stream, seq[stream], start_us, start_us + SEG_US, segs[data % len(segs)])
        agent.send(s)
        return (stream, s.seq)

    try:
        # Recording before anyone has checked in: every seat and room stream of E1, and
        # a gap of the first seat's camera. Acknowledged (stored durably) all the same.
        t0 = int(time.time() * 1e6) - 4 * SEG_US
        sent = [send(s, t0 + i * SEG_US, i) for i in range(2)
                for s in SEAT_STREAMS + ROOM_STREAMS]
        agent.send_gap(1, "cam-E1-S1", "camera_lost", t0 + 2 * SEG_US, t0 + 3 * SEG_US)
        assert agent.wait_acked(sent), (sent, agent.acked)
        assert wait_for(lambda: 1 in agent.acked_gaps)
        # ... in no tender's archive: no segment, no gap, no event, no line of the tool's
        # info or timeline names E1, its seats or their streams.
        for t in ("TA", "TB"):
            assert names_the_room(site, bin_dir, t) == [], (t, names_the_room(site, bin_dir, t))
        # Nothing lost: the site's retention archive of the day holds it all.
        for s in SEAT_STREAMS + ROOM_STREAMS:
            got = [n for (n,) in rows(site, retention, "SELECT seq FROM segments WHERE "
                                                       "stream = ? ORDER BY seq", s)]
            assert got == [1, 2], (s, got)
        assert rows(site, retention, "SELECT stream, reason FROM gaps") == [
            ("cam-E1-S1", "camera_lost")]

        # The person at S1 checks in: from then on S1's streams and the room's go to that
        # person's tender's archive; S2's (not checked in) and nothing else go anywhere
        # but the retention archive.
        ok(site, "desk", "checkin", "--person", first, "--id-number", ID[first],
           "--screening", "passed", identity=DESK)
        checkin = [json.loads(b) for (b,) in rows(
            site, mine, "SELECT body FROM events WHERE kind = 'recording.checkin'")]
        assert len(checkin) == 1, checkin
        ev = checkin[0]
        assert (ev["person"], ev["room"], ev["seat"]) == (first, ROOM, "S1"), ev
        assert ev["seat_streams"] == ["cam-E1-S1", "mic-E1-S1"], ev
        assert sorted(ev["room_streams"]) == sorted(ROOM_STREAMS), ev
        assert ev["before_checkin"] == [retention], ev
        assert ev["seated_at"] < ev["checked_in_at"] <= int(time.time() * 1e6)
        assert ev["checked_in_at"] > t0 + 2 * SEG_US
        # that span is held against the retention sweep for this tender: an evidence hold
        # (docs/archives.md, "Evidence holds"), listed for people
        held = [(h["source"], h["tender"], h["why"], h["from_us"], h["to_us"])
                for h in ok(site, "evidence", "holds")["holds"]]
        assert ("checkin", mine, "checkin %s %s" % (mine, first), ev["seated_at"],
                ev["checked_in_at"]) in held, held

        t1 = ev["checked_in_at"] + 100_000
        sent = [send(s, t1 + i * SEG_US, i) for i in range(2)
                for s in SEAT_STREAMS + ROOM_STREAMS]
        # A segment recorded before the check-in that arrives only now goes by its time:
        # not the tender's.
        late = Segment("cam-E1-S1", 99, ev["checked_in_at"] - 2 * SEG_US,
                       ev["checked_in_at"] - SEG_US, segs[3])
        agent.send(late)
        sent.append(("cam-E1-S1", 99))
        assert agent.wait_acked(sent), (sent, agent.acked)
        assert streams_in(site, mine) == {"cam-E1-S1", "mic-E1-S1"} | set(ROOM_STREAMS)
        for s in ("cam-E1-S1", "mic-E1-S1") + ROOM_STREAMS:
            spans = rows(site, mine, "SELECT seq, end_us FROM segments WHERE stream = ? "
                                     "ORDER BY seq", s)
            assert [n for n, _ in spans] == [3, 4], (s, spans)
            assert all(end >= ev["checked_in_at"] for _, end in spans)
        assert rows(site, mine, "SELECT count(*) FROM gaps") == [(0,)]
        ret = {(s, n) for s, n in rows(site, retention, "SELECT stream, seq FROM segments")}
        assert ("cam-E1-S1", 99) in ret
        assert {("cam-E1-S2", 3), ("cam-E1-S2", 4), ("mic-E1-S2", 4)} <= ret
        assert not {("cam-E1-S1", 3), ("cam-E1", 3)} & ret
        # The other tender still learns nothing of E1.
        assert names_the_room(site, bin_dir, theirs) == [], names_the_room(site, bin_dir,
                                                                            theirs)
        text = tool_text(bin_dir, site, mine)
        assert "cam-E1-S1" in text and "cam-E1-S2" not in text

        # The second person checks in: their seat and the room reach their archive too.
        ok(site, "desk", "checkin", "--person", second, "--id-number", ID[second],
           "--screening", "passed", identity=DESK)
        (body,) = rows(site, theirs, "SELECT body FROM events WHERE kind = "
                                     "'recording.checkin'")[0]
        assert json.loads(body)["seat_streams"] == ["cam-E1-S2", "mic-E1-S2"]
        t2 = int(time.time() * 1e6)
        sent = [send(s, t2) for s in ("cam-E1-S2", "cam-E1")]
        assert agent.wait_acked(sent), (sent, agent.acked)
        assert {s for (s,) in rows(site, theirs, "SELECT stream FROM segments")} == {
            "cam-E1-S2", "cam-E1"}
        assert [n for (n,) in rows(site, mine, "SELECT seq FROM segments WHERE stream = "
                                               "'cam-E1' ORDER BY seq")] == [3, 4, 5]

        # Everyone checked in (E2's people too): the seal opens, and each archive that
        # receives the record holds the retention days from the run to the release (the
        # seats of anyone who had not checked in were recorded there).
        for p in (x for x in ID if x not in (first, second)):
            ok(site, "desk", "checkin", "--person", p, "--id-number", ID[p],
               "--screening", "passed", identity=DESK)
        for t in ("TA", "TB"):
            assert wait_for(lambda: rows(site, t, "SELECT count(*) FROM draw") == [(1,)])
        held = ok(site, "evidence", "holds")["holds"]
        for t in ("TA", "TB"):
            assert len([h for h in held if h["source"] == "draw" and h["tender"] == t and
                        h["why"] == "release %s %s" % (TODAY, t)]) == 1, held
        assert not [f for f in os.listdir(os.path.join(site.tmp, "controller-state",
                                                       "archive")) if f.endswith(".hold")]
    finally:
        agent.close()
    assert site.schema_problems() == []
