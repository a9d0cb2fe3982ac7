"""./dev demo --venues: remote venues (docs/venues.md) on this machine, told as it happens.

A main venue (its broker, the controller, room EM) and a secondary venue "north" (its own
broker, bridged by mosquitto's own TLS bridge to the main broker as `evalroomctl provision`
wrote it, through a relay standing for the WAN; room EN with its door and a seat camera).
A short evaluation: tender, committee, the tender's venues (main booked, north drawn on site
with the supervisor as witness), the seat draw, check-in, recording; then north's link is cut
mid-recording (the relay becomes a black hole), the main venue raises venue_link_lost and
`evalroomctl venues` shows the link down while the room works locally; the door at north
still decides from its list; the link returns, the backlog drains, the tender closes and
its archive verifies with every segment of north's camera in it.
"""
import datetime
import gettext
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import demo  # noqa: E402
import harness  # noqa: E402
from daemons import DoorSim, Site, door_config, streams_config, wait_for  # noqa: E402


_ = gettext.gettext  # run() takes the narration's language from demo.speak_the_language
say = demo.say
DemoError = demo.DemoError

PEOPLE = [("xp-a", "11010519491231002X"), ("xp-b", "110105194912310038")]
PEOPLE_ZH = {"xp-a": "张伟", "xp-b": "李娜"}
SITE = {
    "id": "venues-demo", "name": "Main venue with a secondary venue",
    "venues": [{"id": "main", "name": "Trading centre", "main": True, "host": "127.0.0.1"},
               {"id": "north", "name": "North county centre", "host": "127.0.0.1"}],
    "rooms": [
        {"id": "EM", "kind": "expert", "venue": "main", "door": "D-EM",
         "seats": [{"id": "S1"}]},
        {"id": "EN", "kind": "expert", "venue": "north", "door": "D-EN",
         "seats": [{"id": "S1", "camera": "cam-EN-S1"}]},
    ],
    "operators": ["alice"], "desks": ["gate"], "auditors": ["audrey"], "witnesses": ["gao"],
    "supervisors": ["reg1"],
}
STREAM = "cam-EN-S1"


