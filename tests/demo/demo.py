#!/usr/bin/env python3
"""./dev demo: a whole evaluation day on this machine, told as it happens.

Provisions a demo site in a temporary directory, starts the real broker (TLS, client
certificates, ACL), the controller and three simulated rooms (simulated doors, test
cameras; room E1's is an RTSP camera behind a password), and runs the day through evalroomctl as the operator and the security desk
would. Everything it started is stopped at the end, also on Ctrl-C; --keep leaves the
site running for exploring with evalroomctl and the web console (README: "The web
console").
"""
import argparse
import csv
import datetime
import gettext
import json
import locale
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
from daemons import Site, streams_config, wait_for  # noqa: E402
from rtsp_media import Camera, credentials  # noqa: E402

T0 = time.monotonic()
# The day in the person's language (LANG): narration from the evalroom catalogue in the
# build tree; in Chinese also Chinese people, their committee lists saved by a
# spreadsheet in GB18030 (evalroomctl converts them).
_ = gettext.gettext


def N_(text):
    """Marks TEXT for translation where it is defined; _() translates it where used."""
    return text


TENDERS = [("T-ROAD", N_("Ring road, lot 3"), "committee-T-ROAD.csv", "utf-8"),
           ("T-SCHOOL", N_("School extension, phase 2"), "committee-T-SCHOOL.csv", "utf-8")]
TENDERS_ZH = [("T-ROAD", N_("Ring road, lot 3"), "committee-T-ROAD.zh_CN.csv", "gb18030"),
              ("T-SCHOOL", N_("School extension, phase 2"), "committee-T-SCHOOL.zh_CN.csv",
               "gb18030")]


def speak_the_language(build):
    """Translate the narration as the locale says; the Chinese day when it is Chinese."""
    global _, TENDERS
    try:
        locale.setlocale(locale.LC_ALL, "")
    except locale.Error:
        pass
    t = gettext.translation("evalroom", os.path.join(build, "share", "locale"),
                            fallback=True)
    _ = t.gettext
    if t.info().get("language", "").startswith("zh"):
        TENDERS = TENDERS_ZH


def pad(text, width):
    """TEXT padded to WIDTH terminal columns (a Chinese character takes two)."""
    w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - w)


def say(text):
    print("[%5.1fs] %s" % (time.monotonic() - T0, text), flush=True)


class DemoError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DemoCamera:
    """Room E1's IP camera: GStreamer's RTSP server with digest authentication, a main
    stream (H.264, 4:2:0, as browsers play it) and a substream for live view. It can
    hang (SIGSTOP)."""

    LIVE = ("( videotestsrc is-live=true pattern=ball ! "
            "video/x-raw,format=I420,width={w},height={h},framerate=10/1 ! "
            "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! "
            "video/x-h264,profile=constrained-baseline ! "
            "rtph264pay name=pay0 pt=96 config-interval=-1 )")

    def __init__(self, work):
        self.port = free_port()
        self.cam = Camera(self.port, {"/main": self.LIVE.format(w=320, h=240),
                                      "/sub": self.LIVE.format(w=160, h=120)},
                          user="demo", password="demo-camera-pw")
        self.proc = self.cam.p
        self.cred = credentials(os.path.join(work, "cam-E1.cred"), "demo", "demo-camera-pw")

    def stream_config(self):
        return ("url=rtsp://127.0.0.1:%d/main\nsubstream=rtsp://127.0.0.1:%d/sub\n"
                "credentials=%s\n" % (self.port, self.port, self.cred))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
        self.cam.stop()


