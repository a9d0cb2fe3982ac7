"""Issue 19 item 5: the recorded call (docs/call.md). An expert's help key rings the
witness room; a witness answers from the web console's live page (real headless Chromium
with a fake microphone), or calls the seat from its tile; the seat's microphone
(audiotestsrc on the agent) reaches the browser and the witness's voice reaches the seat's
speaker (a file here), both directions recorded by the agent as streams call-SEAT-seat and
call-SEAT-witness and shipped into the archive of the expert's tender with the events
call.ring, call.answer and call.hangup; either side hangs up; the agent stopping or
crashing during a call loses nothing it recorded; the sealed archive verifies. A desk may
not answer."""
import array
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
from test_warnings import DESK, checkin, enter_and_login, ok, TODAY, IDS

why = browser.available()
pytestmark = pytest.mark.skipif(why is not None, reason=why or "")

ROOMS = ("E1", "E2")


def call_config(site, room):
    return ("[call]\nmicrophone=audiotestsrc is-live=true wave=sine freq=440 volume=0.4\n"
            "speaker=filesink location=%s\nsegment_seconds=1\n" % speaker(site, room))


def speaker(site, room):
    return os.path.join(site.tmp, "speaker-%s.raw" % room)


@pytest.fixture(scope="module")
def day(bin_dir, tmp_path_factory):
    """Rooms E1 and E2 (doors, a room and two seat cameras each, call audio), one tender of
    one expert, checked in, through the door and logged in at the drawn seat."""
    tmp = tmp_path_factory.mktemp("call")
    s = Site(bin_dir, tmp)
    s.console_port = harness.free_port()
    s.start_controller("admission_window_s=60\n" + s.console_section(s.console_port))
    for room in ROOMS:
        seats = [("cam-%s-%s" % (room, seat), seat) for seat in ("S1", "S2")]
        s.start_agent(room, extra=streams_config(["cam-" + room], seats, segment_s=1,
                                                 audio=False) + call_config(s, room),
                      door=True)
    terms = {}
    for room in ROOMS:
        for seat in ("S1", "S2"):
            terms[(room, seat)] = s.start_terminal(room, seat)
            terms[(room, seat)].wait("screen=locked", absent="UNREACHABLE", timeout=30)
    ok(s, "site", "import", harness.EXAMPLE_SITE)
    ok(s, "session", "create", "--date", TODAY)
    ok(s, "tender", "add", "--session", TODAY, "--id", "TC", "--name", "Calls")
    csv = tmp / "tc.csv"
    csv.write_text("person_id,name,id_number,role\nxp-a,Expert A,%s,expert\n" % IDS["xp-a"])
    ok(s, "committee", "import", "--tender", "TC", str(csv))
    c = ok(s, "draw", "commit", "--session", TODAY)["commitment"]
    assert s.witness_run(TODAY, "calls", c)[0] == 0
    a = checkin(s, "xp-a")
    t = enter_and_login(s, terms, a)
    yield s, a, t
    s.close()


def url(site, path="/live"):
    return "https://127.0.0.1:%d%s" % (site.console_port, path)


def calls(site, identity):
    status, text = https(site, "/api/calls", identity)
    assert status == 200, text
    return json.loads(text)["calls"]


def archive_path(site, tender="TC"):
    return os.path.join(site.tmp, "controller-state", "archive", tender + ".evarc")


def archived(site, sql, *args, tender="TC"):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % archive_path(site, tender), uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def call_events(site):
    return [(k, json.loads(b)) for k, b in archived(
        site, "SELECT kind, body FROM events WHERE kind LIKE 'call.%' ORDER BY leaf")]


def call_audio(b):
    return b.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.evalroomLive.callAudio().then(done, () => done(null));")


def witness_page(site):
    b = browser.Browser(site.prov, site.witness, flags=browser.MICROPHONE)
    b.get(url(site))
    assert wait_for(lambda: b.js("return !document.getElementById('calls').hidden"), 15), \
        b.text()
    return b


