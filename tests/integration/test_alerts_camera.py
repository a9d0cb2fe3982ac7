"""Issue 26 through the real agent and controller: RTSP cameras that misbehave (a
refused password, a wrong path, a silent camera, a reboot) raise stream_lost with their
reason and resolve when they record again; meanwhile the agent's door keeps deciding
(every admitted card presented while the cameras fail is granted); every gap lands in the
controller's archive with its reason; an H.265 camera's recording exports as a clip
that plays."""
import json
import os
import re
import sqlite3
import subprocess
import time

import pytest

import harness
from daemons import Site, wait_for
from rtsp_media import SILENT, Camera, clip, credentials, launch
from test_door import push_admission

ROOM = "E1"
PASSWORD = "Door-and-camera-7"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def alerts_of(site, stream):
    rc, out, err = site.ctl("alerts")
    assert rc == 0, err
    return [a for a in out["alerts"] if a["kind"] == "stream_lost" and a.get("room") == ROOM
            and a.get("stream") == stream]


def granted(site):
    obs = site.observers[0]
    return [m for m in (json.loads(p) for p in
                        obs.messages_on(harness.topic("room", ROOM, "event")))
            if m["kind"] == "door.event" and m.get("event") == "granted"]


def archive_rows(site, sql):
    adir = os.path.join(site.tmp, "controller-state", "archive")
    out = []
    for f in os.listdir(adir) if os.path.isdir(adir) else []:
        if f.endswith(".evarc"):
            db = sqlite3.connect("file:%s?mode=ro" % os.path.join(adir, f), uri=True)
            try:
                out += [(f, *r) for r in db.execute(sql).fetchall()]
            except sqlite3.OperationalError:
                pass
            finally:
                db.close()
    return out


