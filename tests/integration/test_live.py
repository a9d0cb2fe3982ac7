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
from test_draw_secrecy import DESK, ID, TODAY, prepare, rows
from test_media_agent import chunks
from test_web_console import https, live_recording

ROOM = "E1"
ROOM_CAM = "cam-E1"
SEAT_CAM = "cam-E1-S1"
SEAT_CAM2 = "cam-E1-S2"

why = browser.available()
pytestmark = pytest.mark.skipif(why is not None, reason=why or "")


@pytest.fixture(scope="module")
def site(bin_dir, tmp_path_factory):
    s = Site(bin_dir, tmp_path_factory.mktemp("live"))
    s.console_port = harness.free_port()
    s.start_controller(s.console_section(s.console_port))
    rc, out, err = s.ctl("site", "import", harness.EXAMPLE_SITE)
    assert rc == 0, err
    s.start_agent(ROOM, streams_config([ROOM_CAM], [(SEAT_CAM, "S1"), (SEAT_CAM2, "S2")],
                                       segment_s=1, audio=True))
    yield s
    s.close()


def url(site, path="/live"):
    return "https://127.0.0.1:%d%s" % (site.console_port, path)


def streams(site, identity):
    status, text = https(site, "/api/live", identity)
    assert status == 200, text
    return json.loads(text)["streams"]


def recording(site):
    return live_recording(site, ROOM_CAM)


def frames(b, key="%s/%s" % (ROOM, ROOM_CAM)):
    return b.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.evalroomLive.framesDecoded(arguments[0]).then(done, () => done(-2));", key)


def test_live_tile_decodes_frames(site, build_dir):
    assert wait_for(lambda: recording(site), 20)
    # The seat cameras of seats nobody is checked in at are not offered.
    assert [s["stream"] for s in streams(site, site.operator)] == [ROOM_CAM]
    # The room camera records Opus sound: the list says so, and the page asks for it.
    assert wait_for(lambda: streams(site, site.operator)[0].get("audio") is True, 30), \
        streams(site, site.operator)
    b = browser.Browser(site.prov, site.operator)
    try:
        b.get(url(site))
        tile = '[data-room="%s"][data-stream="%s"]' % (ROOM, ROOM_CAM)
        assert wait_for(lambda: b.js("const t = document.querySelector('%s');"
                                     "return t ? t.dataset.state : null;" % tile) == "live",
                        45), (b.text(), b.driver.get_log("browser"))
        assert wait_for(lambda: frames(b) > 0, 15), frames(b)
        first = frames(b)
        time.sleep(2)
        later = frames(b)
        print("framesDecoded %d -> %d in 2 s" % (first, later))
        assert later > first + 5
        # ... and plays its sound: Opus packets received and samples decoded, rising.
        key = "%s/%s" % (ROOM, ROOM_CAM)
        script = ("const done = arguments[arguments.length - 1];"
                  "window.evalroomLive.audio(arguments[0]).then(done, () => done(null));")
        a1 = b.driver.execute_async_script(script, key)
        time.sleep(2)
        a2 = b.driver.execute_async_script(script, key)
        print("audio", a1, "->", a2)
        assert a1 and a2 and a2["codec"] == "audio/opus", (a1, a2)
        assert a2["packets"] > a1["packets"] and a2["samples"] > a1["samples"], (a1, a2)
        artefacts = os.path.join(build_dir, "test-artifacts")
        os.makedirs(artefacts, exist_ok=True)
        shot = os.path.join(artefacts, "console-live.png")
        b.driver.save_screenshot(shot)
        assert os.path.getsize(shot) > 10000
    finally:
        b.close()


def segments(site, stream):
    """{segment_seq: (start_us, end_us)} of STREAM's segments shipped so far."""
    out = {}
    for c in chunks(site):
        if c["kind"] == "segment.chunk" and c["stream"] == stream and c["last"]:
            out[c["segment_seq"]] = (c["start_us"], c["end_us"])
    return out


def gaps(site, stream):
    return [json.loads(p) for p in site.observers[0].messages_on(
        harness.topic("room", ROOM, "event"))
        if json.loads(p)["kind"] == "stream.gap" and json.loads(p)["stream"] == stream]


