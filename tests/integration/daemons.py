"""The evalroom daemons, really started, on a provisioned site with a real broker.

- Daemon: one process (controller, agent, terminal) with its own config and log;
  kill(), stop(), restart(), and wait_log() for what it printed.
- Site: provision + broker + configs + daemons + evalroomctl, and two observers
  (as `controller` and as the site's first operator) that record every message they may
  read, so a test can validate everything the daemons published against schemas/.

Built on harness.py (provisioning, broker, MQTT clients). Nothing here asserts.
"""
import json
import os
import signal
import subprocess
import time

import harness
import schemas


class Daemon:
    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.proc = None

    def start(self):
        self._log = open(self.log_path, "ab")
        self._log_start = self._log.tell()  # wait_log looks at this run's lines only
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.proc.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                self.proc.wait(10)

    def stop(self, timeout=10):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def restart(self):
        self.stop()
        return self.start()

    def log(self, this_run=False):
        try:
            with open(self.log_path, "rb") as f:
                if this_run:
                    f.seek(getattr(self, "_log_start", 0))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_log(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log(this_run=True):
                return True
            time.sleep(0.05)
        return False


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Poll predicate until it returns a true value (returned) or timeout (None)."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


class Site:
    """A provisioned site with its broker running. Start daemons with start_controller()
    and start_agent(room); run evalroomctl with ctl(). close() stops everything."""

    def __init__(self, bin_dir, tmp_dir, site=harness.EXAMPLE_SITE, observe=True, port=None):
        self.bin = bin_dir
        self.tmp = str(tmp_dir)
        self.prov = harness.provision(bin_dir, os.path.join(self.tmp, "site"), site=site,
                                      port=port)
        self.broker = harness.Broker(self.prov).start()
        self.daemons = {}
        self.observers = []
        self.injected = set()  # (topic, payload) the tests themselves published
        self.operator = "operator-" + self.prov.site["operators"][0]
        self.witness = "witness-" + (self.prov.site.get("witnesses") or ["none"])[0]
        if observe:
            for cn in ("controller", self.operator):
                c = harness.Client(self.prov, cn, client_id="test-observer-" + cn)
                if c.connect():
                    c.subscribe("evalroom/v1/#")
                    self.observers.append(c)

    # -- configuration files --
    def _mqtt_section(self, cn):
        cert, key = self.prov.cert(cn)
        return ("[mqtt]\nuri=ssl://127.0.0.1:%d\nca=%s\ncert=%s\nkey=%s\n"
                % (self.prov.port, self.prov.ca, cert, key))

    def write_config(self, name, cn, extra=""):
        path = os.path.join(self.tmp, name + ".conf")
        with open(path, "w") as f:
            f.write(self._mqtt_section(cn) + extra)
        return path

    def controller_config(self, extra=""):
        state = os.path.join(self.tmp, "controller-state")
        os.makedirs(state, exist_ok=True)
        return self.write_config("controller", "controller",
                                 "[controller]\nstate_dir=%s\nsigning_key=%s\n"
                                 "credential_key=%s\n%s"
                                 % (state, self.prov.signing_key, self.prov.credential_key,
                                    extra))

    def console_section(self, port):
        """The controller.conf [console] group: the web console on 127.0.0.1:PORT with the
        certificate provisioning wrote (docs/console.md)."""
        return ("[console]\nport=%d\ncert=%s\nkey=%s\n"
                % (port, os.path.join(self.prov.dir, "console", "console.crt"),
                   os.path.join(self.prov.dir, "console", "console.key")))

    def agent_config(self, room, extra=""):
        spool = os.path.join(self.tmp, "spool-" + room)
        os.makedirs(spool, exist_ok=True)
        return self.write_config("agent-" + room, "agent-" + room,
                                 "[agent]\nroom=%s\nspool_dir=%s\ncredential_key=%s\n%s"
                                 % (room, spool, self.prov.credential_key, extra))

    def ctl_config(self, cn):
        return self.write_config("ctl-" + cn, cn)

    # -- daemons --
    def start_daemon(self, name, argv):
        d = Daemon(name, argv, os.path.join(self.tmp, name + ".log"))
        self.daemons[name] = d.start()
        return d

    def start_controller(self, extra="", wait=True):
        d = self.start_daemon("controller", [os.path.join(self.bin, "evalroom-controller"),
                                             "-v", "--config", self.controller_config(extra)])
        if wait and not d.wait_log("connected to the broker"):
            raise RuntimeError("controller did not connect:\n" + d.log())
        return d

    def door_socket(self, room):
        return os.path.join(self.tmp, "door-%s.sock" % room)

    def door(self, room):
        """The simulated door of ROOM's agent (started with door=True)."""
        return DoorSim(self.door_socket(room))

    def start_agent(self, room, extra="", wait=True, door=False, **door_kw):
        if door:
            extra = door_config(self.door_socket(room), **door_kw) + extra
        d = self.start_daemon("agent-" + room, [os.path.join(self.bin, "evalroom-agent"),
                                                "-v", "--config",
                                                self.agent_config(room, extra)])
        if wait and not d.wait_log("connected to the broker"):
            raise RuntimeError("agent %s did not connect:\n%s" % (room, d.log()))
        return d

    def start_terminal(self, room, seat):
        """Start the real kiosk of SEAT in ROOM in --batch mode with its own certificate
        (a TerminalBatch; stopped by close())."""
        cn = "terminal-%s-%s" % (room, seat)
        conf = self.write_config(cn, cn, "[terminal]\nroom=%s\nseat=%s\n" % (room, seat))
        t = TerminalBatch([os.path.join(self.bin, "evalroom-terminal"), "--batch", "--config",
                           conf, "--log", os.path.join(self.tmp, cn + ".log")],
                          os.path.join(self.tmp, cn + ".stderr"))
        self.daemons[cn] = t
        return t

    # -- evalroomctl --
    def seat_map(self, session):
        """The draw's seat map as the controller holds it in state.db, for the tests that
        must place simulated agents (no identity can read it before check-in):
        [{"person", "room", "seat"}]."""
        import sqlite3
        db = sqlite3.connect(os.path.join(self.tmp, "controller-state", "state.db"))
        try:
            rows = db.execute("SELECT person, room, seat FROM assignment WHERE session = ? "
                              "AND withdrawn = 0", (session,)).fetchall()
        finally:
            db.close()
        return [{"person": p, "room": r, "seat": s} for p, r, s in rows]

    def witness_run(self, session, entropy, commitment):
        """The witness's `draw run`, confirming COMMITMENT (as published); returns
        (exit code, parsed JSON, stderr)."""
        return self.ctl("draw", "run", "--session", session, "--witness-entropy", entropy,
                        "--confirm-commitment", commitment, identity=self.witness)

    def ctl(self, *args, identity=None, json_out=True, timeout=30, check=False, input=None,
            env=None):
        """Run evalroomctl as identity (default: the first operator), in ENV if given.
        Returns (exit code, parsed JSON or stdout text, stderr)."""
        cn = identity or self.operator
        argv = [os.path.join(self.bin, "evalroomctl"), "--config", self.ctl_config(cn)]
        if json_out:
            argv.append("--json")
        argv += list(args)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                           env=env)
        out = p.stdout
        if json_out and out.strip():
            try:
                out = json.loads(out)
            except ValueError:
                pass
        if check and p.returncode != 0:
            raise RuntimeError("evalroomctl %s failed (%d): %s" % (" ".join(args),
                                                                   p.returncode, p.stderr))
        return p.returncode, out, p.stderr

    def client(self, cn, client_id=None):
        """A test client as identity cn; what it publishes is left out of
        schema_problems(), which judges only what the daemons published."""
        c = harness.Client(self.prov, cn, client_id=client_id or "test-" + cn)
        if not c.connect():
            raise RuntimeError("test client %s could not connect" % cn)
        publish = c.publish

        def recorded_publish(topic, payload, **kw):
            data = json.dumps(payload) if isinstance(payload, (dict, list)) else payload
            self.injected.add((topic, data.encode() if isinstance(data, str) else data))
            return publish(topic, payload, **kw)
        c.publish = recorded_publish
        return c

    def observed(self):
        msgs = []
        for o in self.observers:
            msgs += list(o.messages)
        return msgs

    def observed_chunks(self):
        """(topic, metadata, payload) of every media chunk the observers saw."""
        out = []
        for o in self.observers:
            out += list(o.chunks)
        return out

    def schema_problems(self):
        """Every message a daemon published that does not validate against schemas/ (a
        chunk's metadata included); what the tests injected on purpose is left out."""
        return (schemas.validate_all([m for m in self.observed() if m not in self.injected])
                + schemas.validate_chunks([c for c in self.observed_chunks()
                                           if (c[0], c[2]) not in self.injected]))

    def close(self):
        for d in self.daemons.values():
            d.stop()
        for o in self.observers:
            o.close()
        self.broker.stop()


