"""Issue 7 items 2-3 and issue 6's controller side, with the real broker and controller:
a stand-in agent (ingest_agent.FakeAgent, the shipper's protocol as the agent's identity)
publishes real MPEG-TS segments; the controller reassembles, checks, routes each into the
right tender archives (or the site's retention archive), acknowledges once durable, and
keeps every segment exactly once through a broker restart, a controller kill -9 and an
agent kill -9. Then tender close seals the archive, which the auditor's tools accept.

The tests of this module run in order on one site (one evaluation day)."""
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import threading
import time

import pytest

import harness
from daemons import Site, wait_for
from ingest_agent import FakeAgent, Segment

DAY = time.strftime("%Y-%m-%d")  # check-in is for the session of the day
COMMITTEE_TA = ("person_id,name,id_number,role\n"
                "xp-wang,Wang Li,11010519491231002X,expert\n"
                "xp-zhou,Zhou Min,110105194912310038,expert\n"
                "rp-firm,Firm Ltd,91110000600037341L,tenderer\n")
COMMITTEE_TB = "person_id,name,id_number,role\nxp-sun,Sun Yu,310101198001010018,expert\n"
SEG_US = 1_000_000
N_SEGS = 10


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                          **kw)


@pytest.fixture(scope="module")
def segs(tmp_path_factory):
    """Ten 1 s MPEG-TS segments of one continuous live recording (x264, 10 fps)."""
    d = tmp_path_factory.mktemp("segs")
    r = run(["gst-launch-1.0", "-q", "splitmuxsink", "name=s", "muxer=mpegtsmux",
             "max-size-time=%d" % (SEG_US * 1000), "location=%s/seg%%03d.ts" % d,
             "videotestsrc", "is-live=true", "num-buffers=%d" % (N_SEGS * 10), "pattern=ball",
             "!", "video/x-raw,format=I420,width=160,height=120,framerate=10/1", "!",
             "x264enc", "key-int-max=10", "speed-preset=ultrafast", "tune=zerolatency", "!",
             "h264parse", "!", "s."])
    assert r.returncode == 0, r.stderr
    files = sorted(d.glob("seg*.ts"))
    assert len(files) == N_SEGS
    return [f.read_bytes() for f in files]


@pytest.fixture(scope="module")
def day(bin_dir, tmp_path_factory, segs):
    tmp = tmp_path_factory.mktemp("ingest")
    site = Site(bin_dir, tmp)
    site.start_controller()

    def ok(*args):
        rc, out, err = site.ctl(*args)
        assert rc == 0, (args, out, err)
        return out

    ok("site", "import", harness.EXAMPLE_SITE)
    ok("session", "create", "--date", DAY)
    ok("tender", "add", "--session", DAY, "--id", "TA", "--name", "Ring road, lot 3")
    ok("tender", "add", "--session", DAY, "--id", "TB", "--name", "School")
    for t, text in (("TA", COMMITTEE_TA), ("TB", COMMITTEE_TB)):
        p = tmp / ("%s.csv" % t)
        p.write_text(text)
        ok("committee", "import", "--tender", t, str(p))
    c = ok("draw", "commit", "--session", DAY)["commitment"]
    assert site.witness_run(DAY, "blue heron 7731", c)[0] == 0
    # sealed until check-in (draw export refuses): what the controller holds
    tender_of = {"xp-wang": "TA", "xp-zhou": "TA", "rp-firm": "TA", "xp-sun": "TB"}
    seated = {(a["room"], a["seat"]): tender_of[a["person"]] for a in site.seat_map(DAY)}
    with open(harness.EXAMPLE_SITE) as f:
        site_doc = json.load(f)
    # The expert room where TB's expert sits (TA has an expert there or in the other one).
    room = next(r for (r, s), t in seated.items() if t == "TB")
    # A seat's and a room's recording reaches a tender's archive only from the check-in of
    # its person on (the seat map is sealed until check-in: test_seat_media_seal.py):
    # everyone of this room checks in before it records. (rp-firm, in T1, does not: the
    # seal stays shut until the session's last tender closes.)
    ids = {line.split(",")[0]: line.split(",")[2] for text in (COMMITTEE_TA, COMMITTEE_TB)
           for line in text.splitlines()[1:]}
    for a in site.seat_map(DAY):
        if a["room"] == room:
            ok("desk", "checkin", "--person", a["person"], "--id-number", ids[a["person"]],
               "--screening", "passed")
    rdoc = next(r for r in site_doc["rooms"] if r["id"] == room)
    streams = {rdoc["cameras"][0]: sorted({t for (r, s), t in seated.items() if r == room})}
    for s in rdoc["seats"]:
        streams[s["camera"]] = [seated[(room, s["id"])]] if (room, s["id"]) in seated else []
    agent = FakeAgent(site.prov, room)
    ctx = {"site": site, "tmp": tmp, "room": room, "streams": streams, "agent": agent,
           "segs": segs, "t0": int(time.time() * 1e6), "next": {}, "shift": {},
           "archive_dir": os.path.join(tmp, "controller-state", "archive"), "ok": ok,
           "bin": bin_dir}
    yield ctx
    agent.close()
    site.close()


