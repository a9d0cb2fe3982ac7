"""Issue 21 item 6, the evidence package: the real agent records room E1's camera and both
seat cameras, each with its audio, into one tender's archive through the real broker and
controller (which signs its checkpoints with Ed25519 and SM2 and has the final one
timestamped by a local RFC 3161 TSA); `evalroom-archive package` writes one minute of the
room with its seats; `verify-package` passes it and names an altered clip, proof or manifest
line; the README's sha256sum/openssl lines pass it too; and index.html, opened from the folder
in headless Chromium, plays every stream with the timeline. The screenshot is kept in
BUILD/test-artifacts/evidence-package.png."""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

import browser
import harness
import tsa as local_tsa
from daemons import TEST_AUDIO, TEST_VIDEO, Site, wait_for
from test_archive_e2e import rows

DAY = time.strftime("%Y-%m-%d")  # check-in is for the session of the day
ROOM = "E1"
TENDER = "TP"
COMMITTEE = ("person_id,name,id_number,role\n"
             "xp-wang,Wang Li,11010519491231002X,expert\n"
             "xp-zhou,Zhou Min,110105194912310038,expert\n"
             "xp-sun,Sun Yu,310101198001010018,expert\n"
             "xp-lin,Lin Hao,310101198001010026,expert\n")
STREAMS = ["cam-E1", "cam-E1-S1", "cam-E1-S2"]
SPAN_US = 60_000_000


def run(cmd, cwd=None, timeout=180, env=None):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


def agent_streams():
    out = ["[recorder]", "quota_bytes=0", "state_interval_ms=2000", ""]
    for name in STREAMS:
        seat = name.split("-")[2] if name.count("-") == 2 else None
        out += ["[stream %s]" % name, "source=" + TEST_VIDEO, "audio=" + TEST_AUDIO,
                "place=" + ("seat" if seat else "room"), "segment_seconds=2",
                "lost_timeout_ms=3000"]
        if seat:
            out.append("seat=" + seat)
        out.append("")
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def recorded(bin_dir, tmp_path_factory):
    """A sealed, timestamped archive of TENDER holding at least 62 s of room E1's camera
    and both its seats' cameras, with audio: {"arc", "pub", "pub2", "tsa_ca", "from"}."""
    tmp = tmp_path_factory.mktemp("package")
    tsa = local_tsa.TSA(str(tmp / "tsa"))
    site = Site(bin_dir, tmp / "site")
    try:
        key2, pub2 = tmp / "sm2-signing.key", tmp / "sm2-signing.pub"
        assert run(["openssl", "genpkey", "-algorithm", "SM2", "-out", key2]).returncode == 0
        assert run(["openssl", "pkey", "-in", key2, "-pubout", "-out", pub2]).returncode == 0
        site.start_controller(extra="second_signing_key=%s\ntsa_url=%s\n" % (key2, tsa.url))
        committee = tmp / "committee.csv"
        committee.write_text(COMMITTEE)
        for cmd in (("site", "import", harness.EXAMPLE_SITE),
                    ("session", "create", "--date", DAY),
                    ("tender", "add", "--session", DAY, "--id", TENDER, "--name", "Bridge"),
                    ("committee", "import", "--tender", TENDER, str(committee))):
            rc, out, err = site.ctl(*cmd)
            assert rc == 0, (cmd, out, err)
        rc, out, err = site.ctl("draw", "commit", "--session", DAY)
        assert rc == 0, err
        assert site.witness_run(DAY, "heron 2231", out["commitment"])[0] == 0
        # Four experts in two rooms of two seats: room E1 and both its seats are the tender's.
        assert sorted(a["seat"] for a in site.seat_map(DAY) if a["room"] == ROOM) == \
            ["S1", "S2"]
        # Recordings reach the tender's archive from its people's check-in on (the seat map
        # is sealed until then): E1's experts check in before the agent records.
        ids = {line.split(",")[0]: line.split(",")[2] for line in COMMITTEE.splitlines()[1:]}
        for a in site.seat_map(DAY):
            if a["room"] == ROOM:
                rc, out, err = site.ctl("desk", "checkin", "--person", a["person"],
                                        "--id-number", ids[a["person"]], "--screening",
                                        "passed")
                assert rc == 0, (out, err)
        arc = os.path.join(site.tmp, "controller-state", "archive", TENDER + ".evarc")
        site.start_agent(ROOM, extra=agent_streams())

        def spans():
            if not os.path.exists(arc):
                return {}
            return {s: (a, b) for s, a, b in rows(
                arc, "SELECT stream, min(start_us), max(end_us) FROM segments GROUP BY stream")}

        assert wait_for(lambda: len(spans()) == 3, timeout=30), spans()
        start = max(a for a, _ in spans().values())
        # A witness note with evidence in the middle of the minute: a timeline event.
        assert wait_for(lambda: min(b for _, b in spans().values()) > start + 30e6,
                        timeout=90)
        now = int(time.time() * 1e6)
        rc, out, err = site.ctl("witness", "note", "--tender", TENDER, "--category",
                                "breach", "--room", ROOM, "--seat", "S1", "--stream",
                                "cam-E1-S1", "--text", "looked at a phone under the desk",
                                "--evidence-stream", "cam-E1-S1", "--evidence-from",
                                str(now - 5_000_000), "--evidence-to", str(now),
                                identity=site.witness)
        assert rc == 0, (out, err)
        assert wait_for(lambda: min(b for _, b in spans().values()) > start + SPAN_US + 2e6,
                        timeout=120), spans()
        rc, out, err = site.ctl("tender", "close", TENDER, "--wait", "20", timeout=90)
        assert rc == 0, (out, err)
        assert wait_for(lambda: rows(arc, "SELECT count(*) FROM timestamps")[0][0] >= 1,
                        timeout=30)
        copy = tmp / (TENDER + ".evarc")
        shutil.copyfile(arc, copy)
    finally:
        site.close()
        tsa.close()
    yield {"arc": copy, "pub": site.prov.signing_pub, "pub2": pub2, "tsa_ca": tsa.ca,
           "from": start, "dir": tmp, "prov": site.prov}