DOOR_CONFIG = """[gpio]
backend=sim
sim_socket=%(sock)s
[door]
lock_line=DOOR_LOCK
sensor_line=DOOR_SENSOR
rex_line=DOOR_REX
tamper_line=DOOR_TAMPER
wiegand_d0_line=WIEGAND_D0
wiegand_d1_line=WIEGAND_D1
pulse_ms=%(pulse_ms)d
held_prealarm_ms=%(prealarm_ms)d
held_alarm_ms=%(alarm_ms)d
debounce_ms=5
"""


def door_config(sock, pulse_ms=1500, prealarm_ms=2000, alarm_ms=3000, **door_keys):
    """The [gpio]/[door] sections of a simulated door whose control socket is sock; further
    [door] keys (fail_mode="safe", on_controller_lost="fail_state", ...) as keywords."""
    return DOOR_CONFIG % dict(sock=sock, pulse_ms=pulse_ms, prealarm_ms=prealarm_ms,
                              alarm_ms=alarm_ms) + "".join(
        "%s=%s\n" % kv for kv in sorted(door_keys.items()))


def wiegand26(facility, card):
    """The 26 bits of a standard H10301 card: even parity over the first 12 data bits,
    odd parity over the last 12."""
    data = format(facility, "08b") + format(card, "016b")
    even = "1" if data[:12].count("1") % 2 else "0"
    odd = "0" if data[12:].count("1") % 2 else "1"
    return even + data + odd


