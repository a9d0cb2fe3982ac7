"""Recording end to end with test sources, through the evalroom-recorder-test driver.

Each test writes a recorder configuration, runs the driver (the real evalroom_recorder
library on a GLib main loop) and judges what it reports and what lands on disk:
contiguous sequence numbers, playable segments whose duration matches the recorded
span, matching SHA-256, lost/recovered states with recorded gaps, restart after
kill -9, and the quota policy on a small filesystem.
"""
import hashlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

FRAME_US = 100_000  # every test source runs at 10 frames/s
# Noise at a fixed bitrate keeps every segment large enough for tsdemux's duration
# estimate (it reports 0 for files with too few PCRs), and cheap at 320x240.
ENC = ("video/x-raw,format=I420,width=320,height=240,framerate=10/1 ! "
       "x264enc tune=zerolatency speed-preset=ultrafast bitrate=2000 key-int-max=10 ! h264parse")
TEST_SRC = "videotestsrc is-live=true pattern=snow ! " + ENC


class Driver:
    """evalroom-recorder-test as a subprocess; its JSON-line events arrive in a queue."""

    def __init__(self, bin_dir, config, tmp_path, args=()):
        self.events = []
        self.q = queue.Queue()
        self.log = open(tmp_path / f"driver-{time.monotonic_ns()}.log", "w")
        self.p = subprocess.Popen([os.path.join(bin_dir, "evalroom-recorder-test"),
                                   "--config", str(config), *args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.log, text=True, bufsize=1)
        self.pos = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(lambda e: e["event"] == "ready", 10)
        self.pos = 0  # what happened during start-up is still to be examined

    def _read(self):
        for line in self.p.stdout:
            self.q.put(json.loads(line))
        self.q.put(None)

    def wait_for(self, pred, timeout):
        """Returns the first event after the previous match that satisfies pred."""
        deadline = time.monotonic() + timeout
        while True:
            while self.pos < len(self.events):
                e = self.events[self.pos]
                self.pos += 1
                if pred(e):
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; events so far: {self.events[-8:]}")
            try:
                e = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if e is None:
                raise AssertionError(f"driver exited; last events: {self.events[-8:]}")
            self.events.append(e)

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.wait_for(lambda e: e["event"] == "stopped", 15)
        assert self.p.wait(10) == 0
        self.log.close()

    def kill9(self):
        self.p.kill()
        self.p.wait(10)
        while True:  # drain what was printed before the kill
            e = self.q.get(timeout=5)
            if e is None:
                break
            self.events.append(e)
        self.log.close()

    def drain(self):
        """Takes in every event printed so far, without consuming them."""
        while True:
            try:
                e = self.q.get_nowait()
            except queue.Empty:
                return
            if e is None:
                self.q.put(None)
                return
            self.events.append(e)

    def of(self, kind, **match):
        self.drain()
        return [e for e in self.events
                if e["event"] == kind and all(e.get(k) == v for k, v in match.items())]


def write_config(path, spool, streams, **recorder):
    lines = ["[recorder]", f"spool_dir={spool}", "state_interval_ms=500"]
    lines += [f"{k}={v}" for k, v in recorder.items()]
    for name, keys in streams.items():
        lines.append(f"[stream {name}]")
        lines += [f"{k}={v}" for k, v in keys.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def discovered_duration_us(path):
    out = subprocess.run(["gst-discoverer-1.0", path], capture_output=True, text=True,
                         timeout=30).stdout
    m = re.search(r"Duration: (\d+):(\d+):(\d+)\.(\d+)", out)
    assert m, f"gst-discoverer cannot read {path}: {out}"
    h, mi, s, frac = m.groups()
    return ((int(h) * 60 + int(mi)) * 60 + int(s)) * 1_000_000 + int(frac[:6].ljust(6, "0"))


def decoded_frames(path):
    out = subprocess.run(["gst-launch-1.0", "-v", "filesrc", f"location={path}", "!",
                          "tsdemux", "!", "h264parse", "!", "avdec_h264", "!", "fakesink",
                          "silent=false"], capture_output=True, text=True, timeout=30).stdout
    return out.count("last-message = chain")


def check_plays(seg):
    """The segment plays and lasts its recorded span, within one frame interval."""
    span = seg["end_us"] - seg["start_us"]
    dur = discovered_duration_us(seg["path"])
    if dur == 0:
        # tsdemux estimates no duration for a very short file; decode it instead.
        dur = decoded_frames(seg["path"]) * FRAME_US
    assert abs(dur - span) <= FRAME_US, f"segment {seg['seq']}: plays {dur} us, span {span} us"


def check_contiguous(drv, stream, allow_recovered=False):
    """Sequence numbers 1..n without holes; every file hashes as spooled; consecutive
    segments abut, or the time between them is covered by a recorded gap."""
    segs = sorted(drv.of("segment", stream=stream), key=lambda e: e["seq"])
    assert segs, f"no segment for {stream}"
    seqs = [s["seq"] for s in segs]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    gaps = [g for g in drv.of("gap", stream=stream) if g["to_us"] is not None]
    for s in segs:
        assert s["recovered"] in (False, allow_recovered)
        assert os.path.getsize(s["path"]) == s["size"]
        assert sha256(s["path"]) == s["sha256"]
    for a, b in zip(segs, segs[1:]):
        hole = (a["end_us"], b["start_us"])
        if hole[1] - hole[0] <= FRAME_US:
            continue
        assert any(g["from_us"] <= hole[0] + FRAME_US and g["to_us"] >= hole[1] - FRAME_US
                   for g in gaps), f"unexplained hole {hole} between {a['seq']} and {b['seq']}"
    return segs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_segments_contiguous_playable_hashed(bin_dir, tmp_path):
    spool = tmp_path / "spool"
    cfg = write_config(tmp_path / "rec.conf", spool, {
        "room": {"source": TEST_SRC, "audio": "audiotestsrc is-live=true ! opusenc",
                 "segment_seconds": 1},
        "seat-1": {"source": TEST_SRC, "place": "seat", "seat": "s1", "segment_seconds": 2},
    })
    drv = Driver(bin_dir, cfg, tmp_path)
    drv.wait_for(lambda e: e["event"] == "segment" and e["stream"] == "seat-1" and e["seq"] == 2,
                 15)
    time.sleep(0.5)
    drv.stop()
    for stream in ("room", "seat-1"):
        segs = check_contiguous(drv, stream)
        assert segs[0]["seq"] == 1
        for s in segs:
            check_plays(s)
        states = [e["state"] for e in drv.of("state", stream=stream)]
        assert states[0] == "starting" and "recording" in states and states[-1] == "stopped"
        rec = [e for e in drv.of("state", stream=stream, state="recording") if e["bitrate_bps"]]
        assert rec and rec[-1]["bitrate_bps"] > 500_000  # 2 Mbit/s noise
    assert not drv.of("gap")
    # The spool index agrees with the files.
    rows = subprocess.run(["sqlite3", str(spool / "spool.db"),
                           "SELECT stream, seq, sha256 FROM segment ORDER BY stream, seq"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert rows == [f"{s['stream']}|{s['seq']}|{s['sha256']}"
                    for s in sorted(drv.of("segment"), key=lambda s: (s["stream"], s["seq"]))]


def start_camera(port):
    """A fake IP camera: live H.264 in MPEG-TS served over TCP."""
    return subprocess.Popen(["gst-launch-1.0", "-q", "videotestsrc", "is-live=true",
                             "pattern=ball", "!",
                             "video/x-raw,format=I420,width=320,height=240,framerate=10/1",
                             "!", "x264enc", "tune=zerolatency", "speed-preset=ultrafast",
                             "key-int-max=10", "!", "h264parse", "config-interval=-1", "!",
                             "mpegtsmux", "!", "tcpserversink", "host=127.0.0.1",
                             f"port={port}", "sync-method=latest-keyframe"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_lost_source_gap_and_recovery(bin_dir, tmp_path):
    port = free_port()
    cam = start_camera(port)
    try:
        time.sleep(0.5)
        cfg = write_config(tmp_path / "rec.conf", tmp_path / "spool", {
            "cam": {"source": f"tcpclientsrc host=127.0.0.1 port={port} ! tsdemux ! h264parse",
                    "segment_seconds": 1, "lost_timeout_ms": 1000},
        })
        drv = Driver(bin_dir, cfg, tmp_path)
        drv.wait_for(lambda e: e["event"] == "segment" and e["seq"] == 2, 15)
        # The camera hangs: no more buffers, connection still open.
        cam.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        lost = drv.wait_for(lambda e: e["event"] == "state" and e["state"] == "lost", 5)
        assert lost["reason"] == "camera_lost"
        assert time.monotonic() - t0 < 3
        gap = drv.wait_for(lambda e: e["event"] == "gap", 5)
        assert gap["reason"] == "camera_lost" and gap["to_us"] is None
        time.sleep(2)
        # The camera dies, and a new one comes up on the same address.
        cam.send_signal(signal.SIGKILL)
        cam.wait()
        time.sleep(1)
        cam = start_camera(port)
        closed = drv.wait_for(lambda e: e["event"] == "gap" and e["to_us"] is not None, 40)
        assert closed["id"] == gap["id"] and closed["reason"] == "camera_lost"
        assert closed["to_us"] - closed["from_us"] >= 3_000_000, \
            [e for e in drv.events if e["event"] in ("gap", "segment")]
        drv.wait_for(lambda e: e["event"] == "state" and e["state"] == "recording", 5)
        after = drv.wait_for(lambda e: e["event"] == "segment" and e["start_us"] >= closed["to_us"],
                             10)
        drv.stop()
        segs = check_contiguous(drv, "cam", allow_recovered=True)
        assert after["seq"] > 2
        before = [s for s in segs if s["end_us"] <= closed["from_us"] + FRAME_US]
        assert before, "no segment before the gap"
        for s in segs:
            if not s["recovered"]:
                check_plays(s)
    finally:
        cam.kill()
        cam.wait()


def test_kill9_resumes_sequence_and_recovers_partial(bin_dir, tmp_path):
    spool = tmp_path / "spool"
    cfg = write_config(tmp_path / "rec.conf", spool, {
        "cam": {"source": TEST_SRC, "segment_seconds": 2},
    })
    drv = Driver(bin_dir, cfg, tmp_path)
    drv.wait_for(lambda e: e["event"] == "segment" and e["seq"] == 2, 15)
    time.sleep(1.0)  # half way through segment 3
    drv.kill9()
    first = drv.of("segment")
    assert [s["seq"] for s in first] == [1, 2]
    partial = spool / "cam" / "00000003.ts"
    assert partial.exists() and partial.stat().st_size > 0

    drv2 = Driver(bin_dir, cfg, tmp_path)
    rec = drv2.wait_for(lambda e: e["event"] == "segment", 10)
    assert rec["seq"] == 3 and rec["recovered"] is True and rec["path"] == str(partial)
    assert rec["start_us"] == first[-1]["end_us"]
    assert rec["sha256"] == sha256(partial)
    # Power-cut-proof container: the partial segment plays up to where it stopped.
    assert decoded_frames(rec["path"]) >= 5
    gap = drv2.wait_for(lambda e: e["event"] == "gap" and e["to_us"] is not None, 10)
    assert gap["reason"] == "agent_restart" and gap["from_us"] == rec["end_us"]
    nxt = drv2.wait_for(lambda e: e["event"] == "segment" and not e["recovered"], 10)
    assert nxt["seq"] == 4 and nxt["start_us"] == gap["to_us"]
    drv2.stop()
    drv2.events = first + drv2.events
    check_contiguous(drv2, "cam", allow_recovered=True)


@pytest.fixture
def small_fs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a 4 MiB tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_spool_quota_on_small_filesystem(bin_dir, tmp_path, small_fs):
    spool = small_fs / "spool"
    cfg = write_config(tmp_path / "rec.conf", spool, {
        "cam": {"source": TEST_SRC, "segment_seconds": 1},
    }, quota_bytes=2_000_000, low_space_percent=50, min_free_bytes=512 * 1024)
    drv = Driver(bin_dir, cfg, tmp_path)
    low = drv.wait_for(lambda e: e["event"] == "space" and e["level"] == "low", 20)
    assert low["used_bytes"] >= 1_000_000
    full = drv.wait_for(lambda e: e["event"] == "space" and e["level"] == "full", 20)
    assert full["used_bytes"] >= 2_000_000 or full["fs_free_bytes"] < 512 * 1024
    stopped = drv.wait_for(lambda e: e["event"] == "state" and e["state"] == "stopped", 5)
    assert stopped["reason"] == "disk_full"
    gap = drv.wait_for(lambda e: e["event"] == "gap", 5)
    assert gap["reason"] == "disk_full" and gap["to_us"] is None
    time.sleep(1.5)
    # The segment cut by the stop is spooled like any other; nothing unacknowledged
    # was deleted, and nothing is recorded meanwhile.
    n_before = len(drv.of("segment"))
    for s in drv.of("segment"):
        assert os.path.exists(s["path"])
    time.sleep(1)
    assert len(drv.of("segment")) == n_before
    # The controller acknowledges everything: space returns and recording resumes.
    drv.send("ackall")
    ok = drv.wait_for(lambda e: e["event"] == "space" and e["level"] == "ok", 5)
    assert ok["used_bytes"] < 1_000_000
    closed = drv.wait_for(lambda e: e["event"] == "gap" and e["to_us"] is not None, 10)
    assert closed["id"] == gap["id"]
    drv.wait_for(lambda e: e["event"] == "segment" and e["start_us"] >= closed["to_us"], 10)
    drv.stop()
    segs = sorted(drv.of("segment"), key=lambda s: s["seq"])
    assert [s["seq"] for s in segs] == list(range(1, len(segs) + 1))
    assert len(segs) > n_before
    for s in segs[n_before:]:
        assert sha256(s["path"]) == s["sha256"]


def load_schema(kind):
    import jsonschema
    root = os.path.join(os.path.dirname(__file__), "..", "..", "schemas", "json")
    with open(os.path.join(root, kind + ".json")) as f:
        return jsonschema.Draft202012Validator(json.load(f))


def test_shipping_chunks_window_reconnect_and_acks(bin_dir, tmp_path):
    import base64
    cfg = write_config(tmp_path / "rec.conf", tmp_path / "spool", {
        "cam": {"source": TEST_SRC, "segment_seconds": 1},
    })
    drv = Driver(bin_dir, cfg, tmp_path,
                 ("--ship", "--room", "R101", "--chunk", "65536", "--inflight", "2"))
    drv.wait_for(lambda e: e["event"] == "segment" and e["seq"] == 4, 15)
    segs = {s["seq"]: s for s in drv.of("segment")}
    chunk_schema = load_schema("segment.chunk")

    def shipped(pubs):
        """seq -> bytes reassembled from its chunks, checking each chunk's metadata (its
        MQTT 5 user properties) against the schema, and offsets and last flags."""
        out = {}
        for p in pubs:
            meta = p["meta"]
            chunk_schema.validate(meta)
            assert p["topic"] == "evalroom/v1/room/R101/media" and p["payload_bytes"] <= 1 << 20
            data = out.setdefault(int(meta["segment_seq"]), bytearray())
            assert int(meta["offset"]) == len(data)
            piece = base64.b64decode(p["data"])
            assert len(piece) == p["payload_bytes"]
            data += piece
            assert (meta["last"] == "true") == (len(data) == int(meta["size"]))
        return out

    first = shipped(drv.of("publish"))
    assert sorted(first) == [1, 2]  # oldest first, at most two unacknowledged
    for seq, data in first.items():
        assert len(data) == segs[seq]["size"]
        assert hashlib.sha256(data).hexdigest() == segs[seq]["sha256"]

    # A reconnect sends the unacknowledged segments again from offset 0.
    n = len(drv.events)
    drv.send("reconnect")
    drv.wait_for(lambda e: e["event"] == "command_done", 5)
    again = shipped([e for e in drv.events[n:] if e["event"] == "publish"])
    assert sorted(again) == [1, 2] and again == first

    # An ack frees the window (the agent validates the controller's segment.ack first).
    n = len(drv.events)
    drv.send("ack cam 1")
    done = drv.wait_for(lambda e: e["event"] == "command_done" and e["line"] == "ack cam 1", 5)
    assert done["rc"] == 0
    assert not os.path.exists(segs[1]["path"])
    nxt = shipped([e for e in drv.events[n:] if e["event"] == "publish"])
    assert sorted(nxt) == [3]
    drv.stop()
    rows = subprocess.run(["sqlite3", str(tmp_path / "spool" / "spool.db"),
                           "SELECT min(seq) FROM segment"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert rows == "2"
