"""Issue 8 with the recording health (issue 6): a camera that hangs raises stream_lost
through the real agent and controller and resolves when it delivers again; spool space
reports raise and clear spool_low / spool_full; the room view shows the streams."""
import os
import signal
import subprocess
import time

import pytest

import harness
from daemons import Site, wait_for
from test_alerts import check_result, find_alert

ROOM = "E1"


class FakeCamera:
    """An IP camera stand-in: live H.264 in MPEG-TS over TCP, which can hang (SIGSTOP)."""

    def __init__(self):
        self.port = harness.free_port()
        self.proc = subprocess.Popen(
            ["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "!",
             "video/x-raw,format=I420,width=160,height=120,framerate=10/1", "!", "x264enc",
             "tune=zerolatency", "speed-preset=ultrafast", "key-int-max=10", "!", "h264parse",
             "config-interval=-1", "!", "mpegtsmux", "!", "tcpserversink", "host=127.0.0.1",
             "port=%d" % self.port, "sync-method=latest-keyframe"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def stream_config(self, name):
        return ("[recorder]\nquota_bytes=0\nstate_interval_ms=2000\n\n"
                "[stream %s]\nsource=tcpclientsrc host=127.0.0.1 port=%d ! tsdemux ! "
                "h264parse\nplace=room\nsegment_seconds=2\nlost_timeout_ms=1500\n"
                % (name, self.port))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(5)


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def streams_of(site, room=ROOM):
    rc, out, err = site.ctl("rooms")
    assert rc == 0, err
    check_result("rooms", out)
    for r in out["rooms"]:
        if r["room"] == room:
            return {s["stream"]: s["state"] for s in r["streams"]}
    return {}


@pytest.mark.skipif(not os.path.exists("/usr/bin/gst-launch-1.0"), reason="no GStreamer tools")
def test_camera_hangs_then_recovers(site):
    cam = FakeCamera()
    try:
        site.start_controller()
        site.start_agent(ROOM, extra=cam.stream_config("cam-E1"))
        assert wait_for(lambda: streams_of(site).get("cam-E1") == "recording", 30), \
            streams_of(site)
        cam.proc.send_signal(signal.SIGSTOP)  # the camera hangs
        alert = wait_for(lambda: find_alert(site, "stream_lost", ROOM), 20, 0.2)
        assert alert, "no stream_lost alert"
        assert alert["stream"] == "cam-E1" and "lost" in alert["detail"]
        assert streams_of(site)["cam-E1"] == "lost"
        cam.proc.send_signal(signal.SIGCONT)
        resolved = wait_for(lambda: find_alert(site, "stream_lost", ROOM, "resolved"), 30, 0.3)
        assert resolved and resolved["resolved_by"] == "auto: stream recording again"
        assert resolved["id"] == alert["id"]
    finally:
        cam.stop()


def test_spool_low_and_full(site):
    site.start_controller()
    agent = site.client("agent-" + ROOM)  # the spool reports as the room's agent sends them
    topic = harness.topic("room", ROOM, "event")
    seq = int(time.time() * 1e6)

    def report(level, used):
        nonlocal seq
        seq += 1
        agent.publish(topic, {"v": 1, "kind": "spool.space", "seq": seq, "ts": seq,
                              "level": level, "used_bytes": used, "quota_bytes": 1000000000,
                              "fs_free_bytes": 10**10})

    report("low", 900000000)
    low = wait_for(lambda: find_alert(site, "spool_low", ROOM), 5, 0.1)
    assert low and "spool is low" in low["detail"]
    assert low["extra"].pop("text") == {"id": "spool_low", "args": [ROOM, "900.0", "1000.0"]}
    assert low["extra"] == {"used_bytes": 900000000, "quota_bytes": 1000000000}
    report("full", 1000000000)
    assert wait_for(lambda: find_alert(site, "spool_full", ROOM), 5, 0.1)
    report("ok", 1000)
    assert wait_for(lambda: find_alert(site, "spool_full", ROOM, "resolved") and
                    find_alert(site, "spool_low", ROOM, "resolved"), 5, 0.1)
    agent.close()
