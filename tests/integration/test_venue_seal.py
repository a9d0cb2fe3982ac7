"""Remote venues without namespaces (issue 22, item 3): a main broker and the north venue's
broker on this machine, the north bridges (commands and events on one connection, media on
its own) reaching the main broker through wan_relay.py; stopping the relay cuts the link,
starting it again restores it.

- Provisioning writes the two bridges; the main broker accepts the media bridge's client id
  (bridge-north:media) under the bridge's own certificate, and the north room's recordings
  reach the tender archive over it.
- A tender closed while the north venue is cut off is not sealed: `tender close` says it
  waits and for which venue, rooms and segments, `evalroomctl rooms` says so too; once the
  link is back the tender seals by itself, with every segment of the north room's stream
  up to the close in the archive exactly once.
- `--seal-anyway --reason` seals at once; the archive records the reason, who and what is
  missing; without a reason it is refused and changes nothing.
"""
import json
import os
import sqlite3
import subprocess
import sys
import time

import jsonschema
import pytest

import harness
from daemons import door_config, streams_config, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
DAY = time.strftime("%Y-%m-%d")  # check-in is for the session of the day
IDS = {"xp-a": "11010519491231002X", "xp-b": "110105194912310038"}
STREAM = "cam-EN-S1"


with open(os.path.join(harness.ROOT, "schemas", "json", "response.json")) as f:
    RESULTS = json.load(f)["$defs"]["results"]["properties"]
with open(os.path.join(harness.ROOT, "schemas", "json", "request.json")) as f:
    REQUEST = json.load(f)


def check_result(command, result):
    """RESULT validates against the schema of COMMAND's result (response.json)."""
    jsonschema.Draft202012Validator(RESULTS[command]).validate(result)
    return result


def site(relay_port, north_port):
    return {
        "id": "loop", "name": "Main venue and one secondary venue on one machine",
        "venues": [{"id": "main", "main": True, "host": "127.0.0.1", "port": relay_port},
                   {"id": "north", "host": "127.0.0.1", "port": north_port,
                    "media_kbit": 4000}],
        "rooms": [
            {"id": "EM", "kind": "expert", "venue": "main", "door": "D-EM",
             "seats": [{"id": "S1"}]},
            {"id": "EN", "kind": "expert", "venue": "north", "door": "D-EN",
             "seats": [{"id": "S1", "camera": STREAM}]},
        ],
        "operators": ["alice"], "desks": ["gate"], "auditors": ["audrey"],
        "witnesses": ["gao"],
    }