def kill_browser(b):
    """End B's Chromium with SIGKILL (no page hide, no DELETE: a crashed viewer)."""
    kids = subprocess.run(["pgrep", "-P", str(b.driver.service.process.pid)],
                          capture_output=True, text=True).stdout.split()
    for pid in kids:
        os.kill(int(pid), signal.SIGKILL)
    try:
        b.close()
    except Exception:
        pass


def live_browser(site, identity):
    b = browser.Browser(site.prov, identity)
    b.get(url(site))
    tile = '[data-room="%s"][data-stream="%s"]' % (ROOM, ROOM_CAM)
    assert wait_for(lambda: b.js("const t = document.querySelector('%s');"
                                 "return t ? t.dataset.state : null;" % tile) == "live", 45), \
        b.text()
    return b


def test_viewers_never_disturb_recording(site):
    assert wait_for(lambda: len(segments(site, ROOM_CAM)) >= 3, 20)
    before = max(segments(site, ROOM_CAM))
    opened = len([r for r in audit_rows(site, "live.open") if r[2] == "ok"])
    closed = len([r for r in audit_rows(site, "live.close") if r[2] == "ok"])
    # Viewers come, go, and one is killed, while the room camera records.
    b1 = live_browser(site, site.operator)
    b2 = live_browser(site, site.witness)
    b1.get(url(site, "/"))  # leaves the page: its view is closed (DELETE)
    b1.close()
    b3 = live_browser(site, site.operator)
    kill_browser(b2)
    # A viewer that never connects (its offer's browser is gone) stalls on the agent.
    b4 = live_browser(site, site.operator)
    b4.js("window.evalroomLive.tiles.forEach(t => t.pc.close())")
    b3.close()
    time.sleep(3)
    kill_browser(b4)
    time.sleep(4)
    after = max(segments(site, ROOM_CAM))
    assert after >= before + 8
    segs = segments(site, ROOM_CAM)
    # Every segment, in order, each starting where the one before ended.
    assert sorted(segs) == list(range(min(segs), max(segs) + 1)), sorted(segs)
    holes = [segs[q + 1][0] - segs[q][1] for q in range(before, after)]
    print("segments %d..%d during the viewers; largest hole between two %d us"
          % (before, after, max(holes)))
    assert max(holes) < 100000, holes
    assert gaps(site, ROOM_CAM) == []
    # Each view opened and closed is in the operator audit, with whose it was.
    assert wait_for(lambda: len([r for r in audit_rows(site, "live.open") if r[2] == "ok"])
                    >= opened + 4, 5)
    rows_open = [r for r in audit_rows(site, "live.open") if r[2] == "ok"]
    assert (site.witness, "live.open", "ok") in rows_open
    # Closed: b1 left its page (DELETE), b4 closed its connection (RTCP BYE), b2 and b4
    # were killed (their RTCP stopped; the agent reports live.ended); b3's window closed.
    assert wait_for(lambda: len([r for r in audit_rows(site, "live.close")
                                 if r[2] == "ok"]) >= closed + 4, 30), \
        audit_rows(site, "live.close")
    assert wait_for(lambda: "live: viewer" in site.daemons["agent-" + ROOM].log() and
                    site.daemons["agent-" + ROOM].log().count(" ended: ") >= 3, 10)