def ring_and_answer(site, a, t, b):
    """The expert presses H; the witness's page shows the call ringing and answers it;
    audio flows both ways. Returns the call's id."""
    room, seat = a["room"], a["seat"]
    t.keys("h")
    assert wait_for(lambda: [k for k in calls(site, site.witness)
                             if (k["room"], k["seat"], k["state"]) == (room, seat, "ringing")],
                    10), calls(site, site.witness)
    item = "#call-list li[data-room='%s'][data-seat='%s']" % (room, seat)
    assert wait_for(lambda: b.js("const li = document.querySelector(\"%s\");"
                                 "return li ? li.dataset.state : null;" % item) == "ringing",
                    10), b.text()
    b.js("document.querySelector(\"%s button.answer\").click()" % item)
    assert wait_for(lambda: [k for k in calls(site, site.witness)
                             if (k["seat"], k["state"]) == (seat, "up")], 30), \
        (calls(site, site.witness), b.driver.get_log("browser"),
         site.daemons["agent-" + room].log()[-3000:])
    up = [k for k in calls(site, site.witness) if k["seat"] == seat][0]
    assert up["rang_by"] == "seat" and up["answered_by"] == site.witness
    # seat -> witness: the browser receives the seat microphone's Opus, packets rising
    assert wait_for(lambda: (call_audio(b) or {}).get("packetsIn", 0) > 20, 20), call_audio(b)
    first = call_audio(b)
    time.sleep(2)
    later = call_audio(b)
    print("call %s: browser audio in %s -> %s" % (up["call"], first, later))
    assert later["packetsIn"] > first["packetsIn"] + 50 and later["codec"] == "audio/opus"
    assert later["packetsOut"] > first["packetsOut"] + 50
    # witness -> seat: the speaker's file grows with decoded audio, not silence
    spk = speaker(site, room)
    assert wait_for(lambda: os.path.exists(spk) and os.path.getsize(spk) > 48000, 15)
    size = os.path.getsize(spk)
    time.sleep(1)
    assert os.path.getsize(spk) > size + 20000
    # Chromium's fake microphone beeps once a second: the last 2 s hold a beep
    with open(spk, "rb") as f:
        f.seek(-min(os.path.getsize(spk), 48000 * 2 * 2 * 2), os.SEEK_END)
        tail = f.read()
    assert len(set(tail)) > 64, "the seat's speaker receives silence"
    return up["call"]


def test_help_key_rings_witness_answers_audio_both_ways_recorded(day):
    site, a, t = day
    room, seat = a["room"], a["seat"]
    b = witness_page(site)
    try:
        # 1: the witness hangs up
        first = ring_and_answer(site, a, t, b)
        time.sleep(2)  # two more 1 s segments each way
        b.js("window.evalroomLive.hangUp()")
        assert wait_for(lambda: calls(site, site.witness) == [], 10)
        # 2: the expert hangs up with the help key
        second = ring_and_answer(site, a, t, b)
        time.sleep(2)
        t.keys("h")
        assert wait_for(lambda: calls(site, site.witness) == [], 10), calls(site, site.witness)
        assert wait_for(lambda: b.js("return window.evalroomLive.call.pc === null"), 5)
        # 3 and 4: the agent stops (SIGTERM) and crashes (SIGKILL) during a call: the call
        # is over, and what it recorded reaches the archive once the agent is back (the
        # crash's open segments recovered at its start)
        agent = site.daemons["agent-" + room]
        ends = []
        for sig in (signal.SIGTERM, signal.SIGKILL):
            ends.append(ring_and_answer(site, a, t, b))
            time.sleep(2)
            agent.kill(sig)
            agent.start()
            assert agent.wait_log("connected to the broker", 20), agent.log()
            assert wait_for(lambda: calls(site, site.witness) == [], 15), \
                calls(site, site.witness)
        assert "call: recovering partial segment" in agent.log(this_run=True), agent.log()
    finally:
        b.close()
    assert len({first, second, *ends}) == 4
    # The events of the calls are in the archive of the expert's tender, in order.
    assert wait_for(lambda: len(call_events(site)) >= 12, 10), call_events(site)
    got = [(k, e["call"], e["by"]) for k, e in call_events(site)]
    assert got == [("call.ring", first, "seat"), ("call.answer", first, site.witness),
                   ("call.hangup", first, site.witness),
                   ("call.ring", second, "seat"), ("call.answer", second, site.witness),
                   ("call.hangup", second, "seat"),
                   ("call.ring", ends[0], "seat"), ("call.answer", ends[0], site.witness),
                   ("call.hangup", ends[0], "agent"),
                   ("call.ring", ends[1], "seat"), ("call.answer", ends[1], site.witness),
                   ("call.hangup", ends[1], "agent")], got
    reasons = [e["reason"] for k, e in call_events(site) if k == "call.hangup"]
    assert reasons[2] == "the room's agent stopped", reasons
    # the crash: its last will (offline) or its new start, whichever the controller saw first
    assert reasons[3] in ("the room's agent stopped", "the room's agent restarted"), reasons
    for k, e in call_events(site):
        assert (e["room"], e["seat"], e["tender"]) == (room, seat, "TC"), e
    # Answering and hanging up are in the operator audit under the witness's name.
    assert (site.witness, "call.answer", "ok") in audit_rows(site, "call.answer")
    assert (site.witness, "call.hangup", "ok") in audit_rows(site, "call.hangup")
    # Both directions' segments are shipped into the tender's archive.
    streams = ("call-%s-seat" % seat, "call-%s-witness" % seat)

    def recorded():
        return dict(archived(site, "SELECT stream, count(*) FROM segments WHERE stream IN "
                             "(?, ?) GROUP BY stream", *streams))
    assert wait_for(lambda: all(recorded().get(s, 0) >= 8 for s in streams), 30), recorded()
    print("call segments in the archive: %s" % recorded())