def segment(ctx, stream, seq=None, **kw):
    """The next segment of STREAM: seq n covers [t0 + (n-1) s, t0 + n s) (plus the time
    lost in gaps so far) and carries the recording's n-th file, so each stream's first
    segments play as one continuous recording."""
    if seq is None:
        seq = ctx["next"].get(stream, 1)
        ctx["next"][stream] = seq + 1
    start = ctx["t0"] + (seq - 1) * SEG_US + ctx["shift"].get(stream, 0)
    return Segment(stream, seq, start, start + SEG_US, ctx["segs"][(seq - 1) % N_SEGS], **kw)


def archive_path(ctx, name):
    return os.path.join(ctx["archive_dir"], name + ".evarc")


def retention_name(ctx):
    return "site-" + time.strftime("%Y-%m-%d", time.gmtime(ctx["t0"] / 1e6))


def rows(ctx, name, sql, *args):
    path = archive_path(ctx, name)
    if not os.path.exists(path):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def stored(ctx, name, stream):
    return [r[0] for r in rows(ctx, name, "SELECT seq FROM segments WHERE stream = ? ORDER BY "
                               "seq", stream)]


def expected_archives(ctx, stream):
    return ctx["streams"][stream] or [retention_name(ctx)]


def test_archives_created_with_the_tenders_and_the_draw(day):
    for t in ("TA", "TB"):
        meta = rows(day, t, "SELECT tender, session, name FROM meta")
        assert meta and meta[0][0] == t and meta[0][1] == DAY
        # the seat map is sealed until check-in: the commitment and the run are there,
        # the record (seats) is not
        assert rows(day, t, "SELECT count(*) FROM draw")[0][0] == 0
        events = [k for (k,) in rows(day, t, "SELECT kind FROM events")]
        assert "operator.committee.import" in events and "operator.draw.run" in events
        assert events.index("draw.commit") < events.index("draw.run")
        bodies = " ".join(b for (b,) in rows(day, t, "SELECT body FROM events"))
        assert "11010519491231002X" not in bodies and "310101198001010018" not in bodies


def test_segments_routed_acknowledged_and_stored_once(day):
    agent = day["agent"]
    sent = []
    for stream in day["streams"]:
        for _ in range(2):
            s = segment(day, stream)
            agent.send(s)
            sent.append((stream, s.seq))
    assert agent.wait_acked(sent), (sent, agent.acked)
    for stream in day["streams"]:
        for name in expected_archives(day, stream):
            assert stored(day, name, stream) == [1, 2], (stream, name)
        for other in {"TA", "TB", retention_name(day)} - set(expected_archives(day, stream)):
            assert stored(day, other, stream) == [], (stream, other)
    # Stored bytes are the agent's bytes.
    room_cam = next(iter(day["streams"]))
    name = expected_archives(day, room_cam)[0]
    (sha,) = rows(day, name, "SELECT lower(hex(sha256)) FROM segments WHERE stream = ? AND "
                  "seq = 1", room_cam)[0]
    assert sha == segment(day, room_cam, seq=1).sha256

    # A resend of a stored segment is acknowledged again and never stored twice.
    before = len(agent.acked)
    agent.send(segment(day, room_cam, seq=1))
    assert wait_for(lambda: len(agent.acked) > before)
    for name in expected_archives(day, room_cam):
        assert stored(day, name, room_cam) == [1, 2]