@pytest.fixture(scope="module")
def package(recorded, bin_dir):
    tool = os.path.join(bin_dir, "evalroom-archive")
    out = recorded["dir"] / "pkg"
    r = run([tool, "package", recorded["arc"], "--from", recorded["from"], "--to",
             recorded["from"] + SPAN_US, "--pubkey", recorded["pub"], "-o", out])
    assert r.returncode == 0, r.stdout + r.stderr
    return {**recorded, "pkg": out, "stdout": r.stdout}


def tool_run(bin_dir, *args):
    return run([os.path.join(bin_dir, "evalroom-archive")] + list(args))


def verify(bin_dir, p, d):
    return tool_run(bin_dir, "verify-package", d, "--pubkey", p["pub"], "--pubkey2",
                    p["pub2"], "--tsa-ca", p["tsa_ca"])


def test_package_holds_a_minute_of_the_room_and_verifies(package, bin_dir):
    d = package["pkg"]
    pkg = json.loads((d / "package.json").read_text())
    assert [s["stream"] for s in pkg["streams"]] == STREAMS
    for s in pkg["streams"]:
        # one minute, whole 2 s segments
        assert s["first_us"] <= package["from"] + 2_000_000
        assert s["last_us"] >= package["from"] + SPAN_US - 2_000_000
        assert len(s["segments"]) >= 29
        d_out = run(["gst-discoverer-1.0", d / s["clip"]]).stdout
        assert "H.264" in d_out and "Opus" in d_out, d_out  # video and its audio, remuxed
    assert any(c.get("signature2") for c in pkg["checkpoints"])
    assert pkg["checkpoints"][-1].get("timestamp")
    timeline = json.loads((d / "timeline.json").read_text())
    kinds = {t.get("kind") for t in timeline if t["type"] == "event"}
    assert "witness.note" in kinds and {t["stream"] for t in timeline
                                        if t["type"] == "span"} == set(STREAMS)
    assert "witness.note" in (d / "timeline.txt").read_text()
    r = verify(bin_dir, package, d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"OK .*: \d+ files match the manifest; \d+ segments of 3 streams proven",
                     r.stdout), r.stdout
    assert "RFC 3161 timestamps valid, checked up to --tsa-ca" in r.stdout, r.stdout
    # what no signature covers is named, here and in the README
    assert "not covered by any signature, only by the manifest" in r.stdout, r.stdout
    readme = (d / "README.txt").read_text()
    assert "Covered by NO signature, only by manifest.sha256: the clips" in readme
    # every proof is also one the existing verify-proof accepts
    seg = pkg["streams"][1]["segments"][3]
    r = tool_run(bin_dir, "verify-proof", d / seg["proof"], "--pubkey", package["pub"],
                 "--segment-file", d / seg["file"])
    assert r.returncode == 0 and r.stdout.startswith("OK"), r.stdout + r.stderr


