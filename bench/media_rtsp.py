#!/usr/bin/python3
"""RTSP camera figures for `./dev bench media`, through evalroom-recorder-test and
GStreamer's RTSP server (tests/integration/rtsp_camera.py) serving a pre-encoded clip:

1. CPU of the recorder per RTSP H.265 4 MP (2560x1440) 25 fps stream with AAC audio,
   passed through (the camera server's own CPU is not counted);
2. the time from a camera's return (its RTSP server listening again after a reboot) to
   the stream recording again and to the first segment of the resumed recording
   spooled, with the default 4 s segments.

Usage: media_rtsp.py BUILD_DIR [SECONDS_PER_RUN]
"""
import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from rtsp_media import Camera, clip, credentials, launch, looped_clip  # noqa: E402

WARM_S = 3
CLK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def config(path, spool, streams):
    lines = ["[recorder]", f"spool_dir={spool}", "state_interval_ms=1000"]
    for name, keys in streams.items():
        lines.append(f"[stream {name}]")
        lines += [f"{k}={v}" for k, v in keys.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class Events:
    def __init__(self, path):
        self.path = path

    def all(self):
        out = []
        with open(self.path) as f:
            for line in f:
                if line.endswith("\n"):
                    out.append(json.loads(line))
        return out

    def wait(self, pred, timeout, start=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.all()[start:]:
                if pred(e):
                    return e, time.monotonic()
            time.sleep(0.02)
        raise SystemExit(f"media_rtsp: timed out waiting in {self.path}")


def main():
    build = sys.argv[1]
    run_s = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    driver = os.path.join(build, "bin", "evalroom-recorder-test")
    work = os.path.join(build, "bench-media", "rtsp")
    subprocess.run(["rm", "-rf", work], check=True)
    os.makedirs(work)
    cache = os.path.join(build, "bench-media")
    # 2 s of 4 MP H.265 is encoded once (minutes on a busy machine), then repeated by
    # remuxing into a stream long enough for both runs, so that nothing loops.
    print("media: encoding 2 s of 4 MP H.265 once if needed...", file=sys.stderr, flush=True)
    two = clip(cache, "h265", 2560, 1440, 25, 2, kbps=4000)
    src = looped_clip(cache, "h265", two, (run_s + WARM_S + 40) // 2)
    port = free_port()
    log = open(os.path.join(work, "camera.log"), "w")
    cam = Camera(port, {"/main": launch("h265", src, audio="aac")}, user="bench",
                 password="bench-pw", log=log)
    cred = credentials(os.path.join(work, "cam.cred"), "bench", "bench-pw")
    conf = os.path.join(work, "rec.conf")
    config(conf, os.path.join(work, "spool"),
           {"cam": {"url": f"rtsp://127.0.0.1:{port}/main", "credentials": cred}})
    evpath = os.path.join(work, "events.jsonl")
    ev = Events(evpath)
    p = subprocess.Popen([driver, "--config", conf], stdout=open(evpath, "w"),
                         stderr=open(os.path.join(work, "driver.log"), "w"),
                         stdin=subprocess.DEVNULL)
    try:
        time.sleep(WARM_S)
        t0, c0 = time.monotonic(), ticks(p.pid)
        time.sleep(run_s)
        t1, c1 = time.monotonic(), ticks(p.pid)
        cpu = (c1 - c0) / CLK / (t1 - t0) * 100
        segs = [e for e in ev.all() if e["event"] == "segment"]
        lost = [e for e in ev.all() if e.get("state") == "lost"]
        print(f"{'RTSP H.265 4MP25 4Mb/s + AAC':34s} streams=1  cpu={cpu:.1f}% of one core "
              f"(pass-through, recorder only)  segments={len(segs)} lost={len(lost)}")

        # The camera reboots: gone until the stream is lost, then back.
        cam.stop()
        ev.wait(lambda e: e.get("state") == "lost", 15)
        time.sleep(5)  # a few reconnection attempts fail meanwhile
        n_before = len(ev.all())
        cam.start()
        back = time.monotonic()
        _, t_rec = ev.wait(lambda e: e.get("state") == "recording", 30, n_before)
        _, t_seg = ev.wait(lambda e: e["event"] == "segment", 30, n_before)
        print(f"{'RTSP camera back after a reboot':34s} recording again after "
              f"{t_rec - back:.1f} s; first segment spooled after {t_seg - back:.1f} s "
              f"(segment length 4 s, target <= 8 s)")
    finally:
        p.terminate()
        p.wait(20)
        cam.stop()
        log.close()


if __name__ == "__main__":
    main()