def test_reader_on_an_open_archive_delays_the_ack_and_loses_nothing(day):
    """Group commit: while a reader (the auditor's tool) holds a tender's open archive, the
    controller keeps serving and the segment for that archive waits, unacknowledged; once
    the reader lets go it commits and is acknowledged."""
    agent, site = day["agent"], day["site"]
    stream = next(iter(day["streams"]))
    held = expected_archives(day, stream)[0]
    db = sqlite3.connect("file:%s?mode=ro" % archive_path(day, held), uri=True,
                         isolation_level=None)
    db.execute("BEGIN")
    before = db.execute("SELECT count(*) FROM segments").fetchone()[0]
    s = segment(day, stream)
    agent.send(s)
    time.sleep(1.5)
    assert (stream, s.seq) not in agent.acked
    rc, out, err = site.ctl("status")
    assert rc == 0, err
    assert db.execute("SELECT count(*) FROM segments").fetchone()[0] == before
    db.execute("COMMIT")
    db.close()
    assert agent.wait_acked([(stream, s.seq)]), agent.acked
    info = run([os.path.join(day["bin"], "evalroom-archive"), "info", archive_path(day, held)])
    assert info.returncode == 0 and "open, still being written" in info.stdout, info
    for name in expected_archives(day, stream):
        assert s.seq in stored(day, name, stream), name


def test_wrong_hash_refused_not_acknowledged(day):
    agent, site = day["agent"], day["site"]
    stream = next(iter(day["streams"]))
    bad = segment(day, stream, seq=900)
    watcher = site.observers[-1]  # the operator reads controller/error
    n_err = len(watcher.messages_on("evalroom/v1/controller/error"))
    for _, m in agent.chunks(bad, sha256="0" * 64):
        agent.publish("media", m)
    assert wait_for(lambda: len(watcher.messages_on("evalroom/v1/controller/error")) > n_err)
    err = json.loads(watcher.messages_on("evalroom/v1/controller/error")[-1])
    assert "SHA-256" in err["fault"] and "#900" in err["fault"], err
    time.sleep(0.5)
    assert (stream, 900) not in agent.acked
    for name in ("TA", "TB", retention_name(day)):
        assert 900 not in stored(day, name, stream)
    # Malformed chunks are refused with the field named, and change nothing.
    m = next(agent.chunks(segment(day, stream, seq=901)))[1]
    m["offset"] = 10**12
    site.injected.add(("evalroom/v1/room/%s/media" % day["room"], m.data))
    agent.publish("media", m)
    assert wait_for(lambda: any(b"offset" in p for p in
                                watcher.messages_on("evalroom/v1/controller/error")))


def partial_files(day, stream, seq):
    d = os.path.join(day["tmp"], "controller-state", "ingest", day["room"], stream)
    return [f for f in (os.listdir(d) if os.path.isdir(d) else []) if f == "%d.part" % seq]


def errors_after(watcher, n):
    return [json.loads(p) for p in watcher.messages_on("evalroom/v1/controller/error")[n:]]


def test_old_agent_base64_chunk_refused_with_the_version(day):
    """An agent still speaking chunk version 1 (base64 inside JSON) is told which version
    to speak, on controller/error, and nothing of its segment is stored or acknowledged."""
    agent, site = day["agent"], day["site"]
    stream = next(iter(day["streams"]))
    old = segment(day, stream, seq=910)
    watcher = site.observers[-1]
    n_err = len(watcher.messages_on("evalroom/v1/controller/error"))
    chunks = [m for _, m in agent.old_chunks(old)]
    topic = "evalroom/v1/room/%s/media" % day["room"]
    for m in chunks:
        site.injected.add((topic, json.dumps(m).encode()))  # refused on purpose
        agent.publish("media", m)
    assert wait_for(lambda: len(errors_after(watcher, n_err)) >= len(chunks))
    for e in errors_after(watcher, n_err):
        assert e["topic"] == "evalroom/v1/room/%s/media" % day["room"], e
        assert e["sender"] == "agent-" + day["room"], e
        assert "chunk version 1" in e["fault"] and "chunk version 2" in e["fault"], e
    time.sleep(0.5)
    assert (stream, 910) not in agent.acked
    for name in ("TA", "TB", retention_name(day)):
        assert 910 not in stored(day, name, stream)
    assert partial_files(day, stream, 910) == []


