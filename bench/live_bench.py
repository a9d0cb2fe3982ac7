#!/usr/bin/python3
"""`./dev bench live`: the live view's figures (issue 19, docs/live.md "Measured"), on the
real broker, controller with its web console, and room agent.

1. Glass-to-glass latency. A camera films a clock (tests/integration/clock_camera.py: each frame
   carries the wall-clock millisecond at which it was drawn, as a block code, H.264 from
   x264 zerolatency, served over RTSP); the agent records it and serves it live; headless
   Chromium opens the console's /live page with an operator's certificate, and for every
   frame it presents (requestVideoFrameCallback) reads the code back from the picture
   and subtracts it from the frame's expected display time. Same machine, same clock.
   Prints "latency p50 N ms, p99 N ms".
2. The agent's CPU per extra viewer of a 1080p25 4 Mbit/s H.264 stream passed through
   (an RTSP camera serving a pre-encoded clip): the agent's own CPU time with no viewer
   and with 10 (bench/whep_viewers.py: webrtcbin receivers that count packets and drop
   them, so the viewers do not decode on the measuring machine).
3. The recording's segment acknowledgement time in both runs: from the last chunk of a
   segment seen on the broker to the controller's segment.ack seen on the broker.

Usage: live_bench.py BUILD_DIR [SECONDS_PER_RUN]
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import browser  # noqa: E402
import harness  # noqa: E402
from daemons import Site, wait_for  # noqa: E402
from rtsp_media import Camera, clip, launch, looped_clip  # noqa: E402
from clock_camera import READBACK_JS  # noqa: E402
from test_web_console import live_recording  # noqa: E402

PY = "/usr/bin/python3"
ROOM, STREAM = "E1", "cam-E1"
VIEWERS = 10
CLK = os.sysconf("SC_CLK_TCK")


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class AckClock(harness.Client):
    """Arrival times of each segment's last chunk and of its segment.ack on the broker."""

    def __init__(self, prov, cn, last_chunk, acked, ends):
        super().__init__(prov, cn, client_id=cn + ":bench-live-acks")
        self.last_chunk = last_chunk  # (stream, segment_seq) -> monotonic s
        self.acked = acked
        self.ends = ends  # (stream, segment_seq) -> (monotonic, end_us in s, wall s)

    def _on_message(self, client, userdata, msg):
        now = time.monotonic()
        props = getattr(msg.properties, "UserProperty", None) if msg.properties else None
        if props:
            p = dict(props)
            if p.get("last") == "true":
                self.last_chunk[(p.get("stream"), p.get("segment_seq"))] = now
                self.ends[(p.get("stream"), p.get("segment_seq"))] = (
                    now, int(p.get("end_us", "0")) / 1e6, time.time())
        elif msg.topic.endswith("/cmd"):
            try:
                m = json.loads(msg.payload)
            except ValueError:
                return
            if m.get("kind") == "segment.ack" and "segment_seq" in m:
                self.acked[(m["stream"], str(m["segment_seq"]))] = now



def ack_clocks(prov):
    """The media topic as the controller reads it, the agent's commands as the agent reads
    them (each identity may read only its own); two clients sharing one record."""
    last_chunk, acked, ends = {}, {}, {}
    media = AckClock(prov, "controller", last_chunk, acked, ends)
    cmd = AckClock(prov, "agent-" + ROOM, last_chunk, acked, ends)
    assert media.connect() and cmd.connect(), "the ack observers could not connect"
    media.subscribe(harness.topic("room", ROOM, "media"))
    cmd.subscribe(harness.topic("room", ROOM, "cmd"))
    return media, cmd


def delays_ms(clock, since):
    """[(last chunk -> ack, segment end -> ack)] in ms of the segments shipped since."""
    out = []
    for k, (mono, end_s, wall) in list(clock.ends.items()):
        if mono >= since and k in clock.acked:
            ack = clock.acked[k]
            out.append(((ack - mono) * 1000, (wall + (ack - mono) - end_s) * 1000))
    return out