def test_desk_may_not_answer(day):
    site, a, t = day
    room, seat = a["room"], a["seat"]
    status, text = https(site, "/api/calls", DESK)
    assert status == 403 and "may not run" in text, text
    origin = {"Origin": "https://127.0.0.1:%d" % site.console_port,
              "Content-Type": "application/sdp"}
    status, text = https(site, "/live/%s/call-%s/whep" % (room, seat), DESK, method="POST",
                         body="v=0\r\n", headers=origin)
    assert status == 403, text
    assert json.loads(text)["error"]["message"] == 'desk-entrance may not run "call.answer"'

    assert (DESK, "call.answer", "denied") in audit_rows(site, "call.answer")
    hangup = {"Origin": "https://127.0.0.1:%d" % site.console_port,
              "Content-Type": "application/json"}
    body = json.dumps({"room": room, "seat": seat})
    status, text = https(site, "/api/call/hangup", DESK, method="POST", body=body,
                         headers=hangup)
    assert status == 403, text
    # A witness hanging up a call that is not there is told so.
    status, text = https(site, "/api/call/hangup", site.witness, method="POST", body=body,
                         headers=hangup)
    assert status == 404 and json.loads(text)["error"]["message"] == \
        "no call of seat %s in room %s" % (seat, room), text
    # A seat nobody is checked in at cannot be called (and the answer says nothing more).
    other = "S2" if seat == "S1" else "S1"
    status, text = https(site, "/live/%s/call-%s/whep" % (room, other), site.witness,
                         method="POST", body="v=0\r\n", headers=origin)
    assert status == 404, text


def test_witness_calls_a_seat_from_its_tile(day):
    site, a, t = day
    room, seat = a["room"], a["seat"]
    before = len(call_events(site))
    b = witness_page(site)
    try:
        button = "button.call[data-seat='%s']" % seat
        assert wait_for(lambda: b.js("return !!document.querySelector(\"%s\")" % button), 20), \
            b.text()
        b.js("document.querySelector(\"%s\").click()" % button)
        assert wait_for(lambda: [k for k in calls(site, site.witness)
                                 if (k["seat"], k["state"]) == (seat, "up")], 30), \
            calls(site, site.witness)
        up = calls(site, site.witness)[0]
        assert up["rang_by"] == site.witness and up["answered_by"] == site.witness
        assert wait_for(lambda: (call_audio(b) or {}).get("packetsIn", 0) > 50, 20)
        item = "#call-list li[data-seat='%s'] button.hangup" % seat
        assert wait_for(lambda: b.js("return !!document.querySelector(\"%s\")" % item), 5)
        b.js("document.querySelector(\"%s\").click()" % item)
        assert wait_for(lambda: calls(site, site.witness) == [], 10)
    finally:
        b.close()
    assert wait_for(lambda: len(call_events(site)) >= before + 3, 10)
    got = [(k, e["call"], e["by"]) for k, e in call_events(site)][before:]
    assert got == [("call.ring", up["call"], site.witness),
                   ("call.answer", up["call"], site.witness),
                   ("call.hangup", up["call"], site.witness)], got