@pytest.mark.parametrize("edit, fault", [
    (("drop", "sha256"), "user property 'sha256': missing"),
    (("drop", "offset"), "user property 'offset': missing"),
    (("set", "colour", "blue"), "user property 'colour': unknown"),
    (("set", "size", "-5"), "user property 'size'"),
    (("set", "segment_seq", "07"), "user property 'segment_seq'"),
    (("set", "sha256", "AB" * 32), "user property 'sha256'"),
    (("set", "stream", "cam/../x"), "user property 'stream'"),
    (("set", "last", "yes"), "user property 'last'"),
    (("set", "v", "3"), "chunk version 2"),
])
def test_chunk_with_a_bad_user_property_refused(day, edit, fault):
    agent, site = day["agent"], day["site"]
    stream = next(iter(day["streams"]))
    seq = 920 + sum(map(ord, fault)) % 50
    watcher = site.observers[-1]
    n_err = len(watcher.messages_on("evalroom/v1/controller/error"))
    s = segment(day, stream, seq=seq)
    chunks = [m for _, m in agent.chunks(s)]
    for m in chunks:  # every chunk of the segment carries the fault
        if edit[0] == "drop":
            del m[edit[1]]
        else:
            m[edit[1]] = edit[2]
        site.injected.add(("evalroom/v1/room/%s/media" % day["room"], m.data))
        agent.publish("media", m)
    assert wait_for(lambda: len(errors_after(watcher, n_err)) >= len(chunks))
    for e in errors_after(watcher, n_err):
        assert fault in e["fault"], e
    time.sleep(0.3)
    assert (stream, seq) not in agent.acked
    for name in ("TA", "TB", retention_name(day)):
        assert seq not in stored(day, name, stream)
    assert partial_files(day, stream, seq) == []


def test_gap_stored_with_its_reason(day):
    agent = day["agent"]
    seat_cam = [s for s in day["streams"] if day["streams"][s]][-1]
    t = day["t0"] + 2 * SEG_US
    agent.send_gap(1, seat_cam, "camera_lost", t, t)
    assert wait_for(lambda: 1 in agent.acked_gaps)
    for name in expected_archives(day, seat_cam):
        assert rows(day, name, "SELECT stream, reason FROM gaps") == [(seat_cam, "camera_lost")]
    agent.send_gap(1, seat_cam, "camera_lost", t, t)  # a resend: acknowledged, not stored
    assert wait_for(lambda: agent.acked_gaps.count(1) == 2)
    for name in expected_archives(day, seat_cam):
        assert len(rows(day, name, "SELECT id FROM gaps")) == 1


def check_contiguous(day, stream):
    """Every expected archive holds each sequence number once, and consecutive ones abut
    or are covered by a recorded gap."""
    for name in expected_archives(day, stream):
        segs = rows(day, name, "SELECT seq, start_us, end_us FROM segments WHERE stream = ? "
                    "ORDER BY seq", stream)
        gaps = rows(day, name, "SELECT from_us, to_us FROM gaps WHERE stream = ?", stream)
        seqs = [s[0] for s in segs]
        assert seqs == list(range(1, len(seqs) + 1)), (name, stream, seqs)
        for a, b in zip(segs, segs[1:]):
            assert a[2] == b[1] or any(g[0] <= a[2] and g[1] >= b[1] for g in gaps), \
                (name, stream, a, b)


def test_broker_controller_and_agent_restarts_lose_nothing(day):
    site, agent = day["site"], day["agent"]
    streams = list(day["streams"])
    ctl = site.daemons["controller"]

    def send_round(stop_after=None):
        out = []
        for st in streams:
            s = segment(day, st)
            agent.send(s, stop_after=stop_after)
            out.append((st, s.seq))
        return out

    sent = send_round()
    # Broker restart with segments half-sent: the agent reconnects and resends from 0.
    sent += send_round(stop_after=1)
    site.broker.stop()
    site.broker.start()
    agent.connect()
    assert agent.wait_acked(sent, timeout=30), (sent, agent.acked)

    # Controller kill -9 with segments half-sent; the rest arrives while it is down.
    sent = send_round(stop_after=2)
    ctl.kill()
    for st in streams:
        s = agent.unacked[(st, day["next"][st] - 1)]
        for i, (_, m) in enumerate(agent.chunks(s)):
            if i >= 2:
                agent.publish("media", m)
    sent += send_round()
    ctl.start()
    assert ctl.wait_log("connected to the broker")
    assert agent.wait_acked(sent, timeout=30), (sent, agent.acked)

    # Agent kill -9 in mid-segment: the new process resends its spool and declares the
    # time it lost as an agent_restart gap.
    sent = send_round(stop_after=1)
    agent.kill()
    agent.connect()
    for gid, st in enumerate(streams, start=10):
        last_end = agent.unacked[(st, day["next"][st] - 1)].end_us
        agent.send_gap(gid, st, "agent_restart", last_end, last_end + 3 * SEG_US)
        day["shift"][st] = day["shift"].get(st, 0) + 3 * SEG_US  # three seconds lost
    sent += send_round()
    assert agent.wait_acked(sent, timeout=30), (sent, agent.acked)
    assert wait_for(lambda: all(g in agent.acked_gaps for g in range(10, 10 + len(streams))))
    for st in streams:
        check_contiguous(day, st)
    # Segments after the gap start where the gap ends.
    assert not agent.unacked