def rows(path, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


class Loop:
    """The provisioned site, both brokers, the relay (the WAN), the controller, the north
    agent and evalroomctl, all on 127.0.0.1."""

    def __init__(self, bin_dir, tmp):
        self.bin, self.tmp = bin_dir, str(tmp)
        self.relay_port, self.north_port = harness.free_port(), harness.free_port()
        self.site = site(self.relay_port, self.north_port)
        self.prov = harness.provision(bin_dir, os.path.join(self.tmp, "site"),
                                      site=self.site)
        self.procs = {}

    def log(self, name):
        try:
            with open(os.path.join(self.tmp, name + ".log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def start(self, name, argv):
        log = open(os.path.join(self.tmp, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        return self.procs[name]

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def relay(self):
        self.start("relay", [sys.executable, os.path.join(HERE, "wan_relay.py"), "--listen",
                             "127.0.0.1:%d" % self.relay_port, "--to",
                             "127.0.0.1:%d" % self.prov.port, "--delay-ms", "20"])
        assert wait_for(lambda: "relaying" in self.log("relay"), 10), self.log("relay")

    def brokers(self):
        self.start("broker-main", [harness.MOSQUITTO, "-c", self.prov.conf])
        conf = os.path.join(self.prov.dir, "venues", "north", "broker", "mosquitto.conf")
        self.start("broker-north", [harness.MOSQUITTO, "-c", conf])
        for name in ("broker-main", "broker-north"):
            assert wait_for(lambda: "listen socket on port" in self.log(name), 20), \
                self.log(name)
        self.relay()

    def config(self, name, cn, port, extra):
        cert, key = self.prov.cert(cn)
        path = os.path.join(self.tmp, name + ".conf")
        with open(path, "w") as f:
            f.write("[mqtt]\nuri=ssl://127.0.0.1:%d\nca=%s\ncert=%s\nkey=%s\n%s"
                    % (port, self.prov.ca, cert, key, extra))
        return path

    def controller(self):
        state = os.path.join(self.tmp, "controller-state")
        os.makedirs(state, exist_ok=True)
        conf = self.config("controller", "controller", self.prov.port,
                           "[controller]\nstate_dir=%s\nsigning_key=%s\ncredential_key=%s\n"
                           % (state, self.prov.signing_key, self.prov.credential_key))
        self.start("controller", [os.path.join(self.bin, "evalroom-controller"), "-v",
                                  "--config", conf])
        assert wait_for(lambda: "connected to the broker" in self.log("controller"), 20), \
            self.log("controller")

    def agent(self):
        spool = os.path.join(self.tmp, "spool-EN")
        os.makedirs(spool, exist_ok=True)
        # the venue's share as provisioning wrote it for its agents
        with open(os.path.join(self.prov.dir, "venues", "north",
                               "agent-recorder.conf")) as f:
            kbit = [ln for ln in f.read().splitlines() if ln.startswith("media_kbit=")][0]
        streams = streams_config([], [(STREAM, "S1")], segment_s=1, audio=False)
        extra = ("[agent]\nroom=EN\nvenue=north\nspool_dir=%s\ncredential_key=%s\n"
                 % (spool, self.prov.credential_key)
                 + door_config(os.path.join(self.tmp, "door-EN.sock"))
                 + streams.replace("[recorder]\n", "[recorder]\n%s\n" % kbit, 1))
        conf = self.config("agent-EN", "agent-EN", self.north_port, extra)
        self.start("agent-EN", [os.path.join(self.bin, "evalroom-agent"), "-v", "--config",
                                conf])
        assert wait_for(lambda: "connected to the broker" in self.log("agent-EN"), 20), \
            self.log("agent-EN")

    def ctl(self, *args, identity="operator-alice", timeout=60, json_out=True):
        conf = self.config("ctl-" + identity, identity, self.prov.port, "")
        argv = [os.path.join(self.bin, "evalroomctl"), "--config", conf] + \
            (["--json"] if json_out else []) + list(args)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        out = p.stdout
        if json_out:
            try:
                out = json.loads(out) if out.strip() else out
            except ValueError:
                pass
        return p.returncode, out, p.stderr

    def ok(self, *args, **kw):
        rc, out, err = self.ctl(*args, **kw)
        assert rc == 0, (args, out, err)
        return out

    def venue(self):
        return {v["venue"]: v for v in self.ok("venues")["venues"]}.get("north", {})

    def archive(self, tender):
        return os.path.join(self.tmp, "controller-state", "archive", tender + ".evarc")

    def segments(self, tender):
        a = self.archive(tender)
        if not os.path.exists(a):
            return []
        return rows(a, "SELECT seq, start_us, end_us FROM segments WHERE stream = ? "
                    "ORDER BY seq", STREAM)

    def tender_state(self, tender):
        return rows(os.path.join(self.tmp, "controller-state", "state.db"),
                    "SELECT state FROM tender WHERE id = ?", tender)[0][0]

    def close(self):
        for name in list(self.procs):
            self.stop(name)


@pytest.fixture
def loop(bin_dir, tmp_path):
    if not harness.have_tools():
        pytest.skip("mosquitto or its tools are missing")
    d = Loop(bin_dir, tmp_path)
    try:
        yield d
    finally:
        d.close()


def evaluation_day(loop, tmp_path, tender="TA"):
    """Brokers, relay, controller, the north agent; a session, a tender whose two experts
    are drawn into EM and EN and checked in; returns once the north room's recording
    reaches the tender's archive."""
    loop.brokers()
    loop.controller()
    assert wait_for(lambda: loop.venue().get("link") == "up", 30), \
        (loop.log("broker-north"), loop.log("broker-main"))
    site_file = tmp_path / "site.json"
    site_file.write_text(json.dumps(loop.site))
    loop.ok("site", "import", str(site_file))
    loop.ok("session", "create", "--date", DAY)
    loop.ok("tender", "add", "--session", DAY, "--id", tender, "--name", "Harbour works")
    csv = tmp_path / "committee.csv"
    csv.write_text("person_id,name,id_number,role\n" + "".join(
        "%s,Expert %s,%s,expert\n" % (p, p[-1].upper(), n) for p, n in sorted(IDS.items())))
    loop.ok("committee", "import", "--tender", tender, str(csv))
    commitment = loop.ok("draw", "commit", "--session", DAY)["commitment"]
    loop.ok("draw", "run", "--session", DAY, "--witness-entropy", "loop 0812",
            "--confirm-commitment", commitment, identity="witness-gao")
    loop.agent()
    for pid in sorted(IDS):
        loop.ok("desk", "checkin", "--person", pid, "--id-number", IDS[pid],
                "--screening", "passed", identity="desk-gate")
    assert wait_for(lambda: len(loop.segments(tender)) >= 3, 60), \
        (loop.log("agent-EN"), loop.log("controller"))


def cut(loop):
    loop.stop("relay")
    assert wait_for(lambda: loop.venue().get("link") == "down", 40), loop.log("controller")
    assert wait_for(lambda: "link to the main venue is down" in loop.log("agent-EN"), 40)


def seal_alerts(loop):
    return [a for a in loop.ok("alerts", "--limit", "100")["alerts"]
            if a["kind"] == "tender_seal_waiting" and a.get("tender") == "TA"]


def spooled(loop):
    return rows(os.path.join(loop.tmp, "spool-EN", "media", "spool.db"),
                "SELECT count(*) FROM segment")[0][0]


def test_media_bridge_provisioned_and_used(loop, tmp_path):
    conf = open(os.path.join(loop.prov.dir, "venues", "north", "broker",
                             "mosquitto.conf")).read()
    main_part, media_part = conf.split("connection bridge-north-media\n")
    assert "connection bridge-north\n" in main_part
    assert "remote_clientid bridge-north\n" in main_part
    assert "room/EN/media" not in main_part
    for t in ("status", "event", "reply"):
        assert "topic evalroom/v1/room/EN/%s out 1\n" % t in main_part
    assert "remote_clientid bridge-north:media\n" in media_part
    assert "notifications false\n" in media_part
    assert "topic evalroom/v1/room/EN/media out 1\n" in media_part
    assert [ln for ln in media_part.splitlines() if ln.startswith("topic ")] == \
        ["topic evalroom/v1/room/EN/media out 1"]
    # one room at north: the whole venue's rate is its share
    rec = open(os.path.join(loop.prov.dir, "venues", "north", "agent-recorder.conf")).read()
    assert "[recorder]\nmedia_kbit=4000\n" in rec

    evaluation_day(loop, tmp_path)
    # both bridges are connected to the main broker under the bridge's identity
    log = loop.log("broker-main")
    assert "as bridge-north " in log, log[-3000:]
    assert "as bridge-north:media " in log, log[-3000:]
    # the agent ships under its rate and says so
    assert "shipping at most 4000 kbit/s" in loop.log("agent-EN")


def test_close_waits_for_a_cut_off_venue_then_seals_by_itself(loop, tmp_path):
    evaluation_day(loop, tmp_path)
    cut(loop)
    time.sleep(4)  # the north room records into its spool meanwhile
    held = spooled(loop)
    assert held >= 2, held

    rc, out, err = loop.ctl("tender", "close", "TA", "--wait", "3", timeout=90)
    assert rc == 0, (out, err)
    assert out["state"] == "waiting", out
    check_result("tender.close", out)
    (w,) = out["waiting_for"]
    assert w["venue"] == "north" and w["link"] == "down", w
    assert [r["room"] for r in w["rooms"]] == ["EN"], w
    assert w["rooms"][0]["segments"] >= 0
    assert loop.tender_state("TA") == "closing"
    assert os.stat(loop.archive("TA")).st_mode & 0o200  # still writable: not sealed
    # the same, in words
    rc, text, err = loop.ctl("tender", "close", "TA", json_out=False)
    assert rc == 0, err
    assert "NOT sealed" in text and "venue north: link DOWN" in text and "room EN" in text, text
    assert "--seal-anyway --reason" in text, text
    rc, text, err = loop.ctl("rooms", json_out=False)
    assert "tender TA waits for it to seal" in text, text
    assert check_result("venues", loop.ok("venues"))["venues"][0]["tenders_waiting"] == ["TA"]
    (alert,) = seal_alerts(loop)
    assert alert["state"] == "open" and alert["venue"] == "north", alert
    assert "waits for venue north (rooms EN" in alert["detail"], alert

    close_us = json.loads(rows(loop.archive("TA"), "SELECT body FROM events WHERE kind = "
                               "'tender.seal_waiting'")[0][0])["close_us"]
    # --- the link returns: the venue drains, confirms, and the tender seals by itself
    loop.relay()
    assert wait_for(lambda: loop.tender_state("TA") == "sealed", 120), \
        (loop.log("controller")[-4000:], loop.log("agent-EN")[-3000:])
    assert os.stat(loop.archive("TA")).st_mode & 0o222 == 0
    segs = loop.segments("TA")
    seqs = [s[0] for s in segs]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs  # each once, no hole
    assert segs[-1][2] >= close_us - 1_500_000, (segs[-1], close_us)  # up to the close
    kinds = [k for (k,) in rows(loop.archive("TA"), "SELECT kind FROM events ORDER BY id")]
    assert kinds.count("tender.seal_waiting") == 1 and kinds.count("tender.closed") == 1
    assert kinds.index("tender.seal_waiting") < kinds.index("tender.closed")
    closed = json.loads(rows(loop.archive("TA"), "SELECT body FROM events WHERE kind = "
                             "'tender.closed'")[0][0])
    assert "EN" in closed["rooms_confirmed"], closed
    assert "tender.sealed_anyway" not in kinds
    assert "alert.raised" in kinds and "alert.resolved" in kinds  # the alert, in the archive
    (alert,) = seal_alerts(loop)
    assert alert["state"] == "resolved", alert
    verify = subprocess.run([os.path.join(loop.bin, "evalroom-archive"), "verify",
                             loop.archive("TA"), "--pubkey", loop.prov.signing_pub],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_seal_anyway_records_the_reason_and_what_is_missing(loop, tmp_path):
    evaluation_day(loop, tmp_path)
    cut(loop)
    out = loop.ok("tender", "close", "TA", "--wait", "2", timeout=90)
    assert out["state"] == "waiting", out
    # without a reason: refused, nothing changes
    rc, out, err = loop.ctl("tender", "close", "TA", "--seal-anyway")
    assert rc != 0 and "--reason" in err, (out, err)
    rc, out, err = loop.ctl("tender", "close", "TA", "--seal-anyway", "--reason", "a\tb")
    assert rc != 0 and "one line of plain text" in (err + str(out)), (out, err)
    assert loop.tender_state("TA") == "closing"
    # the request as sent validates against its schema
    jsonschema.Draft202012Validator(REQUEST).validate(
        {"v": 1, "kind": "request", "seq": 1, "ts": 1, "id": "x", "expires": 2,
         "command": "tender.close", "args": {"tender": "TA", "wait_s": 30,
                                            "seal_anyway": True, "reason": "why"}})

    reason = "north venue down past the 4-hour rule: new committee formed"
    out = loop.ok("tender", "close", "TA", "--seal-anyway", "--reason", reason, timeout=90)
    assert loop.tender_state("TA") == "sealed"
    check_result("tender.close", out)
    anyway = out["sealed_anyway"]
    assert anyway["reason"] == reason and anyway["by"] == "operator-alice", anyway
    (m,) = anyway["missing"]
    assert m["venue"] == "north" and m["link"] == "down", m
    (room,) = m["rooms"]
    assert room["room"] == "EN"
    (st,) = room["streams"]
    last = max(s[0] for s in loop.segments("TA"))
    assert st == {"stream": STREAM, "last_seq": last}, (st, last)
    (alert,) = seal_alerts(loop)
    assert alert["state"] == "resolved" and reason in alert.get("resolved_by", "") + \
        json.dumps(alert), alert
    body = json.loads(rows(loop.archive("TA"), "SELECT body FROM events WHERE kind = "
                           "'tender.sealed_anyway'")[0][0])
    assert body["reason"] == reason and body["missing"] == anyway["missing"], body
    rc, text, err = loop.ctl("tender", "close", "TA", json_out=False)
    assert rc != 0  # sealed: closing again is refused
    # the link returns: what north held arrives and is kept (the site's retention
    # archive), the sealed archive is untouched
    loop.relay()
    assert wait_for(lambda: spooled(loop) <= 4, 90), loop.log("agent-EN")[-3000:]
    assert max(s[0] for s in loop.segments("TA")) == last


def test_a_restarted_controller_waits_again(loop, tmp_path):
    """The wait survives a controller restart: after it, the tender still waits for the
    north venue (the same close time), and seals by itself once the link is back."""
    evaluation_day(loop, tmp_path)
    cut(loop)
    out = loop.ok("tender", "close", "TA", "--wait", "2", timeout=90)
    assert out["state"] == "waiting", out
    close_us = out["close_us"]
    loop.stop("controller")
    loop.controller()
    assert wait_for(lambda: "still closing after a restart" in loop.log("controller"), 30), \
        loop.log("controller")[-3000:]
    out = check_result("tender.close", loop.ok("tender", "close", "TA", timeout=90))
    assert out["state"] == "waiting" and out["close_us"] == close_us, out
    assert [w["venue"] for w in out["waiting_for"]] == ["north"], out
    assert loop.tender_state("TA") == "closing"
    (alert,) = seal_alerts(loop)
    assert alert["state"] == "open", alert
    loop.relay()
    assert wait_for(lambda: loop.tender_state("TA") == "sealed", 120), \
        (loop.log("controller")[-4000:], loop.log("agent-EN")[-3000:])
    segs = loop.segments("TA")
    seqs = [s[0] for s in segs]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    assert segs[-1][2] >= close_us - 1_500_000, (segs[-1], close_us)
    closed = json.loads(rows(loop.archive("TA"), "SELECT body FROM events WHERE kind = "
                             "'tender.closed'")[0][0])
    assert closed["rooms_confirmed"] == ["EN"] and closed["resumed_after_restart"], closed
    (alert,) = seal_alerts(loop)
    assert alert["state"] == "resolved", alert