def test_failing_cameras_alert_archive_and_the_door_keeps_deciding(site, bin_dir, build_dir,
                                                                    tmp_path):
    src = clip(os.path.join(build_dir, "test-media"), "h265", 320, 240, 10, 60)
    main = launch("h265", src, audio="aac")
    log = open(tmp_path / "cameras.log", "w")
    ports = {k: harness.free_port() for k in ("main", "pw", "path", "silent")}
    cams = {
        "main": Camera(ports["main"], {"/main": main}, user="operator", password=PASSWORD,
                       log=log),
        "pw": Camera(ports["pw"], {"/main": main}, user="operator", password="changed",
                     log=log),
        "path": Camera(ports["path"], {"/main": main}, log=log),
        "silent": Camera(ports["silent"], {"/main": SILENT}, log=log),
    }
    cred = credentials(tmp_path / "cam.cred", "operator", PASSWORD)
    expect = {"cam-E1": "camera_lost", "cam-E1-pw": "camera_unauthorized",
              "cam-E1-path": "camera_not_found", "cam-E1-silent": "camera_silent"}
    urls = {"cam-E1": f"rtsp://127.0.0.1:{ports['main']}/main",
            "cam-E1-pw": f"rtsp://127.0.0.1:{ports['pw']}/main",
            "cam-E1-path": f"rtsp://127.0.0.1:{ports['path']}/nope",
            "cam-E1-silent": f"rtsp://127.0.0.1:{ports['silent']}/main"}
    streams = "[recorder]\nquota_bytes=0\nstate_interval_ms=2000\n\n"
    for name, url in urls.items():
        streams += (f"[stream {name}]\nurl={url}\ncredentials={cred}\nsegment_seconds=2\n"
                    "lost_timeout_ms=2000\n\n")
    try:
        site.start_controller()
        site.start_agent(ROOM, door=True, extra=streams)
        now = int(time.time() * 1e6)
        # Six people's cards: a door uses an admission up on its first entry.
        push_admission(site, ROOM, [{"credential": f"w26:1:{42 + i}", "person": f"EXP-{9 + i:03d}",
                                     "valid_from": now - 10**6,
                                     "valid_until": now + 600 * 10**6} for i in range(6)])
        for stream in ("cam-E1-pw", "cam-E1-path", "cam-E1-silent"):
            a = wait_for(lambda: alerts_of(site, stream), 20, 0.2)
            assert a, f"no stream_lost for {stream}"
            assert expect[stream] in a[0]["detail"], a
            assert a[0]["extra"].pop("text") == {
                "id": "stream_lost_reason", "args": [stream, ROOM, expect[stream]]}, a
            assert a[0]["extra"] == {"reason": expect[stream]}
        assert wait_for(lambda: archive_rows(site, "SELECT stream FROM segments"), 20), \
            "cam-E1 recorded nothing"

        cams["main"].stop()  # the camera reboots
        door = site.door(ROOM)
        for i in range(6):  # a card every 0.7 s while the cameras fail and come back
            before = len(granted(site))
            door.card(1, 42 + i)
            assert wait_for(lambda: len(granted(site)) > before, 3), f"card {i} undecided"
            if i == 3:
                cams["main"].start()
            time.sleep(0.7)
        a = wait_for(lambda: alerts_of(site, "cam-E1"), 20, 0.2)
        assert a and "camera_lost" in a[0]["detail"], a

        # The other cameras are put right.
        for k in ("pw", "path", "silent"):
            cams[k].stop()
        cams["pw"] = Camera(ports["pw"], {"/main": main}, user="operator", password=PASSWORD,
                            log=log)
        # (without audio: evalroom-archive export cannot yet mux a late audio track)
        cams["path"] = Camera(ports["path"], {"/nope": launch("h265", src)}, log=log)
        cams["silent"] = Camera(ports["silent"], {"/main": main}, log=log)
        for stream in expect:  # (the path camera records 3 segments for the export below)
            resolved = wait_for(lambda: [x for x in alerts_of(site, stream)
                                         if x["state"] == "resolved"], 40, 0.3)
            assert resolved and resolved[0]["resolved_by"] == "auto: stream recording again"

        # Every gap reached the archive with its reason.
        def archived_gaps():
            got = {}
            for _, stream, reason in archive_rows(site, "SELECT stream, reason FROM gaps"):
                got.setdefault(stream.split("/")[-1], set()).add(reason)
            return got if all(expect[s] in got.get(s, ()) for s in expect) else None
        gaps = wait_for(archived_gaps, 30, 0.3)
        assert gaps, archive_rows(site, "SELECT stream, reason FROM gaps")
        assert wait_for(lambda: len([r for r in archive_rows(site, "SELECT stream FROM "
                                                             "segments")
                                     if r[1].endswith("cam-E1-path")]) >= 3, 30, 0.3)
    finally:
        for cam in cams.values():
            cam.stop()
        log.close()

    # An H.265 camera's recording exports as a clip that plays.
    segs = [r for r in archive_rows(site, "SELECT stream, start_us, end_us FROM segments "
                                          "ORDER BY seq") if r[1].endswith("cam-E1-path")]
    name, stream = segs[0][0], segs[0][1]
    evarc = os.path.join(site.tmp, "controller-state", "archive", name)
    out = tmp_path / "cam-E1-path.mp4"
    r = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), "export", evarc, "--stream",
                        stream, "--from", str(segs[0][2]), "--to", str(segs[2][3]), "-o",
                        str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    d = subprocess.run(["gst-discoverer-1.0", str(out)], capture_output=True, text=True,
                       timeout=60).stdout
    assert re.search(r"video #\d+: H\.265", d), d
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", d).groups()
    assert int(h) * 3600 + int(m) * 60 + float(s) > 2, d

    # The password went nowhere: not into the agent's or the controller's logs.
    logs = [os.path.join(dp, f) for dp, _, fs in os.walk(site.tmp) for f in fs
            if f.endswith(".log")]
    assert logs
    for path in logs:
        with open(path, errors="replace") as f:
            assert PASSWORD not in f.read(), path