def agent_pid(site):
    return site.daemons["agent-" + ROOM].proc.pid


def stream_config(url):
    return ("[recorder]\nstate_interval_ms=1000\n[stream %s]\nurl=%s\nplace=room\n"
            "segment_seconds=2\n" % (STREAM, url))


def recording(site):
    return live_recording(site, STREAM)


def latency(site, run_s, work):
    port = harness.free_port()
    cam = subprocess.Popen([PY, os.path.join(ROOT, "tests", "integration", "clock_camera.py"), "--port",
                            str(port)], stdout=subprocess.PIPE, text=True,
                           stderr=open(os.path.join(work, "clock-camera.log"), "w"))
    try:
        assert cam.stdout.readline().strip() == "ready", "the clock camera did not start"
        site.start_agent(ROOM, stream_config(f"rtsp://127.0.0.1:{port}/clock"))
        b = browser.Browser(site.prov, site.operator)
        try:
            b.get("https://127.0.0.1:%d/live" % site.console_port)
            key = f"{ROOM}/{STREAM}"
            sel = f'[data-room="{ROOM}"][data-stream="{STREAM}"]'
            if not wait_for(lambda: b.js(f"const t = document.querySelector('{sel}');"
                                         "return t ? t.dataset.state : null;") == "live", 60):
                raise RuntimeError("the tile never went live: " + b.text())
            wait_for(lambda: b.js("return window.evalroomLive.tiles.get(arguments[0])"
                                  ".video.readyState", key) >= 2, 20)
            time.sleep(2)  # the jitter buffer settles after the first key frame
            b.js(READBACK_JS, key)
            time.sleep(run_s)
            lat = b.js("return window.benchLatency")
            bad = b.js("return window.benchUnreadable")
            b.driver.save_screenshot(os.path.join(os.path.dirname(work), "live-clock.png"))
        finally:
            b.close()
    finally:
        site.daemons["agent-" + ROOM].stop()
        cam.terminate()
        cam.wait(10)
    return lat, bad


def cpu_window(pid, run_s):
    c0, t0 = ticks(pid), time.monotonic()
    time.sleep(run_s)
    c1, t1 = ticks(pid), time.monotonic()
    return (c1 - c0) / CLK / (t1 - t0) * 100