class Day:
    def __init__(self, site, args):
        self.site = site
        self.args = args
        self.rooms = [r["id"] for r in site.prov.site["rooms"]]
        self.session = datetime.date.today().isoformat()
        self.people = []  # dicts from the committee files, with what the desk issued
        self.terminals = {}

    # -- helpers --
    def ctl(self, *argv, identity=None):
        rc, out, err = self.site.ctl(*argv, identity=identity)
        if rc != 0:
            raise DemoError("evalroomctl %s: %s" % (" ".join(argv), err.strip()))
        return out

    def events(self, room, kind=None):
        obs = self.site.observers[0]
        out = []
        for p in obs.messages_on(harness.topic("room", room, "event")):
            m = json.loads(p)
            if kind is None or m["kind"] == kind:
                out.append(m)
        return out

    def wait_event(self, room, kind, timeout=20, since=0, **match):
        def find():
            for m in self.events(room, kind):
                if m["ts"] > since and all(m.get(k) == v for k, v in match.items()):
                    return m
            return None
        m = wait_for(find, timeout, 0.1)
        if not m:
            raise DemoError("no %s %s in room %s within %d s" % (kind, match, room, timeout))
        return m

    def shipped(self):
        """(segments, bytes) the agents have shipped complete, per room."""
        obs = self.site.observers[0]
        n = b = 0
        for r in self.rooms:
            for meta, _payload in obs.chunks_on(harness.topic("room", r, "media")):
                if meta.get("last") == "true":
                    n += 1
                    b += int(meta["size"])
        return n, b

    # -- the day --
    def prepare(self):
        site_file = os.path.join(HERE, "site.json")
        out = self.ctl("site", "import", site_file)
        say(_("Operator imported the site: %d rooms, %d seats") % (out["rooms"], out["seats"]))
        self.ctl("session", "create", "--date", self.session)
        say(_("Operator created today's session %s") % self.session)
        for tid, name, csv_file, _enc in TENDERS:
            name = _(name)
            self.ctl("tender", "add", "--session", self.session, "--id", tid, "--name", name)
            out = self.ctl("committee", "import", "--tender", tid, os.path.join(HERE, csv_file))
            say(_("Tender %s (%s) registered; committee imported: %d experts, %d tenderer "
                "representative(s)") % (tid, name, out["experts"], out["tenderers"]))

    def draw(self):
        out = self.ctl("draw", "commit", "--session", self.session)
        self.commitment = out["commitment"]
        say(_("Operator committed the draw (algorithm %d). Commitment %s… archived in every "
              "tender archive with a signed checkpoint, and published retained on "
              "evalroom/v1/draw/%s/commitment") % (out["algorithm"], out["commitment"][:16],
                                                   self.session))
        witness = self.site.witness
        shown = self.ctl("draw", "show", "--session", self.session, identity=witness)
        say(_("Witness %s reads the published commitment %s… (state %s) and confirms it "
              "matches what the controller holds") % (witness, shown["commitment"][:16],
                                                      shown["state"]))
        entropy = _("witness Mr Gao, %s: 31 7 18 44 2") % self.session
        out = self.ctl("draw", "run", "--session", self.session, "--witness-entropy", entropy,
                       "--confirm-commitment", shown["commitment"][:16], identity=witness)
        counts = ", ".join("%s %d/%d" % (r["room"], r["occupied"], r["seats"])
                           for r in out["rooms"])
        say(_("Witness %s confirmed commitment %s… and entered entropy; %d people seated "
              "(occupied/seats per room: %s). Who sits where stays sealed in the controller "
              "until check-in.") % (out["witness"], out["confirmed"], out["seated"], counts))

    def staff_draw(self):
        """The staff draw (docs/staff.md): who is each tender's witness and desk officer,
        committed by the operator, run by the witness, the record in every archive."""
        out = self.ctl("staff", "commit", "--session", self.session)
        run = self.ctl("staff", "run", "--session", self.session, "--witness-entropy",
                       _("staff draw, %s: 5 12 9") % self.session, "--confirm-commitment",
                       out["commitment"][:16], identity=self.site.witness)
        posts = ", ".join("%s %s: %s" % (a["tender"], a["post"], a["person"])
                          for a in run["assignment"])
        say(_("Staff draw: operator committed %s…, witness %s ran it; %s (rotation rules: "
              "docs/staff.md)") % (out["commitment"][:16], run["witness"], posts))

    def record(self, seconds):
        say(_("Recording every room and seat for %d s") % seconds)
        self.recorded = (int(time.time() * 1e6), int((time.time() + seconds) * 1e6))
        end = time.monotonic() + seconds
        tty = sys.stdout.isatty()
        last = 0
        while time.monotonic() < end:
            n, b = self.shipped()
            left = end - time.monotonic()
            line = _("recording: %3d s left, %4d segments shipped, %6.1f MB") % (left, n,
                                                                               b / 1e6)
            if tty:
                sys.stdout.write("\r         " + line + "   ")
                sys.stdout.flush()
            elif time.monotonic() - last >= 10:
                print("         " + line, flush=True)
                last = time.monotonic()
            time.sleep(1)
        n, b = self.shipped()
        if tty:
            sys.stdout.write("\n")
        say(_("Recorded: %d segments (%.1f MB) shipped to the controller") % (n, b / 1e6))

    def lost_camera(self, cam):
        say(_("Room E1's camera hangs (its stream stops delivering pictures)"))
        hung = time.time() * 1e6
        cam.proc.send_signal(signal.SIGSTOP)
        m = self.wait_event("E1", "stream.state", since=hung, stream="cam-E1", state="lost")
        say(_("Agent E1 reports stream cam-E1 LOST (%s); the gap is recorded with its reason")
            % m.get("reason"))
        a = self.wait_alert("stream_lost", room="E1")
        say(_("ALERT stream_lost for cam-E1 (alert #%d)") % a["id"])
        cam.proc.send_signal(signal.SIGCONT)
        since = time.time() * 1e6
        wait_for(lambda: [e for e in self.events("E1", "stream.state")
                          if e["stream"] == "cam-E1" and e["state"] == "recording"
                          and e["ts"] > since], 30, 0.2)
        say(_("Camera back: stream cam-E1 recording again"))
        if wait_for(lambda: not [x for x in self.alerts() if x["kind"] == "stream_lost"], 20):
            say(_("Alert #%d resolved automatically when the camera came back") % a["id"])

    def held_open(self):
        self.ctl("door", "E2", "unlock")
        say(_("Operator unlocked door E2 for a cleaner"))
        door = self.site.door("E2")
        door.set("DOOR_SENSOR", 1)
        self.wait_event("E2", "door.event", event="opened")
        say(_("Door E2 opened ... and is left standing open"))
        self.wait_event("E2", "door.event", event="held_open_prealarm")
        say(_("Door E2 held open: pre-alarm"))
        self.wait_event("E2", "door.event", event="held_open_alarm")
        a = self.wait_alert("door_held", room="E2")
        say(_("Door E2 held open: ALARM raised to the operators"))
        self.ack(a, _("cleaner asked to close the door"))
        door.set("DOOR_SENSOR", 0)
        self.wait_event("E2", "door.event", event="closed")
        say(_("Door E2 closed and relocked"))

    def warning(self):
        """A behaviour warning: the door of a room opened from inside while everybody in
        it sits logged in (docs/warnings.md), with its evidence span."""
        room = self.people[0]["room"]
        door = self.site.door(room)
        door.set("DOOR_REX", 1)
        time.sleep(0.2)
        door.set("DOOR_REX", 0)
        a = self.wait_alert("warn_inside_exit", room=room)
        ev = a["extra"]["evidence"]
        say(_("WARNING %s: %s") % (a["kind"], a["detail"]))
        say(_("Evidence span: %s to %s, recordings %s, kept in the archives of %s")
            % (time.strftime("%H:%M:%S UTC", time.gmtime(ev["from_us"] / 1e6)),
               time.strftime("%H:%M:%S UTC", time.gmtime(ev["to_us"] / 1e6)),
               ", ".join(s["stream"] for s in ev["streams"]),
               ", ".join(sorted({p["tender"] for p in self.people if p["room"] == room}))))
        self.ack(a, _("reviewing the room camera"))

    def lockdown_drill(self):
        out = self.ctl("lockdown", "--all")
        say(_("Operator locked down all %d rooms (a drill)") % out["done"])
        out = self.ctl("lockdown", "--all", "--release")
        say(_("Lockdown released in %d rooms") % out["done"])

    def alerts(self, open_only=True):
        out = self.ctl("alerts", *(["--open"] if open_only else []))
        return out["alerts"] if isinstance(out, dict) else out

    def wait_alert(self, kind, timeout=20, **subject):
        def find():
            for a in self.alerts():
                if a["kind"] == kind and all(a.get(k) == v for k, v in subject.items()):
                    return a
            return None
        a = wait_for(find, timeout, 0.3)
        if not a:
            raise DemoError("no open %s alert %s within %d s" % (kind, subject, timeout))
        return a

    def ack(self, alert, note):
        self.ctl("alert", "ack", str(alert["id"]), "--note", note)
        say(_("Operator acknowledged alert #%d (%s): \"%s\"") % (alert["id"], alert["kind"],
                                                                note))

    def start_terminals(self):
        for room in self.site.prov.site["rooms"]:
            for seat in room["seats"]:
                t = self.site.start_terminal(room["id"], seat["id"])
                t.wait("screen=locked", absent="UNREACHABLE", timeout=30)
                self.terminals[(room["id"], seat["id"])] = t
        say(_("%d workstation kiosks show their locked screens") % len(self.terminals))

    def check_in(self):
        for tid, _name, csv_file, encoding in TENDERS:
            with open(os.path.join(HERE, csv_file), encoding=encoding) as f:
                for row in csv.DictReader(f):
                    row["tender"] = tid
                    self.people.append(row)
        for p in self.people:
            out = self.ctl("desk", "checkin", "--person", p["person_id"], "--id-number",
                           p["id_number"], "--screening", "passed",
                           identity="desk-entrance")
            p.update(room=out["room"], seat=out["seat"], credential=out["credential"],
                     code=out["login_code"])
            say(_("Desk checked in %s (%s): room %s seat %s, door PIN %s, login code %s")
                % (p["name"], p["tender"], p["room"], p["seat"],
                   p["credential"].split(":", 1)[1], p["code"]))

    def wrong_room(self):
        p = self.people[0]
        other = next(r for r in self.rooms if r != p["room"])
        say(_("%s types the PIN at the door of room %s (not theirs)") % (p["name"], other))
        self.site.door(other).pin(p["credential"].split(":", 1)[1])
        self.wait_event(other, "door.event", event="denied", reason="not_this_room")
        a = self.wait_alert("wrong_room", person=p["person_id"])
        say(_("Door %s stays locked; ALERT wrong_room: %s") % (other, a.get("detail", "")))
        self.ack(a, _("escorted to the right room"))

    def enter_and_log_in(self):
        for p in self.people:
            door = self.site.door(p["room"])
            door.pin(p["credential"].split(":", 1)[1])
            self.wait_event(p["room"], "door.event", event="granted", person=p["person_id"])
            door.set("DOOR_SENSOR", 1)
            time.sleep(0.3)
            door.set("DOOR_SENSOR", 0)
            say(_("%s opened the door of room %s with their PIN and went in")
                % (p["name"], p["room"]))
            t = self.terminals[(p["room"], p["seat"])]
            t.keys(p["code"] + "\n")
            t.wait("screen=logged_in", timeout=20)
            say(_("%s logged in at seat %s: the seat's camera now records for tender %s")
                % (p["name"], p["seat"], p["tender"]))

    def log_out(self):
        for p in self.people:
            t = self.terminals[(p["room"], p["seat"])]
            t.keys("L")
            time.sleep(0.2)
            t.keys("Y")
            # the kiosk speaks the same language as this narration
            t.wait(_("You have been logged out. Thank you."), timeout=20)
        say(_("All %d people logged out") % len(self.people))

    def witness_note(self):
        """The witness records a breach at one expert's seat with the last seconds of its
        camera as evidence (docs/witness.md); the supervisor is notified at once."""
        p = next(p for p in self.people if p["role"] == "expert")
        stream = "cam-%s-%s" % (p["room"], p["seat"])
        now = int(time.time() * 1e6)
        out = self.ctl("witness", "note", "--tender", p["tender"], "--category", "breach",
                       "--room", p["room"], "--seat", p["seat"], "--stream", stream,
                       "--text", _("%s looked at a phone-sized object under the desk; "
                                   "reminded of the rules") % p["name"],
                       "--evidence-stream", stream, "--evidence-from", str(now - 5000000),
                       "--evidence-to", str(now), identity=self.site.witness)
        say(_("Witness %s noted a breach at %s seat %s (note %s), evidence: %s, the last 5 s, "
              "kept from retention; supervisors notified (alert %d)")
            % (self.site.witness, p["room"], p["seat"], out["note"], stream, out["alert"]))
        a = self.wait_alert("witness_breach")
        self.ack(a, _("supervisor informed; expert reminded"))

    def escorted_entry(self):
        """A witness enters an expert room on a supervisor's approval, escorted by another
        supervisor: the door opens only to both credentials together (docs/witness.md)."""
        sups = ["supervisor-" + n for n in self.site.prov.site["supervisors"]]
        wit = self.site.witness
        room = next(p for p in self.people if p["role"] == "expert")["room"]
        a = self.ctl("escort", "approve", "--identity", wit, "--escort", sups[0], "--room",
                     room, "--reason", _("expert reports a broken terminal seal"), "--basis",
                     _("recorded call from the witness room's phone"), identity=sups[1])
        pins = [self.ctl("desk", "staff-admit", "--identity", who, "--room", room,
                         identity="desk-entrance")["credential"].split(":", 1)[1]
                for who in (wit, sups[0])]
        time.sleep(0.5)  # the room's list holds both
        door = self.site.door(room)
        since = int(time.time() * 1e6)
        door.pin(pins[0])
        self.wait_event(room, "door.event", since=since, event="denied",
                        reason="awaiting_escort")
        door.pin(pins[1])
        self.wait_event(room, "door.event", since=since, event="granted", person=wit)
        say(_("Supervisor %s approved (approval %d) that witness %s enters room %s escorted "
              "by %s; the door stayed locked at the first PIN and opened at the escort's")
            % (sups[1], a["approval"], wit, room, sups[0]))

    def sign_witness_logs(self):
        """The three parties sign each sealed tender's witness log with their own keys."""
        site = self.site.prov.site
        parties = [self.site.witness, "supervisor-" + site["supervisors"][0],
                   "rep-" + site["representatives"][0]]
        for tid in self.archives:
            for who in parties:
                out = self.ctl("witness", "sign", "--tender", tid, identity=who)
            say(_("Witness log of %s (SHA-256 %s…) signed by %s after the seal: %d of %d")
                % (tid, out["sha256"][:16], ", ".join(parties), out["signed"],
                   out["parties"]))
            # the demo site asks for both algorithms (docs/witness.md "SM2 signing keys")
            say(_("  each signed with both keys of theirs: %s") % ", ".join(
                "SM2 (SM3)" if a == "sm2-sm3" else "Ed25519" for a in out["algorithms"]))

    def close_and_seal(self):
        self.archives = {}
        for tid, _name, _csv, _enc in TENDERS:
            out = self.ctl("tender", "close", tid, "--wait", "30")
            self.archives[tid] = out["path"]
            say(_("Operator closed tender %s: %d segments arrived while the agents flushed; "
                "sealed read-only with a final signed checkpoint (tree size %d, root %s…)")
                % (tid, out["segments_received"], out["tree_size"], out["root"][:16]))

    def audit(self, bin_dir):
        tool = os.path.join(bin_dir, "evalroom-archive")
        pub = self.site.prov.signing_pub
        self.verdicts = {}
        for tid, path in self.archives.items():
            v = subprocess.run([tool, "verify", path, "--pubkey", pub, "--ca",
                                self.site.prov.ca], capture_output=True, text=True)
            d = subprocess.run([tool, "verify-draw", path], capture_output=True, text=True)
            self.verdicts[tid] = (v.returncode, d.returncode)
            say(_("Auditor: %s verify -> %s; verify-draw -> %s") % (
                os.path.basename(path), _("intact") if v.returncode == 0 else _("FAILED (%s)")
                % v.stdout.strip().splitlines()[-1:],
                _("the draw re-runs to the same seats") if d.returncode == 0 else _("FAILED")))
            if v.returncode != 0 or d.returncode != 0:
                raise DemoError("archive %s does not verify:\n%s%s" % (path, v.stdout, d.stdout))
            signed = _("witness log signed by %d of %d\n") % (3, 3)
            if signed not in v.stdout:
                raise DemoError("archive %s: the witness log is not signed by all three:\n%s"
                                % (path, v.stdout))
            say(_("Auditor: %s: %s") % (os.path.basename(path), signed.strip()))
        # a clip of one expert's seat camera, remuxed (never re-encoded)
        p = next(p for p in self.people if p["role"] == "expert")
        stream = "cam-%s-%s" % (p["room"], p["seat"])
        self.clip = os.path.join(self.site.tmp, "clip-%s.mp4" % stream)
        e = subprocess.run([tool, "export", self.archives[p["tender"]], "--stream", stream,
                            "-o", self.clip], capture_output=True, text=True)
        if e.returncode != 0:
            raise DemoError("export failed: %s" % e.stderr)
        say(_("Auditor exported seat camera %s of tender %s as %s (%.1f MB)") % (
            stream, p["tender"], self.clip, os.path.getsize(self.clip) / 1e6))

    def evidence_package(self, bin_dir):
        """The auditor's evidence package of the recorded minute of room E1 with its seats
        (docs/archives.md, "Evidence package"), then checked without the archive."""
        tool = os.path.join(bin_dir, "evalroom-archive")
        # the tender with the most seats in room E1: its archive holds the room's camera
        # and those seats' cameras (each seat's stream belongs to its own tender)
        in_e1 = [p["tender"] for p in self.people if p["room"] == "E1"]
        tender = max(sorted(set(in_e1)), key=in_e1.count)
        path = self.archives[tender]
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        streams = [s for (s,) in db.execute(
            "SELECT DISTINCT stream FROM segments WHERE stream LIKE 'cam-E1%' AND end_us > ? "
            "AND start_us < ? ORDER BY stream", self.recorded)]
        db.close()
        self.package = os.path.join(self.site.tmp, "evidence-%s-E1" % tender)
        e = subprocess.run([tool, "package", path, "--from", str(self.recorded[0]), "--to",
                            str(self.recorded[1]), "--streams", ",".join(streams), "--pubkey",
                            self.site.prov.signing_pub, "-o", self.package],
                           capture_output=True, text=True)
        if e.returncode != 0:
            raise DemoError("package failed: %s%s" % (e.stdout, e.stderr))
        v = subprocess.run([tool, "verify-package", self.package, "--pubkey",
                            self.site.prov.signing_pub], capture_output=True, text=True)
        if v.returncode != 0:
            raise DemoError("verify-package failed: %s%s" % (v.stdout, v.stderr))
        say(_("Auditor packaged %d s of room E1 with its seats (%s) from tender %s: clips, "
              "segments with their proofs, signed checkpoints, timeline, offline player; "
              "verify-package -> intact") % ((self.recorded[1] - self.recorded[0]) // 1000000,
                                             ", ".join(streams), tender))

    def transfer(self):
        """The custodian hands the sealed archives over (移交) to the records office's
        custodian: a manifest signed by one, verified and countersigned by the other."""
        auditors = ["auditor-" + a for a in self.site.prov.site["auditors"]]
        out_dir = os.path.join(self.site.tmp, "handover")
        args = ["archive", "transfer"]
        for tid in self.archives:
            args += ["--tender", tid]
        out = self.ctl(*args, "--to", auditors[1], "--reason", "handover to the records office",
                       "-o", out_dir, identity=auditors[0])
        say(_("Custodian %s prepared the transfer of %d archives to %s in %s: manifest "
              "SHA-256 %s…, signed") % (auditors[0], out["files"], auditors[1], out_dir,
                                        out["manifest_sha256"][:16]))
        out = self.ctl("archive", "receive", out_dir, identity=auditors[1])
        say(_("Custodian %s verified every file against the manifest and the published roots "
              "and countersigned the receipt (SHA-256 %s…); both are in the custody log")
            % (auditors[1], out["receipt_sha256"][:16]))

    def commitment_precedes_entropy(self):
        """The auditor's check of docs/draw.md section 1 on each sealed archive."""
        for tid, path in self.archives.items():
            db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
            (rec,) = db.execute("SELECT record FROM draw").fetchone()
            rec = json.loads(rec)
            ev = {k: (leaf, t, json.loads(b)) for leaf, t, k, b in db.execute(
                "SELECT leaf, time_us, kind, body FROM events WHERE kind IN "
                "('draw.commit', 'draw.run') ORDER BY leaf")
                if json.loads(b).get("commitment") == rec["commitment"]}
            lc = ev["draw.commit"][0]
            lr, tr, run = ev["draw.run"]
            cp = db.execute("SELECT tree_size, time_us FROM checkpoints WHERE tree_size > ? "
                            "ORDER BY time_us LIMIT 1", (lc,)).fetchone()
            db.close()
            if not (lc < lr and cp and cp[1] < tr and run["entropy"] == rec["entropy"]):
                raise DemoError(_("archive %s: the commitment does not precede the entropy")
                                % path)
            say(_("Archive %s: commitment %s… is leaf %d, signed by a checkpoint (tree size "
                  "%d) %.3f s before the witness's entropy (leaf %d): the commitment "
                  "precedes the entropy") % (tid, rec["commitment"][:16], lc, cp[0],
                                             (tr - cp[1]) / 1e6, lr))

    def seat_recordings_from_check_in(self):
        """The seat map stays sealed until check-in also for the recordings (docs/draw.md
        7.1): each sealed archive holds a seat's recording only from its person's
        check-in on; what the seat recorded before is in the site's retention archive."""
        for tid, path in self.archives.items():
            db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
            checkins = [json.loads(b) for (b,) in db.execute(
                "SELECT body FROM events WHERE kind = 'recording.checkin'")]
            early = sum(db.execute("SELECT count(*) FROM segments WHERE stream = ? AND "
                                   "end_us < ?", (s, c["checked_in_at"])).fetchone()[0]
                        for c in checkins for s in c["seat_streams"])
            db.close()
            if early or not checkins:
                raise DemoError(_("archive %s: a seat recorded before its person's check-in")
                                % path)
            earlier, days = 0, sorted({d for c in checkins for d in c["before_checkin"]})
            for day in days:
                rpath = os.path.join(os.path.dirname(path), day + ".evarc")
                if not os.path.exists(rpath):
                    continue
                db = sqlite3.connect("file:%s?mode=ro" % rpath, uri=True)
                earlier += sum(db.execute(
                    "SELECT count(*) FROM segments WHERE stream = ? AND end_us >= ? AND "
                    "end_us < ?", (s, c["seated_at"], c["checked_in_at"])).fetchone()[0]
                    for c in checkins for s in c["seat_streams"])
                db.close()
            say(_("Archive %s: the seats of its %d people are recorded from each check-in "
                  "on; their %d segments from the draw to then are in %s, in no tender's "
                  "archive (the seat map was sealed)") % (tid, len(checkins), earlier,
                                                          ", ".join(days)))

    def summary(self):
        print()
        print(_("Summary"))
        print("  " + "".join(pad(h, w) for h, w in ((_("tender"), 11), (_("people"), 8),
                                                     (_("segments"), 10), (_("MB"), 10),
                                                     (_("alerts"), 8))) + _("verify"))
        for tid, path in self.archives.items():
            db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
            segs, size = db.execute("SELECT count(*), coalesce(sum(size), 0) FROM segments"
                                    ).fetchone()
            alerts = db.execute("SELECT count(*) FROM events WHERE kind = 'alert.raised'"
                                ).fetchone()[0]
            db.close()
            people = sum(1 for p in self.people if p["tender"] == tid)
            v, d = self.verdicts[tid]
            print("  %-10s %-7d %-9d %-9.1f %-7d %s" % (tid, people, segs, size / 1e6, alerts,
                                                      _("intact, draw ok") if v == 0 and d == 0
                                                      else _("FAILED")))
        print()
        for tid, path in self.archives.items():
            print("  " + pad(_("archive %s") % tid, 17) + path)
        print("  " + pad(_("clip"), 17) + self.clip)
        print("  " + pad(_("evidence package"), 17) + os.path.join(self.package, "index.html"))
        print("  " + pad(_("signing key"), 17) + self.site.prov.signing_pub)
        print("  " + _("try: %s/evalroom-archive timeline %s | head") % (
            os.path.dirname(self.site.bin + "/"), list(self.archives.values())[0]))


