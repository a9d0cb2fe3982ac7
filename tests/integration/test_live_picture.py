"""Issue 19: a live viewer sees the camera's whole picture, not only that a video plays.

An RTSP camera that films a clock (clock_camera.py: x264 cuts each picture into slices,
and the RTSP path repeats SPS and PPS before each slice of a key frame, so the agent's
parser hands a key frame over in parts) is recorded by the real agent and watched in
headless Chromium through the web console. For every frame the tile presents, the page
reads the clock's block code back from the picture: it reads only when the top-left of
the picture is decoded right; nine in ten must. Before the live tap joined a key frame's
parts, each part went out as a picture of its own and the browser decoded none of the
top: 2 of 138 frames read.
"""
import os
import subprocess

import pytest

import browser
import harness
from clock_camera import READBACK_JS
from daemons import Site, wait_for
from test_web_console import live_recording

ROOM, STREAM = "E1", "cam-E1"
HERE = os.path.dirname(os.path.abspath(__file__))

why = browser.available()
pytestmark = pytest.mark.skipif(why is not None, reason=why or "")


@pytest.fixture
def camera(tmp_path):
    port = harness.free_port()
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "clock_camera.py"),
                          "--port", str(port)], stdout=subprocess.PIPE, text=True,
                         stderr=open(tmp_path / "camera.log", "w"))
    assert p.stdout.readline().strip() == "ready"
    yield "rtsp://127.0.0.1:%d/clock" % port
    p.terminate()
    p.wait(10)


def test_live_tile_shows_the_whole_picture(bin_dir, tmp_path, camera):
    s = Site(bin_dir, tmp_path)
    try:
        s.console_port = harness.free_port()
        s.start_controller(s.console_section(s.console_port))
        rc, _, err = s.ctl("site", "import", harness.EXAMPLE_SITE)
        assert rc == 0, err
        s.start_agent(ROOM, "[recorder]\nstate_interval_ms=1000\n[stream %s]\nurl=%s\n"
                            "place=room\nsegment_seconds=2\n" % (STREAM, camera))

        assert wait_for(lambda: live_recording(s, STREAM), 30)
        b = browser.Browser(s.prov, s.operator)
        try:
            b.get("https://127.0.0.1:%d/live" % s.console_port)
            sel = '[data-room="%s"][data-stream="%s"]' % (ROOM, STREAM)
            assert wait_for(lambda: b.js("const t = document.querySelector('%s');"
                                         "return t ? t.dataset.state : null;" % sel) == "live",
                            45), b.text()
            key = "%s/%s" % (ROOM, STREAM)
            b.js(READBACK_JS, key)

            def counts():
                return (b.js("return window.benchLatency.length"),
                        b.js("return window.benchUnreadable"))
            # 50 frames: two seconds of the camera, two key frames at least (on a loaded
            # machine Chromium presents fewer frames a second; what it presents must read).
            wait_for(lambda: sum(counts()) >= 50, 60, interval=0.5)
            read, unreadable = counts()
            print("frames read back %d, unreadable %d" % (read, unreadable))
            assert read + unreadable >= 50, (read, unreadable)
            assert unreadable <= (read + unreadable) // 10, (read, unreadable)
        finally:
            b.close()
    finally:
        s.close()