def test_witness_declines_a_ringing_call(day):
    site, a, t = day
    room, seat = a["room"], a["seat"]
    before = len(call_events(site))
    agent = site.daemons["agent-" + room]
    answered = agent.log().count("answering the witness")
    b = witness_page(site)
    try:
        t.keys("h")
        item = "#call-list li[data-room='%s'][data-seat='%s'][data-state='ringing']" % (room, seat)
        assert wait_for(lambda: b.js("return !!document.querySelector(\"%s button.hangup\")"
                                     % item), 10), b.text()
        b.js("document.querySelector(\"%s button.hangup\").click()" % item)
        assert wait_for(lambda: calls(site, site.witness) == [], 10)
    finally:
        b.close()
    assert wait_for(lambda: len(call_events(site)) >= before + 2, 10)
    got = [(k, e["by"]) for k, e in call_events(site)][before:]
    assert got == [("call.ring", "seat"), ("call.hangup", site.witness)], got
    # nothing was connected: the agent was never asked
    assert agent.log().count("answering the witness") == answered


def test_the_sealed_archive_holds_the_calls(day, bin_dir, tmp_path):
    site, a, t = day
    seat = a["seat"]
    streams = ("call-%s-seat" % seat, "call-%s-witness" % seat)

    def recorded():
        return dict(archived(site, "SELECT stream, count(*) FROM segments WHERE stream IN "
                             "(?, ?) GROUP BY stream", *streams))
    # The tender closes with the calls' recordings in; the sealed archive verifies.
    before = recorded()
    rc, out, err = site.ctl("tender", "close", "TC", "--wait", "20", timeout=60)
    assert rc == 0, (out, err)
    assert recorded() == before, (before, recorded())  # everything was in already
    tool = os.path.join(bin_dir, "evalroom-archive")
    r = subprocess.run([tool, "verify", archive_path(site), "--pubkey", site.prov.signing_pub],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    # The witness's direction plays: export it and ask GStreamer how long it lasts.
    segs = archived(site, "SELECT start_us, end_us FROM segments WHERE stream = ? "
                    "ORDER BY seq", streams[1])
    clip = tmp_path / "witness.mp4"
    r = subprocess.run([tool, "export", archive_path(site), "--stream", streams[1], "--from",
                        str(segs[0][0]), "--to", str(segs[-1][1]), "-o", str(clip)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    # ... and it holds the witness's voice (Chromium's fake microphone beeps), not silence.
    raw = tmp_path / "witness.raw"
    r = subprocess.run(["gst-launch-1.0", "-q", "filesrc", "location=%s" % clip, "!", "qtdemux",
                        "!", "opusdec", "!", "audioconvert", "!",
                        "audio/x-raw,format=S16LE,channels=1", "!", "filesink",
                        "location=%s" % raw], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    pcm = array.array("h", raw.read_bytes())
    loud = sum(1 for v in pcm if abs(v) > 1000)
    print("witness direction exported: %.1f s of audio, %d samples above 1000" %
          (len(pcm) / 48000, loud))
    assert len(pcm) > 48000 * 4 and loud > 4800


@pytest.mark.parametrize("settings, message", [
    ("[call]\nmicrophone=audiotestsr is-live=true\nspeaker=fakesink\n",
     '[call] microphone: GStreamer cannot parse it: no element "audiotestsr"'),
    ("[call]\nmicrophone=audiotestsrc\nspeaker=fakesink\nvolume=3\n",
     "[call] volume: unknown key (microphone, speaker, segment_seconds)"),
    ("[call]\nmicrophone=audiotestsrc\nspeaker=fakesink\nsegment_seconds=0\n",
     "[call] segment_seconds: a whole number of seconds, 1..600"),
    ("[call bad seat]\nspeaker=fakesink\n",
     "[call bad seat]: a seat id must match"),
])
def test_bad_call_settings_are_refused_at_start(bin_dir, tmp_path, settings, message):
    s = Site(bin_dir, tmp_path)
    try:
        conf = s.agent_config("E1", streams_config(["cam-E1"], audio=False) + settings)
        r = subprocess.run([os.path.join(bin_dir, "evalroom-agent"), "--config", conf],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and message in r.stderr, (r.returncode, r.stderr)
    finally:
        s.close()
