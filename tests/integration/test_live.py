"""Issue 19 items 1, 2 and 4: live video in the web console over WebRTC (docs/live.md).
A viewer's browser POSTs its SDP offer to the console (WHEP-style), the controller relays
it to the room agent (command live.offer), whose recorder answers from a tap on the
stream's encoded video: H.264 passed through, in a pipeline of its own per viewer.

Real Chromium (headless, with a person's certificate of the site) shows the live tiles
and decodes frames (getStats framesDecoded rising); viewers coming, going and killed
during recording leave every segment in place with no gap; opening and closing a view is
in the operator audit and in the archives of the tenders present; a desk may not watch;
a seat's camera is not offered before someone is checked in there."""
import json
import os
import signal
import subprocess
import time

import pytest

import browser
import harness
from daemons import Site, streams_config, wait_for
from test_alerts import audit_rows
from test_web_console import https

ROOM = "E1"
ROOM_CAM = "cam-E1"
SEAT_CAM = "cam-E1-S1"

why = browser.available()
pytestmark = pytest.mark.skipif(why is not None, reason=why or "")


@pytest.fixture(scope="module")
def site(bin_dir, tmp_path_factory):
    s = Site(bin_dir, tmp_path_factory.mktemp("live"))
    s.console_port = harness.free_port()
    s.start_controller(s.console_section(s.console_port))
    rc, out, err = s.ctl("site", "import", harness.EXAMPLE_SITE)
    assert rc == 0, err
    s.start_agent(ROOM, streams_config([ROOM_CAM], [(SEAT_CAM, "S1")], segment_s=1,
                                       audio=False))
    yield s
    s.close()


def url(site, path="/live"):
    return "https://127.0.0.1:%d%s" % (site.console_port, path)


def streams(site, identity):
    status, text = https(site, "/api/live", identity)
    assert status == 200, text
    return json.loads(text)["streams"]


def recording(site):
    return any(s["stream"] == ROOM_CAM and s["state"] == "recording"
               for s in streams(site, site.operator))


def frames(b, key="%s/%s" % (ROOM, ROOM_CAM)):
    return b.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.evalroomLive.framesDecoded(arguments[0]).then(done, () => done(-2));", key)


def test_live_tile_decodes_frames(site, build_dir):
    assert wait_for(lambda: recording(site), 20)
    # The seat camera of a seat nobody is checked in at is not offered.
    assert [s["stream"] for s in streams(site, site.operator)] == [ROOM_CAM]
    b = browser.Browser(site.prov, site.operator)
    try:
        b.get(url(site))
        tile = '[data-room="%s"][data-stream="%s"]' % (ROOM, ROOM_CAM)
        assert wait_for(lambda: b.js("const t = document.querySelector('%s');"
                                     "return t ? t.dataset.state : null;" % tile) == "live",
                        20), (b.driver.page_source[:3000], b.driver.get_log("browser"))
        assert wait_for(lambda: frames(b) > 0, 15), frames(b)
        first = frames(b)
        time.sleep(2)
        later = frames(b)
        print("framesDecoded %d -> %d in 2 s" % (first, later))
        assert later > first + 5
        artefacts = os.path.join(build_dir, "test-artifacts")
        os.makedirs(artefacts, exist_ok=True)
        shot = os.path.join(artefacts, "console-live.png")
        b.driver.save_screenshot(shot)
        assert os.path.getsize(shot) > 10000
    finally:
        b.close()