def rows(path, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def count(path, sql, *args):
    if not os.path.exists(path):
        return 0
    return rows(path, sql, *args)[0][0]


class VenuesDay:
    def __init__(self, bin_dir, work, cut_s):
        self.bin, self.work, self.cut_s = bin_dir, work, cut_s
        self.north_port = harness.free_port()
        self.relay_port = harness.free_port()
        site = json.loads(json.dumps(SITE))
        site["venues"][1]["port"] = self.north_port
        self.site = Site(bin_dir, work, site=site, observe=False)
        self.prov = self.site.prov
        self.relay = None
        self.session = datetime.date.today().isoformat()
        self.archive = os.path.join(work, "controller-state", "archive", "T-NORTH.evarc")
        self.spool = os.path.join(work, "spool-EN")

    def ctl(self, *argv, identity=None):
        rc, out, err = self.site.ctl(*argv, identity=identity)
        if rc != 0:
            raise DemoError("evalroomctl %s: %s" % (" ".join(argv), err.strip()))
        return out

    def ctl_text(self, *argv):
        rc, out, err = self.site.ctl(*argv, json_out=False)
        if rc != 0:
            raise DemoError("evalroomctl %s: %s" % (" ".join(argv), err.strip()))
        return out

    def show(self, text):
        for line in text.splitlines():
            if line.strip():
                print("          | " + line, flush=True)

    def venue(self):
        # {} until the controller has heard of the venue's link (just after it starts)
        return {v["venue"]: v for v in self.ctl("venues")["venues"]}.get("north", {})

    def alerts(self, kind):
        return [a for a in self.ctl("alerts", "--limit", "100")["alerts"]
                if a["kind"] == kind and a.get("venue") == "north"]

    def brokers(self):
        say(_("Main venue: broker on 127.0.0.1:%d (TLS, client certificates required)")
            % self.prov.port)
        # north's WAN: a relay between its bridge and the main broker, which can be cut
        log = os.path.join(self.work, "relay.log")
        self.relay = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "integration", "wan_relay.py"),
             "--listen", "127.0.0.1:%d" % self.relay_port, "--to",
             "127.0.0.1:%d" % self.prov.port, "--delay-ms", "20"],
            stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if not wait_for(lambda: b"relaying" in open(log, "rb").read(), timeout=10):
            raise DemoError("the WAN relay did not start")
        conf = os.path.join(self.prov.dir, "venues", "north", "broker", "mosquitto.conf")
        with open(conf) as f:
            text = f.read()
        # provisioning wrote the main venue's address (once per bridge connection: the
        # commands' and events' and the media's); here the WAN is the relay
        text, n = re.subn(r"(?m)^address \S+$", "address 127.0.0.1:%d" % self.relay_port, text)
        if n < 1:
            raise DemoError("%s: no bridge address line" % conf)
        demo_conf = os.path.join(self.work, "north-mosquitto.conf")
        with open(demo_conf, "w") as f:
            f.write(text)
        b = self.site.start_daemon("broker-north", [harness.MOSQUITTO, "-c", demo_conf])
        if not b.wait_log("listen socket on port"):
            raise DemoError("north's broker did not start:\n" + b.log())
        say(_("Venue north: its own broker on 127.0.0.1:%d, bridged to the main broker over "
              "TLS as bridge-north (provisioned), through a WAN link of 20 ms each way")
            % self.north_port)

    def start(self):
        self.site.start_controller()
        say(_("Controller connected at the main venue"))
        if not wait_for(lambda: self.venue().get("link") == "up", timeout=40):
            raise DemoError("north's bridge did not come up:\n"
                            + self.site.daemons["broker-north"].log())
        say(_("The bridge of venue north is up: the main venue sees its link"))
        path = os.path.join(self.work, "site-import.json")
        with open(path, "w") as f:
            json.dump(SITE, f)
        self.ctl("site", "import", path)
        self.ctl("session", "create", "--date", self.session)
        self.ctl("tender", "add", "--session", self.session, "--id", "T-NORTH", "--name",
                 _("Bridge over the north river"))
        csv = os.path.join(self.work, "committee.csv")
        zh = demo._("Ring road, lot 3") != "Ring road, lot 3"
        with open(csv, "w") as f:
            f.write("person_id,name,id_number,role\n" + "".join(
                "%s,%s,%s,expert\n" % (p, PEOPLE_ZH[p] if zh else "Expert " + p[-1].upper(), n)
                for p, n in PEOPLE))
        self.ctl("committee", "import", "--tender", "T-NORTH", csv)
        # the tender's venues (docs/venues.md): the main venue booked, a secondary venue
        # drawn on site, the regulator's representative witnessing the draw
        self.ctl("venue", "book", "T-NORTH", "--venues", "main")
        c = self.ctl("venue", "draw", "T-NORTH", "--from", "north", "--count", "1")
        r = self.ctl("venue", "run", "T-NORTH", "--witness-entropy", "venues demo 4 7",
                     "--confirm-commitment", c["commitment"][:16], identity="supervisor-reg1")
        say(_("Venues of T-NORTH: main booked, %s drawn on site (commitment %s..., witnessed "
              "by %s)") % (", ".join(r["drawn"]), c["commitment"][:16], r["witness"]))
        commitment = self.ctl("draw", "commit", "--session", self.session)["commitment"]
        rc, out, err = self.site.witness_run(self.session, "venues demo", commitment)
        if rc != 0:
            raise DemoError("draw run: %s" % err.strip())
        say(_("Tender T-NORTH: 2 experts, the seat draw run by the witness over rooms EM "
              "(main venue) and EN (venue north)"))

    def agents(self):
        self.site.start_agent("EM", door=True)
        say(_("Room agent EM connected to the main broker"))
        spool = self.spool
        os.makedirs(spool, exist_ok=True)
        conf = self.site.write_config(
            "agent-EN", "agent-EN",
            "[agent]\nroom=EN\nvenue=north\nspool_dir=%s\ncredential_key=%s\n"
            % (spool, self.prov.credential_key) + door_config(self.site.door_socket("EN"))
            + streams_config([], [(STREAM, "S1")], segment_s=1, audio=False))
        # at a secondary venue the agent speaks only to its venue's broker
        with open(conf) as f:
            text = f.read().replace("127.0.0.1:%d" % self.prov.port,
                                    "127.0.0.1:%d" % self.north_port)
        with open(conf, "w") as f:
            f.write(text)
        d = self.site.start_daemon("agent-EN", [os.path.join(self.bin, "evalroom-agent"),
                                                "-v", "--config", conf])
        if not d.wait_log("connected to the broker"):
            raise DemoError("agent EN did not connect:\n" + d.log())
        say(_("Room agent EN connected to north's broker (door locked, seat camera recording)"))
        self.people = {}
        for pid, idn in PEOPLE:
            out = self.ctl("desk", "checkin", "--person", pid, "--id-number", idn,
                           "--screening", "passed", identity="desk-gate")
            self.people[out["room"]] = (pid, out["credential"].split(":", 1)[1])
        if set(self.people) != {"EM", "EN"}:
            raise DemoError("check-in placed the experts in %s" % sorted(self.people))
        say(_("Desk checked in both experts: %s to room EM, %s to room EN at venue north")
            % (self.people["EM"][0], self.people["EN"][0]))

    def segments(self):
        return count(self.archive, "SELECT count(*) FROM segments WHERE stream = ?", STREAM)

    def record(self):
        if not wait_for(lambda: self.segments() >= 3, timeout=60):
            raise DemoError("no recording of %s reached the archive" % STREAM)
        say(_("North's seat camera records into the tender's archive at the main venue: "
              "%d segments so far") % self.segments())

    def cut(self):
        t0 = time.monotonic()
        self.relay.send_signal(signal.SIGUSR1)
        say(_("Cutting venue north's WAN link mid-recording (a black hole, as a failed line "
              "looks: no reset)"))
        lost = wait_for(lambda: self.alerts("venue_link_lost"), timeout=60)
        if not lost:
            raise DemoError("no venue_link_lost alert:\n" + self.site.daemons["controller"].log())
        down = self.venue().get("since")
        say(_("ALERT venue_link_lost for venue north after %.0f s (alert #%d): the fault "
              "clock runs from %s") % (time.monotonic() - t0, lost[0]["id"],
                                        _fmt_time(down)))
        agent = self.site.daemons["agent-EN"]
        if not wait_for(lambda: "link to the main venue is down" in agent.log(), timeout=40):
            raise DemoError("agent EN did not notice the cut:\n" + agent.log())
        say(_("Agent EN: the link to the main venue is down; deciding, recording and keeping "
              "events at the venue"))
        say(_("evalroomctl venues at the main venue:"))
        self.show(self.ctl_text("venues"))
        door = DoorSim(self.site.door_socket("EN"))

        def pulses():
            return sum(1 for _t, level in door.history("DOOR_LOCK") if level == 1)
        before = pulses()
        pid, pin = self.people["EN"]
        door.pin(pin)
        if not wait_for(lambda: pulses() > before, timeout=10):
            raise DemoError("the door of EN did not open during the cut:\n" + agent.log())
        say(_("At the cut-off venue %s types the PIN: the door of EN opens (decided from its "
              "own admission list)") % pid)
        time.sleep(2)
        door.pin(pin)
        if not wait_for(lambda: "door EN: denied" in agent.log(), timeout=10):
            raise DemoError("the door of EN did not refuse the used PIN:\n" + agent.log())
        say(_("The same PIN again: refused as used (single use, enforced at the door)"))
        time.sleep(max(0.0, self.cut_s - (time.monotonic() - t0)))
        events = count(os.path.join(self.spool, "outbox.db"), "SELECT count(*) FROM outbox")
        segs = count(os.path.join(self.spool, "media", "spool.db"),
                     "SELECT count(*) FROM segment")
        say(_("After %.0f s of cut, room EN keeps %d events and %d segments at the venue")
            % (time.monotonic() - t0, events, segs))

    def restore(self):
        t0 = time.monotonic()
        self.relay.send_signal(signal.SIGUSR2)
        say(_("The WAN link of venue north is back"))
        if not wait_for(lambda: self.venue().get("link") == "up", timeout=60):
            raise DemoError("north's link did not come back:\n"
                            + self.site.daemons["broker-north"].log())
        say(_("The bridge reconnected after %.0f s; evalroomctl venues:")
            % (time.monotonic() - t0))
        self.show(self.ctl_text("venues"))
        outbox = os.path.join(self.spool, "outbox.db")
        spool = os.path.join(self.spool, "media", "spool.db")
        if not wait_for(lambda: count(outbox, "SELECT count(*) FROM outbox") == 0 and
                        count(spool, "SELECT count(*) FROM segment") <= 4, timeout=120):
            raise DemoError("north's backlog did not drain:\n"
                            + self.site.daemons["agent-EN"].log())
        say(_("North's backlog drained in %.0f s: every kept event recorded, the spool down "
              "to what is in flight") % (time.monotonic() - t0))
        if not wait_for(lambda: self.alerts("venue_link_lost")[0]["state"] == "resolved",
                        timeout=30):
            raise DemoError("venue_link_lost was not resolved")
        say(_("Alert venue_link_lost resolved by itself when the link returned"))

    def close(self):
        rc, out, err = self.site.ctl("tender", "close", "T-NORTH", "--wait", "30", timeout=90)
        if rc != 0:
            raise DemoError("tender close: %s" % err.strip())
        segs = rows(self.archive, "SELECT seq FROM segments WHERE stream = ? ORDER BY seq",
                    STREAM)
        seqs = [s for s, in segs]
        gaps = count(self.archive, "SELECT count(*) FROM gaps WHERE stream = ?", STREAM)
        once = len(seqs) == len(set(seqs))
        say(_("Tender T-NORTH closed and sealed: %d segments of north's camera, each once "
              "(%s), %d recorded gaps") % (len(seqs), "%d..%d" % (seqs[0], seqs[-1])
                                            if seqs else "-", gaps))
        if not once:
            raise DemoError("a segment is in the archive twice: %s" % seqs)
        p = subprocess.run([os.path.join(self.bin, "evalroom-archive"), "verify", self.archive,
                            "--pubkey", self.prov.signing_pub],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise DemoError("archive verify: %s%s" % (p.stdout, p.stderr))
        say(_("evalroom-archive verify T-NORTH.evarc -> intact"))
        p = subprocess.run([os.path.join(self.bin, "evalroom-archive"), "verify-draw",
                            self.archive], capture_output=True, text=True, timeout=120)
        if p.returncode != 0 or "venue draw of tender T-NORTH" not in p.stdout:
            raise DemoError("archive verify-draw: %s%s" % (p.stdout, p.stderr))
        say(_("evalroom-archive verify-draw T-NORTH.evarc -> the seat draw and the venue draw "
              "re-run and identical"))
        state = os.path.join(self.work, "controller-state", "state.db")
        decisions = [json.loads(b).get("reason") for b, in rows(
            state, "SELECT body FROM agent_event WHERE room = 'EN' AND kind = 'door.event' "
            "ORDER BY seq") if json.loads(b).get("event") in ("granted", "denied")]
        say(_("The door decisions made at north during the cut are in the main venue's "
              "records, once each, in order: %s") % ", ".join(decisions))

    def stop(self):
        if self.relay and self.relay.poll() is None:
            self.relay.terminate()
            self.relay.wait(10)
        self.site.close()


def _fmt_time(us):
    if not us:
        return "?"
    return time.strftime("%H:%M:%S UTC", time.gmtime(us / 1e6))


def run(args, bin_dir, work):
    """The venues demo: 0 when everything happened as told."""
    global _
    demo.speak_the_language(os.path.abspath(args.build))
    _ = demo._
    day = None
    rc = 1
    try:
        say(_("Provisioning a main venue and a secondary venue in %s (CA, certificates, two "
              "brokers' configurations, the bridge's identity)") % work)
        day = VenuesDay(bin_dir, work, args.cut_seconds)
        day.brokers()
        day.start()
        day.agents()
        day.record()
        day.cut()
        day.restore()
        day.close()
        rc = 0
    except DemoError as e:
        say(_("DEMO FAILED: %s") % e)
    except KeyboardInterrupt:
        say(_("Interrupted: stopping everything"))
        rc = 130
    finally:
        if day:
            day.stop()
            say(_("Stopped the agents, the controller, the relay and the brokers"))
    return rc
