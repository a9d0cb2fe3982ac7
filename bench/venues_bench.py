"""Remote venues benchmark (docs/venues.md, "Measured"): V secondary venues of R rooms each
on this machine, no namespaces: each venue's real mosquitto on its own loopback port,
configured by `evalroomctl provision` and bridged (mosquitto's own TLS bridge) to the main
venue's real broker through its own relay (tests/integration/wan_relay.py: the venue's
WAN, which SIGUSR1 cuts as a black hole and SIGUSR2 restores); the real controller at the
main venue. The rooms are simulated agents (200 real agents with their recorders do not fit
two cores): one process per venue speaks the agents' protocol with their certificates to
the venue's broker (statuses with their backlog every 10 s, door events, media chunks of
version 2, events kept in an outbox until `events.ack`, segments in a spool until
`segment.ack` with at most 4 in flight, the link watched as the agent does, everything
replayed in order when it returns).

Prints, each run on lines of its own:
  main controller cpu (utime + stime from /proc/PID/stat over wall time), main broker cpu
  events recorded per second and their delivery latency (the agent's `ts` to the
  controller's `received` in state.db: both clocks are this machine's), p50 and p99
  the command path back: events.ack at the agent after its event was sent, p50 and p99
  media recorded (Mbit/s into the controller's ledger) and the segment acknowledgements
  after the steady run, commands: an operator's `door ROOM status` to every room at once,
  through the controller and each room's bridge to its agent and back
then the outage of one venue: the cut noticed by its agents and by the controller, a
backlog of OUTAGE_S seconds' worth of its events and segments (generated at the cut,
faster than real time), the link restored, and the time until the controller has recorded
all of it (checked against state.db and the ingest ledger).

usage: venues_bench.py BIN_DIR WORK_DIR        (asserts nothing)
env:   EVALROOM_BENCH_VENUES (10), EVALROOM_BENCH_ROOMS (20 per venue),
       EVALROOM_BENCH_MEDIA_ROOMS (1 per venue ship a camera), EVALROOM_BENCH_MBIT (2.0),
       SECONDS_PER_RUN (30), EVALROOM_BENCH_OUTAGE_S (600), EVALROOM_BENCH_WAN_MS (0:
       the relay adds no delay), EVALROOM_BENCH_EVENTS_PER_MIN (3: door events per room
       per minute in the steady run; the burst run sends 60)."""
import collections
import hashlib
import json
import os
import random
import re
import select
import signal
import sqlite3
import ssl
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
INTEG = os.path.join(HERE, "..", "tests", "integration")
sys.path.insert(0, INTEG)
import harness  # noqa: E402

T = "evalroom/v1"
CHUNK = 256 * 1024
MAX_INFLIGHT = 4      # segments of a room in flight, as the agent's shipper (docs/venues.md)
STATUS_S = 10         # the agent's status heartbeat
LINK_TIMEOUT_S = 20   # [agent] link_timeout_s's default
ACK_TIMEOUT_S = 30    # a segment unacknowledged this long is sent again
RESEND_AFTER_ACK_S = 2  # an event older than an acknowledged one goes again (outbox.h)
RESEND_BACKSTOP_S = 30  # every unacknowledged event goes again after this long
RESEND_MAX = 512        # events sent again per room per second at most


def env(name, default, kind=int):
    return kind(os.environ.get(name, default))


# ---------------------------------------------------------------------------------------
# The simulated agents of one venue (a child process: venues_bench.py --sim JSON)
# ---------------------------------------------------------------------------------------