def viewers_cost(site, run_s, work):
    cache = os.path.join(os.path.dirname(work), "clips")
    base = clip(cache, "h264", 1920, 1080, 25, 10, kbps=4000, audio=True, pattern="snow")
    path = looped_clip(cache, "h264", base, 30)  # 300 s: no run reaches its end
    port = harness.free_port()
    cam = Camera(port, {"/main": launch("h264", path)},
                 log=open(os.path.join(work, "camera-1080p.log"), "w"))
    acks, acks_cmd = ack_clocks(site.prov)
    viewers = None
    try:
        site.start_agent(ROOM, stream_config(f"rtsp://127.0.0.1:{port}/main"))
        if not wait_for(lambda: recording(site), 60):
            raise RuntimeError("the 1080p stream is not recording")
        time.sleep(5)
        pid = agent_pid(site)
        since0 = time.monotonic()
        cpu0 = cpu_window(pid, run_s)
        ack0 = delays_ms(acks, since0)
        cert, key = site.prov.cert(site.operator)
        # The viewers decrypt 10 SRTP streams: at the lowest priority, so that what they
        # cost this machine falls on them and not on the controller being measured.
        viewers = subprocess.Popen(
            ["nice", "-n", "19", PY, os.path.join(ROOT, "bench", "whep_viewers.py"),
             "--url", "https://127.0.0.1:%d" % site.console_port, "--room", ROOM,
             "--stream", STREAM, "--count", str(VIEWERS), "--ca", site.prov.ca,
             "--cert", cert, "--key", key],
            stdout=subprocess.PIPE, text=True,
            stderr=open(os.path.join(work, "viewers.log"), "w"))
        opened, packets, refused = set(), {}, []

        def read_viewers():
            for line in viewers.stdout:
                w = line.split()
                if w[0] == "open":
                    opened.add(int(w[1]))
                elif w[0] == "packets":
                    packets[int(w[1])] = (int(w[2]), int(w[3]))
                elif w[0] == "refused":
                    refused.append(line.strip())
        threading.Thread(target=read_viewers, daemon=True).start()
        if not wait_for(lambda: len(opened) == VIEWERS or refused, 120):
            raise RuntimeError(f"{len(opened)} of {VIEWERS} viewers connected")
        if refused:
            raise RuntimeError("a viewer was refused: " + refused[0])
        time.sleep(3)
        before = dict(packets)
        since1 = time.monotonic()
        cpu1 = cpu_window(pid, run_s)
        ack1 = delays_ms(acks, since1)
        after = dict(packets)
        fed = [(after.get(i, (0, 0))[0] - before.get(i, (0, 0))[0],
                (after.get(i, (0, 0))[1] - before.get(i, (0, 0))[1]) * 8 / run_s / 1000)
               for i in range(VIEWERS)]
    finally:
        if viewers:
            viewers.terminate()
            viewers.wait(30)
        site.daemons["agent-" + ROOM].stop()
        cam.stop()
        acks.close()
        acks_cmd.close()
    return cpu0, cpu1, fed, ack0, ack1


def main():
    build = os.path.abspath(sys.argv[1])
    run_s = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    why = browser.available()
    if why:
        print("live: " + why, file=sys.stderr)
        return 2
    base = os.path.join(build, "bench-live")
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="run-", dir=base)
    site = Site(os.path.join(build, "bin"), work, observe=False)
    try:
        site.console_port = harness.free_port()
        site.start_controller(site.console_section(site.console_port))
        rc, _, err = site.ctl("site", "import", harness.EXAMPLE_SITE)
        assert rc == 0, err
        print(f"live: {run_s}s per run; {os.cpu_count()} cores; load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        lat, bad = latency(site, run_s, work)
        if not lat:
            raise RuntimeError(f"no frame could be read back ({bad} unreadable)")
        print(f"latency p50 {pct(lat, 50):.0f} ms, p99 {pct(lat, 99):.0f} ms "
              f"({len(lat)} frames read back, {bad} unreadable; 640x360 25 fps, "
              f"camera -> RTSP -> agent -> WebRTC -> Chromium)", flush=True)
        cpu0, cpu1, fed, ack0, ack1 = viewers_cost(site, run_s, work)
        print(f"agent cpu, 1080p25 4 Mbit/s H.264 pass-through: {cpu0:.1f}% of a core with "
              f"no viewer, {cpu1:.1f}% with {VIEWERS}: {(cpu1 - cpu0) / VIEWERS:.2f}% of a "
              f"core per extra viewer (each viewer got {min(p for p, _ in fed)} to "
              f"{max(p for p, _ in fed)} RTP packets in {run_s}s, {min(k for _, k in fed):.0f} "
              f"to {max(k for _, k in fed):.0f} kbit/s)", flush=True)
        for name, d in (("no viewer", ack0), (f"{VIEWERS} viewers", ack1)):
            if d:
                shipped = [a for a, _ in d]
                ended = [b for _, b in d]
                print(f"segment ack, {name}: {len(d)} segments; last chunk -> ack p50 "
                      f"{statistics.median(shipped):.0f} ms, max {max(shipped):.0f} ms; "
                      f"segment end -> ack p50 {statistics.median(ended):.0f} ms, max "
                      f"{max(ended):.0f} ms", flush=True)
            else:
                print(f"segment ack, {name}: no segment acknowledged in the window")
    finally:
        site.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