def test_who_may_watch_what(site, tmp_path):
    # A desk may not watch; no certificate gets no handshake.
    status, text = https(site, "/api/live", DESK)
    assert status == 403 and "may not run" in text, text
    origin = {"Origin": "https://127.0.0.1:%d" % site.console_port,
              "Content-Type": "application/sdp"}
    status, text = https(site, "/live/%s/%s/whep" % (ROOM, ROOM_CAM), DESK, method="POST",
                         body="v=0\r\n", headers=origin)
    assert status == 403, text
    assert (DESK, "live.open", "denied") in audit_rows(site, "live.open")
    status, text = https(site, "/live", DESK)
    assert status == 403
    # Not an offer: refused, nothing opened.
    status, text = https(site, "/live/%s/%s/whep" % (ROOM, ROOM_CAM), site.operator,
                         method="POST", body="hello", headers=origin)
    assert status in (400, 503), text
    # From another site's page: refused.
    status, text = https(site, "/live/%s/%s/whep" % (ROOM, ROOM_CAM), site.operator,
                         method="POST", body="v=0\r\n",
                         headers={"Origin": "https://evil.example",
                                  "Content-Type": "application/sdp"})
    assert status == 403, text

    # A seat's camera is offered once its person is checked in, not before; and a live
    # view of the room is evidence in the archive of that person's tender.
    prepare(site, tmp_path)
    rc, out, err = site.ctl("draw", "commit", "--session", TODAY)
    assert rc == 0, err
    rc, out, err = site.witness_run(TODAY, "live 1", out["commitment"]["commitment"]
                                    if isinstance(out["commitment"], dict)
                                    else out["commitment"])
    assert rc == 0, (out, err)
    here = [a for a in site.seat_map(TODAY) if a["room"] == ROOM]
    assert here, site.seat_map(TODAY)
    person, seat = here[0]["person"], here[0]["seat"]
    cam = {"S1": SEAT_CAM, "S2": SEAT_CAM2}[seat]
    assert cam not in [s["stream"] for s in streams(site, site.operator)]
    rc, out, err = site.ctl("desk", "checkin", "--person", person, "--id-number", ID[person],
                            "--screening", "passed", identity=DESK)
    assert rc == 0, (out, err)
    offered = {s["stream"]: s.get("seat") for s in streams(site, site.operator)}
    assert offered.get(cam) == seat and len(offered) == 2, offered
    tender = [t for t, people in (("TA", ("xp-wang", "xp-zhou")), ("TB", ("xp-sun", "xp-lin")))
              if person in people][0]
    b = live_browser(site, site.operator)
    seat_tile = '[data-stream="%s"]' % cam
    assert wait_for(lambda: b.js("const t = document.querySelector('%s');"
                                 "return t ? t.dataset.state : null;" % seat_tile) == "live", 20)
    b.get(url(site, "/"))
    b.close()

    def archived():
        return [(k, json.loads(body)) for k, body in rows(
            site, tender, "SELECT kind, body FROM events WHERE kind LIKE 'operator.live.%' "
            "ORDER BY leaf")]
    # Both views of this page (room and seat camera), opened and closed, are in the
    # archive with the viewer's id; a view of before the check-in that ended after it is
    # there too (its close only).
    def views(kind, where):
        return {b[where]["viewer"] for k, b in archived() if k == kind}
    assert wait_for(lambda: len(views("operator.live.open", "result")) == 2 and
                    views("operator.live.open", "result") <=
                    views("operator.live.close", "args"), 30), archived()
    for k, body in archived():
        assert body["identity"] == site.operator and body["outcome"] == "ok"
        assert body["args"]["room"] == ROOM


def test_a_viewer_asking_for_sound_gets_the_streams_opus(site):
    """A client that offers an audio section (the console's page asks for video only) gets
    the stream's Opus passed through beside the H.264: RTP packets of both arrive."""
    assert wait_for(lambda: recording(site), 20)
    cert, key = site.prov.cert(site.operator)
    here = os.path.dirname(os.path.abspath(__file__))
    viewer = subprocess.Popen(
        ["/usr/bin/python3", os.path.join(here, "..", "..", "bench", "whep_viewers.py"),
         "--url", url(site, ""), "--room", ROOM, "--stream", ROOM_CAM, "--count", "1",
         "--ca", site.prov.ca, "--cert", cert, "--key", key, "--audio"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = {}
    try:
        deadline = time.monotonic() + 60
        for line in viewer.stdout:
            w = line.split()
            if w[0] in ("packets", "audio"):
                seen[w[0]] = int(w[2])
            assert w[0] != "refused", line
            if (seen.get("packets", 0) > 30 and seen.get("audio", 0) > 30) or \
                    time.monotonic() > deadline:
                break
    finally:
        viewer.terminate()
        out, err = viewer.communicate(timeout=30)
    assert seen.get("packets", 0) > 30 and seen.get("audio", 0) > 30, (seen, err[-2000:])