class SimRoom:
    def __init__(self, sim, room, media):
        import paho.mqtt.client as mqtt
        self.sim, self.room, self.media = sim, room, media
        self.last_seq = 0
        self.started = int(time.time() * 1e6)
        # seq -> [payload, sent monotonic or None (latency), last published monotonic or None]
        self.outbox = collections.OrderedDict()
        self.acked_max = 0  # the highest seq acknowledged exactly (events.ack {seqs})
        self.resent = 0
        self.spool = collections.OrderedDict()   # segment_seq -> segment dict
        self.inflight = {}                        # segment_seq -> sent monotonic or None
        self.events_made = 0
        self.made = []  # every event's seq
        self.next_event = None
        self.next_segment = None
        self.segment_seq = 0
        self.cursor_us = int((time.time() - 3600) * 1e6)  # the stream's own timeline
        self.flip = False
        cn = "agent-" + room
        c = mqtt.Client(client_id=cn, protocol=mqtt.MQTTv5)
        d = sim.cfg["dir"]
        c.tls_set(ca_certs=os.path.join(d, "ca.crt"),
                  certfile=os.path.join(d, "clients", cn + ".crt"),
                  keyfile=os.path.join(d, "clients", cn + ".key"),
                  cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        c.max_inflight_messages_set(2000)
        c.max_queued_messages_set(0)
        c.on_message = self.on_message
        c.connect("127.0.0.1", sim.cfg["port"], keepalive=60, clean_start=True)
        self.c = c

    def seq(self):
        self.last_seq = max(self.last_seq + 1, int(time.time() * 1e6))
        return self.last_seq

    def subscribe(self):
        self.c.subscribe([(T + "/room/%s/cmd" % self.room, 1),
                          (T + "/controller/status", 1),
                          (T + "/venue/%s/link" % self.sim.venue, 1)])

    def publish(self, topic, payload, retain=False, props=None):
        self.c.publish(topic, payload, qos=1, retain=retain, properties=props)

    def envelope(self, kind, **members):
        s = self.seq()
        m = {"v": 1, "kind": kind, "seq": s, "ts": s}
        m.update(members)
        return m

    def status(self):
        segs = len(self.spool)
        size = sum(sg["size"] for sg in self.spool.values())
        m = self.envelope("status", state="online", identity="agent-" + self.room,
                          version="bench", started=self.started,
                          detail={"backlog": {"events": len(self.outbox), "segments": segs,
                                              "bytes": size}})
        self.publish(T + "/room/%s/status" % self.room, json.dumps(m), retain=True)

    def event(self):
        """A door event (opened, then closed): kept in the outbox until acknowledged."""
        self.flip = not self.flip
        ev, st = ("opened", "unlocked") if self.flip else ("closed", "open")
        m = self.envelope("door.event", event=ev, state=st)
        m["at"] = m["ts"]
        text = json.dumps(m)
        self.events_made += 1
        self.made.append(m["seq"])
        if self.sim.link_up:
            self.publish(T + "/room/%s/event" % self.room, text)
            now = time.monotonic()
            self.outbox[m["seq"]] = [text, now, now]
        else:
            self.outbox[m["seq"]] = [text, None, None]

    def resend(self, now):
        """As the agent's outbox_resend_due: an event still unacknowledged when a later one
        was acknowledged goes again 2 s after it was last sent; every event after 30 s."""
        if not self.sim.link_up:
            return
        n = 0
        for seq, item in self.outbox.items():
            if n >= RESEND_MAX:
                break
            if item[2] is None:
                continue
            age = now - item[2]
            if (seq < self.acked_max and age > RESEND_AFTER_ACK_S) or age > RESEND_BACKSTOP_S:
                self.publish(T + "/room/%s/event" % self.room, item[0])
                item[1] = None  # sent again: not a latency sample
                item[2] = now
                n += 1
        self.resent += n

    def segment(self, backlog=False):
        seg_s = self.sim.cfg["seg_s"]
        data, sha = self.sim.pool[self.segment_seq % len(self.sim.pool)]
        self.segment_seq += 1
        start = self.cursor_us
        self.cursor_us += int(seg_s * 1e6)
        self.spool[self.segment_seq] = {"seq": self.segment_seq, "start": start,
                                        "end": self.cursor_us, "data": data, "sha": sha,
                                        "size": len(data), "backlog": backlog}

    def ship(self, now):
        if not self.sim.link_up:
            return
        for k, sent in list(self.inflight.items()):
            if sent is not None and now - sent > ACK_TIMEOUT_S:
                del self.inflight[k]  # sent again below
        for k, sg in self.spool.items():
            if len(self.inflight) >= MAX_INFLIGHT:
                break
            if k in self.inflight:
                continue
            self.send_segment(sg)
            self.inflight[k] = None if sg.get("sent") else now
            sg["sent"] = True

    def send_segment(self, sg):
        stream = "cam-" + self.room
        for off in range(0, sg["size"], CHUNK):
            piece = sg["data"][off:off + CHUNK]
            s = self.seq()
            props = harness.user_props([
                ("v", 2), ("kind", "segment.chunk"), ("seq", s), ("ts", s),
                ("stream", stream), ("segment_seq", sg["seq"]), ("start_us", sg["start"]),
                ("end_us", sg["end"]), ("size", sg["size"]), ("sha256", sg["sha"]),
                ("recovered", "false"), ("offset", off),
                ("last", "true" if off + len(piece) == sg["size"] else "false")])
            self.publish(T + "/room/%s/media" % self.room, piece, props=props)

    def link_up(self):
        """The link returned: the status with the backlog, the outbox in order, every
        unacknowledged segment again (as the agent does)."""
        self.status()
        now = time.monotonic()
        for seq, item in self.outbox.items():
            self.publish(T + "/room/%s/event" % self.room, item[0])
            item[1] = None  # a replay: not a latency sample
            item[2] = now
        self.inflight.clear()

    def on_message(self, client, userdata, msg):
        now = time.monotonic()
        if msg.topic.endswith("/controller/status"):
            self.sim.heard(now)
            return
        if msg.topic.endswith("/link"):
            self.sim.link_word(bytes(msg.payload), now)
            return
        try:
            m = json.loads(msg.payload)
        except ValueError:
            return
        if m.get("kind") == "segment.ack" and "segment_seq" in m:
            k = m["segment_seq"]
            sent = self.inflight.pop(k, None)
            if self.spool.pop(k, None) is not None and sent is not None:
                self.sim.seg_ack.append((now - sent) * 1e3)
            return
        if m.get("kind") != "cmd":
            return
        if m.get("command") == "events.ack":
            args = m.get("args") or {}
            for seq in args.get("seqs") or []:
                item = self.outbox.pop(seq, None)
                if item is not None and item[1] is not None:
                    self.sim.ev_ack.append((now - item[1]) * 1e3)
                self.acked_max = max(self.acked_max, seq)
            upto = args.get("upto", 0)
            while self.outbox:
                seq, item = next(iter(self.outbox.items()))
                if seq > upto:
                    break
                self.outbox.popitem(last=False)
                if item[1] is not None:
                    self.sim.ev_ack.append((now - item[1]) * 1e3)
            return
        r = self.envelope("reply", id=m.get("id", ""), ok=True, result={"room": self.room})
        self.publish(T + "/room/%s/reply" % self.room, json.dumps(r))


class Sim:
    def __init__(self, cfg):
        self.cfg = cfg
        self.venue = cfg["venue"]
        size = int(cfg["mbit"] * 1e6 / 8 * cfg["seg_s"])
        self.pool = []
        for _ in range(4):
            d = os.urandom(size)
            self.pool.append((d, hashlib.sha256(d).hexdigest()))
        self.link_up = True
        self.heard_at = time.monotonic()
        self.rate = 0.0   # door events per room per minute
        self.media = False
        self.ev_ack, self.seg_ack = [], []
        self.watch = None
        self.rooms = [SimRoom(self, r, r in cfg["media_rooms"]) for r in cfg["rooms"]]
        self.by_sock = {}

    def say(self, **m):
        sys.stdout.write(json.dumps(m) + "\n")
        sys.stdout.flush()

    def heard(self, now):
        self.heard_at = now
        if not self.link_up:
            self.set_link(True, "the controller is heard again")

    def link_word(self, payload, now):
        if payload == b"1":
            self.heard_at = now
            self.set_link(True, "the bridge connected")
        elif payload == b"0":
            self.set_link(False, "the bridge says so")

    def set_link(self, up, why):
        if up == self.link_up:
            return
        self.link_up = up
        self.say(link="up" if up else "down", t=time.monotonic(), why=why)
        if up:
            for r in self.rooms:
                r.link_up()

    def command(self, m):
        if "rate" in m:
            self.rate = m["rate"]
            now = time.monotonic()
            for r in self.rooms:
                r.next_event = now + random.expovariate(self.rate / 60.0) if self.rate else None
        if "media" in m:
            self.media = m["media"]
            now = time.monotonic()
            for i, r in enumerate(self.rooms):
                if r.media:
                    r.next_segment = (now + self.cfg["seg_s"] * i / len(self.rooms)
                                      if self.media else None)
        if "backlog_s" in m:
            # OUTAGE_S seconds of this venue's events and segments, made now
            n_ev = 0
            n_seg = 0
            for r in self.rooms:
                k = int(round(m["backlog_s"] * m["backlog_rate"] / 60.0))
                for _ in range(k):
                    r.event()
                n_ev += k
                if r.media:
                    for _ in range(int(m["backlog_s"] / self.cfg["seg_s"])):
                        r.segment(backlog=True)
                        n_seg += 1
            self.say(backlog={"events": n_ev, "segments": n_seg,
                              "bytes": n_seg * len(self.pool[0][0])})
        if m.get("watch"):
            # everything held now: drained once all of it is acknowledged
            self.watch = {r.room: (r.last_seq, r.segment_seq) for r in self.rooms}
            self.watch_held = {
                "events": sum(len(r.outbox) for r in self.rooms),
                "segments": sum(len(r.spool) for r in self.rooms),
                "limits": {r.room: [r.last_seq, r.segment_seq] for r in self.rooms},
                "made_events": sum(r.events_made for r in self.rooms),
                "made_segments": sum(r.segment_seq for r in self.rooms)}
            self.watch_events_done = None
        if m.get("made"):
            self.say(made={r.room: {"seqs": r.made, "outbox": list(r.outbox),
                                    "resent": r.resent}
                           for r in self.rooms})
        if m.get("report"):
            self.say(report={"ev_ack": self.ev_ack, "seg_ack": self.seg_ack,
                             "outbox": sum(len(r.outbox) for r in self.rooms),
                             "spool": sum(len(r.spool) for r in self.rooms)})
            self.ev_ack, self.seg_ack = [], []

    def check_watch(self, now):
        if self.watch is None or not self.link_up:
            return
        ev_left = sum(1 for r in self.rooms for s in r.outbox if s <= self.watch[r.room][0])
        seg_left = sum(1 for r in self.rooms for s in r.spool if s <= self.watch[r.room][1])
        if ev_left == 0 and self.watch_events_done is None:
            self.watch_events_done = now
        if ev_left == 0 and seg_left == 0:
            self.say(drained={"t": now, "events_t": self.watch_events_done,
                              "held": self.watch_held})
            self.watch = None

    def run(self):
        for r in self.rooms:
            r.c.loop_write()
        # the CONNACKs, then the subscriptions and the first status
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(r.c.is_connected() for r in self.rooms):
            self.pump(0.05)
        for r in self.rooms:
            r.subscribe()
            r.status()
        self.say(ready=True)
        inbuf = b""
        next_status = time.monotonic() + STATUS_S
        next_resend = time.monotonic() + 1
        while True:
            ready = self.pump(0.02, stdin=True)
            if 0 in ready:
                data = os.read(0, 65536)
                if not data:
                    return
                inbuf += data
                while b"\n" in inbuf:
                    line, inbuf = inbuf.split(b"\n", 1)
                    if line.strip():
                        self.command(json.loads(line))
            now = time.monotonic()
            if self.link_up and now - self.heard_at > LINK_TIMEOUT_S:
                self.set_link(False, "nothing from the controller for %d s" % LINK_TIMEOUT_S)
            if now >= next_status:
                next_status = now + STATUS_S
                if self.link_up:
                    for r in self.rooms:
                        r.status()
            for r in self.rooms:
                while r.next_event is not None and now >= r.next_event:
                    r.event()
                    r.next_event += random.expovariate(self.rate / 60.0)
                while r.next_segment is not None and now >= r.next_segment:
                    r.segment()
                    r.next_segment += self.cfg["seg_s"]
                r.ship(now)
            if now >= next_resend:
                next_resend = now + 1
                for r in self.rooms:
                    r.resend(now)
            self.check_watch(now)

    def pump(self, timeout, stdin=False):
        socks = {}
        for r in self.rooms:
            s = r.c.socket()
            if s is not None:
                socks[s.fileno()] = r.c
        rl = list(socks) + ([0] if stdin else [])
        wl = [fd for fd, c in socks.items() if c.want_write()]
        rd, wr, _ = select.select(rl, wl, [], timeout)
        for fd in rd:
            if fd in socks:
                socks[fd].loop_read(100)
        for fd in wr:
            socks[fd].loop_write(100)
        for c in socks.values():
            c.loop_misc()
        return rd


def sim_main(cfg_text):
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    Sim(json.loads(cfg_text)).run()


# ---------------------------------------------------------------------------------------
# The bench: brokers, relays, controller, the venues' simulated agents, the runs
# ---------------------------------------------------------------------------------------

def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def rows(path, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


class Bench:
    def __init__(self, bin_dir, work):
        self.bin, self.work = bin_dir, work
        self.nv = env("EVALROOM_BENCH_VENUES", 10)
        self.nr = env("EVALROOM_BENCH_ROOMS", 20)
        self.nm = env("EVALROOM_BENCH_MEDIA_ROOMS", 1)
        self.mbit = env("EVALROOM_BENCH_MBIT", 2.0, float)
        self.run_s = env("SECONDS_PER_RUN", 30, float)
        self.outage_s = env("EVALROOM_BENCH_OUTAGE_S", 600, float)
        self.wan_ms = env("EVALROOM_BENCH_WAN_MS", 0, float)
        self.rate = env("EVALROOM_BENCH_EVENTS_PER_MIN", 3, float)
        self.seg_s = 2.0
        self.procs = []
        self.relays = {}
        self.sims = {}
        self.lines = {}

    def start(self, name, argv, **kw):
        log = open(os.path.join(self.work, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdout=kw.get("stdout", log), stderr=log,
                             stdin=kw.get("stdin", subprocess.DEVNULL))
        self.procs.append(p)
        return p

    def log(self, name):
        try:
            with open(os.path.join(self.work, name + ".log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_log(self, name, text, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log(name):
                return True
            time.sleep(0.05)
        raise RuntimeError("%s: no '%s' within %d s:\n%s" % (name, text, timeout,
                                                             self.log(name)[-2000:]))

    def setup(self):
        self.venues = ["v%02d" % (i + 1) for i in range(self.nv)]
        self.main_port = harness.free_port()
        self.vport = {v: harness.free_port() for v in self.venues}
        self.rport = {v: harness.free_port() for v in self.venues}
        self.rooms = {v: ["%sR%02d" % (v.upper(), j + 1) for j in range(self.nr)]
                      for v in self.venues}
        site = {"id": "vbench", "name": "Remote venues bench",
                "venues": [{"id": "main", "main": True, "host": "127.0.0.1",
                            "port": self.main_port}] +
                [{"id": v, "host": "127.0.0.1", "port": self.vport[v]} for v in self.venues],
                "rooms": [{"id": r, "kind": "expert", "venue": v, "door": "D-" + r,
                           "seats": [{"id": "S1"}]}
                          for v in self.venues for r in self.rooms[v]],
                "operators": ["bench"], "desks": ["gate"], "auditors": ["audrey"]}
        self.prov = harness.provision(self.bin, os.path.join(self.work, "site"), site=site,
                                      port=self.main_port)
        self.site_file = os.path.join(self.work, "site-import.json")
        with open(self.site_file, "w") as f:
            json.dump(site, f)
        self.broker = self.start("broker-main", [harness.MOSQUITTO, "-c", self.prov.conf])
        self.wait_log("broker-main", "listen socket on port")
        for v in self.venues:
            # the venue's WAN: its own relay in front of the main broker
            self.relays[v] = self.start("relay-" + v, [
                sys.executable, os.path.join(INTEG, "wan_relay.py"), "--listen",
                "127.0.0.1:%d" % self.rport[v], "--to", "127.0.0.1:%d" % self.main_port,
                "--delay-ms", str(self.wan_ms)])
            self.wait_log("relay-" + v, "relaying")
            conf = os.path.join(self.prov.dir, "venues", v, "broker", "mosquitto.conf")
            with open(conf) as f:
                text = f.read()
            old = "address 127.0.0.1:%d\n" % self.main_port
            if old not in text:
                raise RuntimeError("%s: no '%s' line" % (conf, old.strip()))
            bench_conf = conf.replace(".conf", ".bench.conf")
            with open(bench_conf, "w") as f:
                f.write(text.replace(old, "address 127.0.0.1:%d\n" % self.rport[v]))
            self.start("broker-" + v, [harness.MOSQUITTO, "-c", bench_conf])
        for v in self.venues:
            self.wait_log("broker-" + v, "listen socket on port")
        state = os.path.join(self.work, "controller-state")
        os.makedirs(state, exist_ok=True)
        self.state_db = os.path.join(state, "state.db")
        self.ingest_db = os.path.join(state, "ingest.db")
        conf = self.config("controller", "controller",
                           "[controller]\nstate_dir=%s\nsigning_key=%s\ncredential_key=%s\n"
                           # one operator asks all 200 rooms at once (default burst 50)
                           "[requests]\nburst=%d\n"
                           % (state, self.prov.signing_key, self.prov.credential_key,
                              max(50, self.nv * self.nr + 10)))
        self.ctl_proc = self.start("controller", [os.path.join(self.bin, "evalroom-controller"),
                                                  "--config", conf])
        self.wait_log("controller", "connected to the broker")
        self.ctl_conf = self.config("ctl", "operator-bench", "")
        self.ok("site", "import", self.site_file)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(x["link"] == "up" for x in self.venue_states().values()) \
                    and len(self.venue_states()) == self.nv:
                break
            time.sleep(1)
        else:
            raise RuntimeError("the bridges did not all come up: %s" % self.venue_states())

    def config(self, name, cn, extra):
        cert, key = self.prov.cert(cn)
        path = os.path.join(self.work, name + ".conf")
        with open(path, "w") as f:
            f.write("[mqtt]\nuri=ssl://127.0.0.1:%d\nca=%s\ncert=%s\nkey=%s\n%s"
                    % (self.main_port, self.prov.ca, cert, key, extra))
        return path

    def ok(self, *args):
        p = subprocess.run([os.path.join(self.bin, "evalroomctl"), "--config", self.ctl_conf,
                            "--json"] + list(args), capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            raise RuntimeError("evalroomctl %s: %s %s" % (" ".join(args), p.stdout, p.stderr))
        return json.loads(p.stdout) if p.stdout.strip() else None

    def venue_states(self):
        return {x["venue"]: x for x in self.ok("venues")["venues"]}

    def start_sims(self):
        for v in self.venues:
            cfg = {"venue": v, "rooms": self.rooms[v], "media_rooms": self.rooms[v][:self.nm],
                   "port": self.vport[v], "dir": self.prov.dir, "mbit": self.mbit,
                   "seg_s": self.seg_s}
            p = self.start("sim-" + v, [sys.executable, os.path.abspath(__file__), "--sim",
                                        json.dumps(cfg)], stdout=subprocess.PIPE,
                           stdin=subprocess.PIPE)
            self.sims[v] = p
            q = collections.deque()
            self.lines[v] = q
            threading.Thread(target=self.reader, args=(p, q), daemon=True).start()
        for v in self.venues:
            self.expect(v, "ready", 60)

    @staticmethod
    def reader(p, q):
        for line in p.stdout:
            q.append(json.loads(line))

    def tell(self, m, venues=None):
        for v in venues or self.venues:
            self.sims[v].stdin.write((json.dumps(m) + "\n").encode())
            self.sims[v].stdin.flush()

    def expect(self, v, key, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            q = self.lines[v]
            while q:
                m = q.popleft()
                if key in m:
                    return m
            if self.sims[v].poll() is not None:
                raise RuntimeError("the simulated agents of %s ended:\n%s"
                                   % (v, self.log("sim-" + v)[-2000:]))
            time.sleep(0.02)
        raise RuntimeError("%s: no '%s' within %d s" % (v, key, timeout))

    def reports(self):
        self.tell({"report": True})
        ev, seg = [], []
        self.held = 0
        for v in self.venues:
            r = self.expect(v, "report", 30)["report"]
            ev += r["ev_ack"]
            seg += r["seg_ack"]
            self.held += r["outbox"]
        return ev, seg

    def settle(self, timeout=60):
        """Back to the steady rate until the agents' outboxes are empty again."""
        self.tell({"rate": self.rate, "media": True})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.reports()
            if self.held <= self.nv * self.nr * self.rate / 60:
                return
            time.sleep(1)

    def run(self, title, rate):
        self.tell({"rate": rate, "media": True})
        time.sleep(5)
        self.reports()
        t0, w0 = time.monotonic(), time.time()
        c0, b0 = cpu_ticks(self.ctl_proc.pid), cpu_ticks(self.broker.pid)
        time.sleep(self.run_s)
        t1, w1 = time.monotonic(), time.time()
        c1, b1 = cpu_ticks(self.ctl_proc.pid), cpu_ticks(self.broker.pid)
        ev_ack, seg_ack = self.reports()
        time.sleep(2)  # the window's last events reach state.db
        hz = os.sysconf("SC_CLK_TCK")
        lat = [(rcv - at) / 1e3 for at, rcv in rows(
            self.state_db, "SELECT at, received FROM agent_event WHERE kind = 'door.event' "
            "AND at >= ? AND at < ?", int(w0 * 1e6), int(w1 * 1e6))]
        media = rows(self.ingest_db, "SELECT count(*), coalesce(sum(size), 0) FROM segment "
                     "WHERE stored_us >= ? AND stored_us < ?", int(w0 * 1e6), int(w1 * 1e6))[0]
        print("%s, %.0f s:" % (title, t1 - t0))
        print("  main controller cpu: %.1f %% of a core; main broker cpu: %.1f %% of a core"
              % ((c1 - c0) / hz / (t1 - t0) * 100, (b1 - b0) / hz / (t1 - t0) * 100))
        print("  events recorded: %.1f/s; delivery (agent -> two brokers and the bridge -> "
              "recorded at the main venue): p50 %.0f ms, p99 %.0f ms"
              % (len(lat) / (t1 - t0), pct(lat, 0.5), pct(lat, 0.99)))
        print("  acknowledgements back (events.ack at the agent after its event): p50 %.0f ms, "
              "p99 %.0f ms (%d)" % (pct(ev_ack, 0.5), pct(ev_ack, 0.99), len(ev_ack)))
        print("  media recorded: %.1f Mbit/s (%d segments); segment ack after the last chunk: "
              "p50 %.0f ms, p99 %.0f ms" % (media[1] * 8 / 1e6 / (t1 - t0), media[0],
                                            pct(seg_ack, 0.5), pct(seg_ack, 0.99)))
        sys.stdout.flush()

    def commands(self):
        """An operator's `door ROOM status` to every room at once (one request each, on one
        connection to the main broker): each goes to the controller, through the room's
        bridge to its agent and back. Runs while the steady traffic and media go on."""
        c = harness.Client(self.prov, "operator-bench", client_id="bench-commands")
        if not c.connect():
            raise RuntimeError("the operator could not connect")
        resp = T + "/ctl/operator-bench/resp"
        c.subscribe(resp)
        back, lock = {}, threading.Lock()

        def on_msg(client, userdata, msg):
            if msg.topic != resp:
                return
            m = json.loads(msg.payload)
            with lock:
                back[m.get("id")] = (time.monotonic(), m.get("ok"),
                                     (m.get("error") or {}).get("message", ""))
        c.client.on_message = on_msg
        rooms = [r for v in self.venues for r in self.rooms[v]]
        sent, seq = {}, 0
        t0 = time.monotonic()
        for i, room in enumerate(rooms):
            now = int(time.time() * 1e6)
            seq = max(seq + 1, now)
            rid = "bench-door-%d" % i
            m = {"v": 1, "kind": "request", "seq": seq, "ts": now, "id": rid,
                 "expires": now + 60 * 1000000, "command": "door",
                 "args": {"room": room, "action": "status"}}
            sent[rid] = time.monotonic()
            with c._io:  # the harness's network loop shares the TLS socket
                c.client.publish(T + "/ctl/operator-bench/req", json.dumps(m), qos=1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if len(back) >= len(sent):
                    break
            time.sleep(0.01)
        c.close()
        with lock:
            rtt = [(back[k][0] - t) * 1e3 for k, t in sent.items() if k in back]
            ok = sum(1 for k in sent if k in back and back[k][1])
            last = max((back[k][0] for k in sent if k in back), default=t0) - t0
            errors = collections.Counter(re.sub(r"[A-Z0-9]{2,}R[0-9]{2}", "ROOM", back[k][2])
                                         for k in sent if k in back and not back[k][1])
        print("  commands: `door ROOM status` to all %d rooms at once (operator -> controller "
              "-> bridge -> agent and back): %d answered (%d ok) within %.1f s, %.0f/s; "
              "round trip p50 %.0f ms, p99 %.0f ms"
              % (len(rooms), len(rtt), ok, last, len(rtt) / last if last else 0,
                 pct(rtt, 0.5), pct(rtt, 0.99)))
        for text, n in errors.most_common(3):
            print("    refused %d times: %s" % (n, text))
        sys.stdout.flush()

    def outage(self):
        v = self.venues[0]
        self.tell({"rate": self.rate, "media": True})
        relay = self.relays[v]
        print("outage of venue %s (its relay cut as a black hole; the other venues go on at "
              "%g door events per room per minute with media):" % (v, self.rate))
        t_cut = time.monotonic()
        relay.send_signal(signal.SIGUSR1)
        down = self.expect(v, "link", LINK_TIMEOUT_S + 30)
        t_lost = None
        while time.monotonic() - t_cut < 60:
            if self.venue_states()[v]["link"] == "down":
                t_lost = time.monotonic()
                break
            time.sleep(0.5)
        print("  the venue's agents work locally after %.1f s (%s); the controller shows the "
              "link down (venue_link_lost) after %s" % (
                  down["t"] - t_cut, down["why"],
                  "%.1f s" % (t_lost - t_cut) if t_lost else "more than 60 s"))
        t0 = time.monotonic()
        self.tell({"backlog_s": self.outage_s, "backlog_rate": self.rate, "media": False},
                  [v])
        made = self.expect(v, "backlog", 120)["backlog"]
        print("  backlog of %g min, generated at the cut in %.1f s (faster than real time): "
              "%d events, %d segments (%.0f MB) on top of what the cut held back"
              % (self.outage_s / 60, time.monotonic() - t0, made["events"], made["segments"],
                 made["bytes"] / 1e6))
        self.tell({"watch": True, "media": True}, [v])
        time.sleep(1)
        t_restore = time.monotonic()
        relay.send_signal(signal.SIGUSR2)
        up = self.expect(v, "link", 120)
        drained = self.expect(v, "drained", 1800)["drained"]
        held = drained["held"]
        # the controller's own records: every held event and segment, once
        ev_rec = seg_rec = 0
        for room, (ev_max, seg_max) in held["limits"].items():
            ev_rec += rows(self.state_db, "SELECT count(*) FROM agent_event WHERE room = ? "
                           "AND seq <= ?", room, ev_max)[0][0]
            seg_rec += rows(self.ingest_db, "SELECT count(*) FROM segment WHERE room = ? "
                            "AND seq <= ?", room, seg_max)[0][0]
        print("  held at the restore: %d events, %d segments; the link up again after %.1f s "
              "(%s)" % (held["events"], held["segments"], up["t"] - t_restore, up["why"]))
        print("  drained (everything the venue held recorded at the main venue and "
              "acknowledged): events after %.1f s, all after %.1f s from the restore"
              % (drained["events_t"] - t_restore, drained["t"] - t_restore))
        print("  the controller's records of %s: %d of the %d events its agents made in "
              "state.db, %d of the %d segments in the ledger (each once: (room, seq) and "
              "(stream, number) are keys)" % (v, ev_rec, held["made_events"], seg_rec,
                                               held["made_segments"]))
        sys.stdout.flush()

    def integrity(self):
        """Every event the simulated agents made, against the controller's records: an
        event missing there that its agent no longer holds is lost."""
        time.sleep(3)
        self.tell({"made": True})
        made = held = lost = recorded = resent = 0
        for v in self.venues:
            for room, m in self.expect(v, "made", 60)["made"].items():
                have = {s for s, in rows(self.state_db, "SELECT seq FROM agent_event WHERE "
                                         "room = ?", room)}
                out = set(m["outbox"])
                made += len(m["seqs"])
                resent += m.get("resent", 0)
                recorded += sum(1 for s in m["seqs"] if s in have)
                held += sum(1 for s in m["seqs"] if s not in have and s in out)
                lost += sum(1 for s in m["seqs"] if s not in have and s not in out)
        drops = self.log("broker-main").count("Outgoing messages are being dropped")
        print("every event the agents made: %d, recorded by the controller %d, still held by "
              "the agents %d, lost %d; the main broker logged 'Outgoing messages are being "
              "dropped' %d times; the agents sent %d unacknowledged events again"
              % (made, recorded, held, lost, drops, resent))
        sys.stdout.flush()

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--sim":
        return sim_main(sys.argv[2])
    bin_dir, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(work, exist_ok=True)
    b = Bench(bin_dir, work)
    try:
        t0 = time.monotonic()
        b.setup()
        b.start_sims()
        print("venues: %d secondary venues x %d rooms = %d simulated agents (%d shipping a "
              "%.1f Mbit/s camera, %.0f-s segments), each venue's mosquitto bridged to the "
              "main broker through its relay (%g ms); real controller; %d cores, load "
              "average %.1f; set up in %.0f s" % (
                  b.nv, b.nr, b.nv * b.nr, b.nv * b.nm, b.mbit, b.seg_s, b.wan_ms,
                  os.cpu_count(), os.getloadavg()[0], time.monotonic() - t0))
        sys.stdout.flush()
        b.run("steady: %g door events per room per minute, statuses every %d s, media %.0f "
              "Mbit/s" % (b.rate, STATUS_S, b.nv * b.nm * b.mbit), b.rate)
        b.commands()
        b.run("burst: 60 door events per room per minute (%d/s), media on" % (b.nv * b.nr), 60)
        b.settle()
        b.outage()
        b.integrity()
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