def altered_copy(package, name):
    d = package["dir"] / name
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(package["pkg"], d)
    return d


def test_verify_package_names_an_altered_clip_proof_or_manifest(package, bin_dir):
    pkg = json.loads((package["pkg"] / "package.json").read_text())
    clip = pkg["streams"][0]["clip"]
    d = altered_copy(package, "clip")
    b = bytearray((d / clip).read_bytes())
    b[len(b) // 2] ^= 1
    (d / clip).write_bytes(bytes(b))
    r = verify(bin_dir, package, d)
    assert r.returncode == 1, r.stdout
    assert "FAILED %s: its SHA-256 differs from the manifest" % clip in r.stdout, r.stdout

    # A proof altered and the manifest made to match: the proof itself fails.
    seg = pkg["streams"][2]["segments"][5]
    d = altered_copy(package, "proof")
    p = json.loads((d / seg["proof"]).read_text())
    h = p["path"][0]
    p["path"][0] = ("0" if h[0] != "0" else "1") + h[1:]
    (d / seg["proof"]).write_text(json.dumps(p))
    sums = run(["sha256sum", seg["proof"]], cwd=d).stdout
    m = (d / "manifest.sha256").read_text().splitlines()
    m = [sums.strip() if line.endswith("  " + seg["proof"]) else line for line in m]
    (d / "manifest.sha256").write_text("\n".join(m) + "\n")
    r = verify(bin_dir, package, d)
    assert r.returncode == 1, r.stdout
    assert "FAILED %s: the audit path does not lead from the segment's leaf to the root" \
        % seg["proof"] in r.stdout, r.stdout

    # The manifest altered: a hash changed names that file; a file added is named.
    d = altered_copy(package, "manifest")
    m = (d / "manifest.sha256").read_text().splitlines()
    m = [("0" * 64 + line[64:]) if line.endswith("  timeline.txt") else line for line in m]
    (d / "manifest.sha256").write_text("\n".join(m) + "\n")
    (d / "extra.txt").write_text("added later\n")
    r = verify(bin_dir, package, d)
    assert r.returncode == 1, r.stdout
    assert "FAILED timeline.txt: its SHA-256 differs from the manifest" in r.stdout, r.stdout
    assert "FAILED extra.txt: not in the manifest" in r.stdout, r.stdout

    # A segment altered, and the manifest rewritten to match: its proof names it.
    seg = pkg["streams"][0]["segments"][0]
    d = altered_copy(package, "segment")
    b = bytearray((d / seg["file"]).read_bytes())
    b[1000] ^= 0x10
    (d / seg["file"]).write_bytes(bytes(b))
    subprocess.run("find . -type f ! -name manifest.sha256 | sed 's|^./||' | sort | "
                   "xargs sha256sum > manifest.sha256", shell=True, cwd=d, check=True)
    r = verify(bin_dir, package, d)
    assert r.returncode == 1 and "size or SHA-256 differs from the proven segment" in \
        r.stdout, r.stdout


def readme_commands(text):
    """The README's indented command lines (4 spaces), as one bash script."""
    return "\n".join(line[4:] for line in text.splitlines() if line.startswith("    "))


def test_readme_lines_check_it_with_sha256sum_and_openssl(package, bin_dir):
    d = package["pkg"]
    script = readme_commands((d / "README.txt").read_text())
    assert "sha256sum -c" in script and "openssl pkeyutl" in script and "openssl ts" in script
    # The reader says where the keys are: here the test's files.
    script = re.sub(r"^PUB=.*$", "PUB=%s" % package["pub"], script, flags=re.M)
    script = re.sub(r"^PUB2=.*$", "PUB2=%s" % package["pub2"], script, flags=re.M)
    script = re.sub(r"^TSA_CA=.*$", "TSA_CA=%s" % package["tsa_ca"], script, flags=re.M)
    # Every line runs; the shell walk of the audit paths (a process per hash: about a
    # second a segment on these loaded machines) on each stream's first, middle and last
    # segment; verify-package walks every one (above).
    pkg = json.loads((d / "package.json").read_text())
    loop = 'for f in proofs/*/*.path; do check "${f%.path}"; done'
    assert loop in script
    sample = [s["segments"][i]["proof"][:-len(".json")] for s in pkg["streams"]
              for i in (0, len(s["segments"]) // 2, -1)]
    script = script.replace(loop, "for f in %s; do check $f; done" % " ".join(sample))
    r = run(["bash", "-c", script], cwd=d, timeout=600)
    out = r.stdout + r.stderr
    assert "FAILED" not in out, out
    assert "OK: every file matches manifest.sha256" in out
    n_cp = len(pkg["checkpoints"])
    assert out.count(": Ed25519 signature") == n_cp, out
    assert out.count(": SM2 signature") == n_cp, out
    assert out.count(" follows ") == n_cp - 1, out
    assert ": RFC 3161 timestamp" in out and "Time stamp:" in out, out
    assert out.count("the segment is leaf") == len(sample), out

    # the same lines on an altered segment say FAILED
    seg = pkg["streams"][1]["segments"][2]
    bad = altered_copy(package, "readme-bad")
    b = bytearray((bad / seg["file"]).read_bytes())
    b[500] ^= 1
    (bad / seg["file"]).write_bytes(bytes(b))
    one = script.replace("for f in %s; do" % " ".join(sample),
                         "for f in %s; do" % seg["proof"][:-len(".json")])
    r = run(["bash", "-c", one], cwd=bad, timeout=300)
    assert "FAILED %s" % seg["proof"][:-len(".json")] in r.stdout, r.stdout
    assert "%s: FAILED" % seg["file"] in r.stdout + r.stderr


why = browser.available()


@pytest.mark.skipif(why is not None, reason=why or "")
def test_index_html_plays_every_stream_with_the_timeline(package, build_dir, tmp_path):
    d = package["pkg"]
    b = browser.Browser(package["prov"], None)  # a file:// page needs no certificate
    try:
        b.get("file://%s/index.html" % d)
        assert wait_for(lambda: b.js("return document.querySelectorAll('video').length") == 3,
                        timeout=10)
        assert wait_for(lambda: b.js("return Array.from(document.querySelectorAll('video'))"
                                     ".every(v => v.readyState >= 2)"), timeout=20), \
            b.console_errors()
        rows_n = b.js("return document.querySelectorAll('#timeline tr').length")
        assert rows_n >= 4, rows_n
        assert "witness.note" in b.text()
        b.driver.find_element("id", "play").click()
        times = lambda: b.js("return Array.from(document.querySelectorAll('video'))"
                             ".map(v => v.currentTime)")
        t0 = times()
        time.sleep(3)
        assert wait_for(lambda: all(b > a + 1.0 for a, b in zip(t0, times())), timeout=10), \
            (t0, times(), b.console_errors())
        playing = b.js("return Array.from(document.querySelectorAll('video'))"
                       ".map(v => !v.paused && !v.error)")
        assert playing == [True, True, True], playing
        # in sync: the three clips of the same minute within 0.6 s of each other
        streams = json.loads((d / "package.json").read_text())["streams"]
        first = [s["first_us"] for s in streams]
        at = [t + (f - first[0]) / 1e6 for t, f in zip(times(), first)]
        assert max(at) - min(at) < 0.6, at
        # paused, a click on the witness note's line moves every stream to it
        note_us = next(t["time_us"] for t in json.loads((d / "timeline.json").read_text())
                       if t.get("kind") == "witness.note")
        b.driver.find_element("id", "pause").click()
        b.js("Array.from(document.querySelectorAll('#timeline tr')).find("
             "r => r.textContent.includes('witness.note')).click()")
        want = [(note_us - f) / 1e6 for f in first]
        assert wait_for(lambda: all(abs(t - w) < 0.3 for t, w in zip(times(), want)),
                        timeout=10), (times(), want)
        assert "witness.note" in b.js("return document.querySelector('#timeline tr.now')"
                                      ".textContent")
        b.driver.find_element("id", "play").click()
        time.sleep(1.5)
        art = os.path.join(build_dir, "test-artifacts")
        os.makedirs(art, exist_ok=True)
        b.driver.save_screenshot(os.path.join(art, "evidence-package.png"))
    finally:
        b.close()


def test_package_refuses_bad_input_and_writes_nothing(recorded, bin_dir, tmp_path):
    arc = recorded["arc"]
    r = tool_run(bin_dir, "package", arc, "--from", "2020-01-01T00:00:00Z", "--to",
                 "2020-01-01T00:01:00Z", "-o", tmp_path / "none")
    assert r.returncode == 4 and "no stream was recorded in that span" in r.stderr
    assert not (tmp_path / "none").exists()
    r = tool_run(bin_dir, "package", arc, "--from", recorded["from"], "--to",
                 recorded["from"] + 10_000_000, "--streams", "cam-nowhere", "-o",
                 tmp_path / "none")
    assert r.returncode == 4 and "stream cam-nowhere has no segments" in r.stderr, r.stderr
    assert not (tmp_path / "none").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    r = tool_run(bin_dir, "package", arc, "--from", recorded["from"], "--to",
                 recorded["from"] + 10_000_000, "-o", tmp_path / "full")
    assert r.returncode == 2 and "not empty" in r.stderr
    assert os.listdir(tmp_path / "full") == ["keep.txt"]
    r = tool_run(bin_dir, "package", arc, "--from", "yesterday", "--to", "today", "-o",
                 tmp_path / "x")
    assert r.returncode == 2 and "--from/--to" in r.stderr
    # one stream by name, ten seconds
    r = tool_run(bin_dir, "package", arc, "--from", recorded["from"], "--to",
                 recorded["from"] + 10_000_000, "--streams", "cam-E1-S2", "-o",
                 tmp_path / "one")
    assert r.returncode == 0, r.stdout + r.stderr
    pkg = json.loads((tmp_path / "one" / "package.json").read_text())
    assert [s["stream"] for s in pkg["streams"]] == ["cam-E1-S2"]
    r = tool_run(bin_dir, "verify-package", tmp_path / "one", "--pubkey", recorded["pub"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "keys/signing2.pub" in r.stdout  # the second key: the recorded one, said so
    r = tool_run(bin_dir, "verify-package", tmp_path / "one")
    assert r.returncode == 2 and "needs --pubkey" in r.stderr
    r = tool_run(bin_dir, "package", "--help")
    assert r.returncode == 0 and "index.html" in r.stdout and "manifest.sha256" in r.stdout


def test_h265_stream_is_packaged_as_recorded_and_the_page_says_browsers_do_not_play_it(
        bin_dir, tmp_path):
    """The usual 4 MP camera main stream is H.265: its clip is remuxed (not transcoded), the
    package says a browser will not play it, and the original segments are beside it."""
    if run(["gst-inspect-1.0", "x265enc"]).returncode != 0:
        pytest.skip("x265enc (gstreamer1.0-plugins-bad) missing")
    pipeline = (
        "splitmuxsink name=s muxer=mpegtsmux max-size-time=2000000000 "
        "location=%s/hevc%%03d.ts videotestsrc is-live=true num-buffers=40 pattern=ball ! "
        "video/x-raw,format=I420,width=320,height=240,framerate=10/1 ! x265enc "
        "speed-preset=ultrafast key-int-max=10 ! h265parse ! s. audiotestsrc is-live=true "
        "num-buffers=188 ! audio/x-raw,rate=48000,channels=1 ! opusenc ! s.audio_0" % tmp_path)
    assert run(["gst-launch-1.0", "-q"] + pipeline.split()).returncode == 0
    segs = sorted(str(p) for p in tmp_path.glob("hevc*.ts"))
    key, pub, arc = tmp_path / "k.key", tmp_path / "k.pub", tmp_path / "h.evarc"
    fixture = os.path.join(bin_dir, "evalroom-archive-fixture")
    assert run([fixture, "keygen", key, pub]).returncode == 0
    r = run([fixture, "build", arc, key, "--seal", "--stream", "cam-4mp", "--start",
             "2026-11-25T09:00:00Z", "--segment-ms", "2000"] + segs)
    assert r.returncode == 0, r.stderr
    r = tool_run(bin_dir, "package", arc, "--from", "2026-11-25T09:00:00Z", "--to",
                 "2026-11-25T09:01:00Z", "-o", tmp_path / "pkg")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "cam-4mp is H.265: browsers such as Chromium do not play it" in r.stdout
    pkg = json.loads((tmp_path / "pkg" / "package.json").read_text())
    (s,) = pkg["streams"]
    assert s["codec"] == "video/x-h265" and s["browser_plays"] is False
    d_out = run(["gst-discoverer-1.0", tmp_path / "pkg" / s["clip"]]).stdout
    assert "H.265" in d_out and "Opus" in d_out, d_out
    assert len(list((tmp_path / "pkg" / "segments" / "cam-4mp").glob("*.ts"))) == len(segs)
    assert "Chromium does not decode it" in (tmp_path / "pkg" / "index.html").read_text()
    r = tool_run(bin_dir, "verify-package", tmp_path / "pkg", "--pubkey", pub)
    assert r.returncode == 0, r.stdout + r.stderr