class DoorSim:
    """Client of an agent's simulated door (the control socket of docs/door.md)."""

    def __init__(self, path):
        self.path = path

    def request(self, line):
        import socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.path)
            s.sendall((line + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        reply = buf.decode().strip()
        if not reply.startswith("ok"):
            raise RuntimeError("door sim: %s -> %s" % (line, reply))
        return reply[2:].strip()

    def set(self, name, level):
        self.request("set %s %d" % (name, level))

    def get(self, name):
        return int(self.request("get " + name))

    def history(self, name):
        """[(ts_ns, level), ...] of every level change of an output line."""
        parts = self.request("history " + name).split()
        return [(int(p.split(":")[0]), int(p.split(":")[1])) for p in parts[1:]]

    def card(self, facility, number):
        self.request("wiegand WIEGAND_D0 WIEGAND_D1 " + wiegand26(facility, number))

    def pin(self, digits):
        """Type digits then '#' on a 4-bit Wiegand keypad, one burst per key."""
        import time
        for key in list(digits) + ["#"]:
            code = 11 if key == "#" else 10 if key == "*" else int(key)
            self.request("wiegand WIEGAND_D0 WIEGAND_D1 " + format(code, "04b"))
            time.sleep(0.06)  # longer than the frame gap, so each key is its own burst


# 4:2:0 constrained baseline, as cameras send and browsers play (fed anything else x264enc
# picks High 4:4:4, which Chromium does not decode: the evidence package's page plays these).
TEST_VIDEO = ("videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=320,"
              "height=240,framerate=10/1 ! x264enc tune=zerolatency speed-preset=ultrafast "
              "key-int-max=10 bitrate=200 ! video/x-h264,profile=constrained-baseline ! "
              "h264parse")
TEST_AUDIO = "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=48000,channels=1 ! opusenc"


def streams_config(room_streams=(), seat_streams=(), segment_s=2, lost_ms=3000,
                   quota_bytes=0, audio=True):
    """[stream NAME] groups of test sources. room_streams: names; seat_streams:
    (name, seat) pairs. Names are the site's camera ids by convention."""
    out = ["[recorder]", "quota_bytes=%d" % quota_bytes, "state_interval_ms=2000", ""]
    for name in room_streams:
        out += ["[stream %s]" % name, "source=" + TEST_VIDEO, "place=room",
                "segment_seconds=%d" % segment_s, "lost_timeout_ms=%d" % lost_ms]
        if audio:
            out.append("audio=" + TEST_AUDIO)
        out.append("")
    for name, seat in seat_streams:
        out += ["[stream %s]" % name, "source=" + TEST_VIDEO, "place=seat", "seat=" + seat,
                "segment_seconds=%d" % segment_s, "lost_timeout_ms=%d" % lost_ms, ""]
    return "\n".join(out) + "\n"


class TerminalBatch:
    """The real evalroom-terminal of one seat in --batch mode (issue 5): keys() types,
    wait() waits for a screen line; started by Site.start_terminal, stopped by close()."""

    def __init__(self, argv, log_path):
        import queue
        import threading
        self._queue = queue
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(log_path, "ab"), text=True, bufsize=1)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def keys(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def wait(self, text, absent=None, timeout=10.0):
        """The first screen from now on (or the current one) showing text."""
        deadline = time.monotonic() + timeout
        while True:
            if self.seen and text in self.seen[-1] and not (absent and absent in self.seen[-1]):
                return self.seen[-1]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("screen never showed %r: %s" % (text, self.seen[-3:]))
            try:
                self.seen.append(self.lines.get(timeout=left))
            except self._queue.Empty:
                pass

    def screen(self):
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except self._queue.Empty:
                return self.seen[-1] if self.seen else ""

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait()

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