P12_PASSWORD = "evalroom"


def operator_p12(site, work):
    """The operator's certificate and key as one PKCS#12 file, the form a browser imports
    (README, "The web console"). Returns its path."""
    cert, key = site.prov.cert(site.operator)
    path = os.path.join(work, site.operator + ".p12")
    subprocess.run(["openssl", "pkcs12", "-export", "-in", cert, "-inkey", key,
                    "-name", site.operator, "-out", path, "-passout", "pass:" + P12_PASSWORD],
                   check=True, capture_output=True, timeout=30)
    os.chmod(path, 0o600)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--keep", action="store_true",
                    help="leave the site running for exploring with evalroomctl")
    ap.add_argument("--dir", help="work directory (default: a new temporary directory)")
    ap.add_argument("--record-seconds", type=int, default=60,
                    help="length of the recording minute (the test shortens it)")
    ap.add_argument("--venues", action="store_true",
                    help="instead of the day: a main venue and a secondary venue whose link "
                    "is cut mid-recording and restored (docs/venues.md)")
    ap.add_argument("--cut-seconds", type=int, default=30,
                    help="with --venues: how long the link stays cut")
    args = ap.parse_args()
    speak_the_language(os.path.abspath(args.build))
    bin_dir = os.path.join(os.path.abspath(args.build), "bin")
    work = args.dir or tempfile.mkdtemp(prefix="evalroom-demo-")
    os.makedirs(work, exist_ok=True)
    if args.venues:
        return venues(args, bin_dir, work)

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)

    site = cam = None
    rc = 1
    try:
        say(_("Provisioning the demo site in %s (CA, certificates, broker config, ACL)") % work)
        site = Site(bin_dir, work, site=os.path.join(HERE, "site.json"), observe=True)
        say(_("Broker mosquitto is up on 127.0.0.1:%d (TLS, client certificates required)")
            % site.prov.port)
        console_port = free_port()
        site.start_controller(site.console_section(console_port))
        say(_("Controller connected with its own certificate"))
        p12 = operator_p12(site, work)
        say(_("Web console: https://127.0.0.1:%d/ (the operator's certificate: %s, "
              "password %s)") % (console_port, p12, P12_PASSWORD))
        cam = DemoCamera(work)
        for room in site.prov.site["rooms"]:
            rid = room["id"]
            seats = [("cam-%s-%s" % (rid, s["id"]), s["id"]) for s in room["seats"]]
            streams = streams_config([] if rid == "E1" else ["cam-" + rid], seats,
                                     audio=False)
            if rid == "E1":
                streams += ("[stream cam-E1]\n%splace=room\nsegment_seconds=2\n"
                            "lost_timeout_ms=2000\n" % cam.stream_config())
            site.start_agent(rid, door=True, extra=streams)
            say(_("Room agent %s connected (door locked, %d cameras recording)")
                % (rid, len(seats) + 1))
        day = Day(site, args)
        day.prepare()
        day.draw()
        day.staff_draw()
        day.start_terminals()
        day.check_in()
        day.wrong_room()
        day.enter_and_log_in()
        day.held_open()
        day.warning()
        day.record(args.record_seconds)
        day.lost_camera(cam)
        day.witness_note()
        day.escorted_entry()
        day.log_out()
        day.close_and_seal()
        day.sign_witness_logs()
        day.audit(bin_dir)
        day.evidence_package(bin_dir)
        day.transfer()
        day.summary()
        day.commitment_precedes_entropy()
        day.seat_recordings_from_check_in()
        problems = site.schema_problems()
        say(_("%d protocol messages observed, %d outside their schema")
            % (len(site.observed()) + len(site.observed_chunks()), len(problems)))
        for p in problems[:5]:
            print("   ", p)
        rc = 1 if problems else 0
        if args.keep:
            say(_("Site left running. Try:  %s/evalroomctl --config %s status")
                % (bin_dir, site.ctl_config(site.operator)))
            say(_("Web console: https://127.0.0.1:%d/ (site CA %s, operator's certificate "
                  "%s, password %s)") % (console_port, site.prov.ca, p12, P12_PASSWORD))
            say(_("Stop it with Ctrl-C."))
            while True:
                time.sleep(3600)
    except DemoError as e:
        say(_("DEMO FAILED: %s") % e)
        rc = 1
    except KeyboardInterrupt:
        say(_("Interrupted: stopping everything"))
        rc = 130
    finally:
        if cam:
            cam.stop()
        if site:
            site.close()
            say(_("Stopped the agents, the controller and the broker"))
        if rc != 0 and not args.dir:
            say(_("Everything it wrote is kept for inspection in %s") % work)
    return rc


def venues(args, bin_dir, work):
    """./dev demo --venues (tests/demo/venues_demo.py), told in the same language."""
    import venues_demo

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    rc = venues_demo.run(args, bin_dir, work)
    if rc != 0 and not args.dir:
        say(_("Everything it wrote is kept for inspection in %s") % work)
    return rc


if __name__ == "__main__":
    sys.exit(main())