def test_tender_close_seals_and_refuses_later_writes(day):
    site, agent, ok = day["site"], day["agent"], day["ok"]
    seat_cam = next(s for s in day["streams"] if day["streams"][s] == ["TB"])
    now = int(time.time() * 1e6)
    late = Segment(seat_cam, day["next"][seat_cam], now - SEG_US, now, day["segs"][0])
    day["next"][seat_cam] += 1
    agent.send(late, stop_after=1)  # in flight when the close starts: flushed before seal
    flush_seen = len(agent.flushes)
    # An auditor's tool holds the open archive meanwhile: the close waits until it lets go
    # (the last segment and the tender.closed event wait for it), then seals.
    reader = sqlite3.connect("file:%s?mode=ro" % archive_path(day, "TB"), uri=True,
                             isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM events").fetchone()
    let_go = threading.Timer(2.0, lambda: (reader.execute("COMMIT"), reader.close()))
    let_go.start()
    started = time.monotonic()
    rc, out, err = site.ctl("tender", "close", "TB", "--wait", "10", json_out=False)
    let_go.join()
    assert rc == 0, out + err
    assert time.monotonic() - started >= 2.0
    assert [k for (k,) in rows(day, "TB", "SELECT kind FROM events")].count("tender.closed") == 1
    assert len(agent.flushes) > flush_seen
    assert "Tender TB sealed." in out and archive_path(day, "TB") in out
    size = int(re.search(r"tree size\s+(\d+)", out).group(1))
    root = re.search(r"root\s+([0-9a-f]{64})", out).group(1)
    assert "room %s" % day["room"] in out and "flushed" in out
    path = archive_path(day, "TB")
    # sealed read-only, readable by the controller's user only (docs/archives.md, "Custody")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o400
    assert late.seq in stored(day, "TB", seat_cam)
    ck = rows(day, "TB", "SELECT tree_size, lower(hex(root)) FROM checkpoints ORDER BY id DESC "
              "LIMIT 1")[0]
    assert ck == (size, root)

    # A segment recorded before the close that arrives only now is refused by the sealed
    # archive (logged) and kept in the site's retention archive.
    ctl = site.daemons["controller"]
    late2 = Segment(seat_cam, 500, late.start_us, late.end_us, late.data)
    agent.send(late2)
    assert agent.wait_acked([(seat_cam, 500)])
    assert 500 in stored(day, retention_name(day), seat_cam)
    assert 500 not in stored(day, "TB", seat_cam)
    assert "refused by tender TB (sealed)" in ctl.log()
    rc, out, err = site.ctl("tender", "close", "TB")
    assert rc != 0 and "sealed" in (out if isinstance(out, str) else json.dumps(out)) + err

    # The tender's state and the archive list say so.
    # The results match schemas/json/response.json.
    import jsonschema
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "schemas", "json",
                           "response.json")) as f:
        results = json.load(f)["$defs"]["results"]["properties"]
    # Nothing in flight for TA, but a reader holds its archive: the tender.closed event waits
    # in the controller's memory for it, then the seal follows.
    reader = sqlite3.connect("file:%s?mode=ro" % archive_path(day, "TA"), uri=True,
                             isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM events").fetchone()
    let_go = threading.Timer(1.5, lambda: (reader.execute("COMMIT"), reader.close()))
    let_go.start()
    rc, closed, err = site.ctl("tender", "close", "TA", "--wait", "0")
    let_go.join()
    assert rc == 0, err
    # (TA is the session's last open tender: the seat map's release comes first; storing
    # the record waits for the reader, after which tender.closed may no longer need to)
    assert ("waits for it" in ctl.log() or
            "draw.released" in [k for (k,) in rows(day, "TA", "SELECT kind FROM events")])
    assert [k for (k,) in rows(day, "TA", "SELECT kind FROM events")].count("tender.closed") == 1
    jsonschema.Draft202012Validator(results["tender.close"]).validate(closed)
    assert closed["rooms_unconfirmed"] and closed["rooms_unconfirmed"][0]["why"] == \
        "not asked (wait_s = 0)"
    listing = ok("archives")
    jsonschema.Draft202012Validator(results["archives.list"]).validate(listing)
    lst = listing["archives"]
    by = {a["name"]: a for a in lst}
    assert by["TB"]["state"] == "sealed" and by["TA"]["state"] == "sealed"
    assert by[retention_name(day)]["retention"] is True


def test_sealed_archive_passes_the_auditors_checks(day, tmp_path):
    tool = os.path.join(day["bin"], "evalroom-archive")
    path = archive_path(day, "TB")
    r = run([tool, "verify", path, "--pubkey", day["site"].prov.signing_key[:-4] + ".pub"])
    assert r.returncode == 0, r.stdout + r.stderr
    r = run(["sqlite3", path, "PRAGMA integrity_check"])
    assert r.stdout.strip() == "ok", r.stdout + r.stderr
    out = tmp_path / "ck"
    r = run([tool, "checkpoint", path, "--export", out])
    assert r.returncode == 0, r.stderr
    r = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
             day["site"].prov.signing_key[:-4] + ".pub", "-rawin", "-in", out / "checkpoint.txt",
             "-sigfile", out / "checkpoint.sig"])
    assert r.returncode == 0 and "Success" in r.stdout, r.stdout + r.stderr

    # Export the seat stream: it plays for its recorded span (within one segment).
    seat_cam = next(s for s in day["streams"] if day["streams"][s] == ["TB"])
    spans = rows(day, "TB", "SELECT seq, start_us, end_us FROM segments WHERE stream = ? AND "
                 "seq <= 4 ORDER BY seq", seat_cam)
    clip = tmp_path / "clip.mp4"
    r = run([tool, "export", path, "--stream", seat_cam, "--from", str(spans[0][1]), "--to",
             str(spans[-1][2]), "-o", clip])
    assert r.returncode == 0, r.stdout + r.stderr
    d = run(["gst-discoverer-1.0", clip])
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", d.stdout).groups()
    secs = int(h) * 3600 + int(m) * 60 + float(s)
    assert abs(secs - (spans[-1][2] - spans[0][1]) / 1e6) <= SEG_US / 1e6, d.stdout

    # verify-draw accepts the archive's draw record and rejects a changed one. TB closed
    # while nobody had checked in: its archive says the record was withheld; TA, the
    # session's last tender, received it at its close.
    kinds = [k for (k,) in rows(day, "TB", "SELECT kind FROM events")]
    assert "draw.withheld" in kinds and "draw.released" not in kinds
    assert rows(day, "TB", "SELECT count(*) FROM draw")[0][0] == 0
    path = archive_path(day, "TA")
    assert "draw.released" in [k for (k,) in rows(day, "TA", "SELECT kind FROM events")]
    r = run([tool, "verify-draw", path])
    assert r.returncode == 0 and "VERIFIED" in r.stdout, r.stdout + r.stderr
    copy = tmp_path / "changed.evarc"
    shutil.copyfile(path, copy)
    os.chmod(copy, 0o644)
    db = sqlite3.connect(copy)
    # the record is in the draw row, or (a reader held TA at its close) only in the
    # draw.released event, which holds it in any case
    (eid, body) = db.execute("SELECT id, body FROM events WHERE kind = 'draw.released'"
                             ).fetchone()
    ev = json.loads(body)
    a = ev["record"]["assignments"]
    a[0]["seat"], a[1]["seat"] = a[1]["seat"], a[0]["seat"]
    a[0]["room"], a[1]["room"] = a[1]["room"], a[0]["room"]
    db.execute("UPDATE events SET body = ? WHERE id = ?", (json.dumps(ev), eid))
    db.commit()
    db.close()
    r = run([tool, "verify-draw", copy])
    assert r.returncode == 1 and "MISMATCH" in r.stdout, r.stdout + r.stderr
    assert run([tool, "verify", copy]).returncode == 1  # and the tree catches it too


def test_daemon_messages_match_their_schemas(day):
    problems = [p for p in day["site"].schema_problems()]
    assert problems == []
