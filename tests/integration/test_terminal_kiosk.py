"""evalroom-terminal driven as a person would: the real full-screen kiosk in an 80x24 tmux
pane (send-keys, capture-pane), and the --batch mode through pipes, both against a fake
room agent on the program's test transport (--transport-socket). Every message the
terminal sends is validated against its JSON Schema."""
import json
import os
import shlex
import socket
import subprocess
import threading
import time

import pytest

import schemas

ROOM, SEAT = "R1", "S3"
DOWN = "evalroom/v1/seat/%s/%s/down" % (ROOM, SEAT)
UP = "evalroom/v1/seat/%s/%s/up" % (ROOM, SEAT)
STATUS = "evalroom/v1/seat/%s/%s/status" % (ROOM, SEAT)
GOOD_CODE = "GOOD1234"
OTHER_SEAT_CODE = "OTHER999"


class FakeAgent:
    """The agent side of docs/terminal.md, reduced to what the tests need: one seat, one
    valid code, one code of another seat, five tries."""

    def __init__(self, path):
        self.path = path
        self.received = []  # (topic, message dict, retain)
        self.problems = []  # schema violations and protocol surprises
        self.subscriptions = []
        self.seat = "open"
        self.tries = 5
        self.answer = True
        self.person = {"id": "E042", "name": "Li Na"}
        self.tender = {"id": "T2026-017", "name": "Road maintenance lot 3"}
        self._seq = int(time.time() * 1e6)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._conn = None
        self._listener = None
        self.listen()

    def listen(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(1)
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._conn = conn
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def disconnect(self):
        """The agent goes away: the connection closes and reconnects fail."""
        with self._lock:
            if self._listener:
                self._listener.close()
                self._listener = None
            if self._conn:
                self._conn.shutdown(socket.SHUT_RDWR)
                self._conn.close()
                self._conn = None
        os.unlink(self.path)

    def close(self):
        if self._listener or self._conn:
            self.disconnect()

    def _read(self, conn):
        buf = b""
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self._handle(line.decode())

    def _handle(self, line):
        if line.startswith("S "):
            with self._cond:
                self.subscriptions.append(line[2:])
                self._cond.notify_all()
            return
        _, topic, retain, payload = line.split(" ", 3)
        try:
            msg = schemas.validate(payload)
        except Exception as e:  # noqa: BLE001 - every failure is a finding
            self.problems.append("%s: %s" % (topic, e))
            return
        if topic != (STATUS if msg["kind"] == "status" else UP):
            self.problems.append("%s sent on %s" % (msg["kind"], topic))
        with self._cond:
            self.received.append((topic, msg, retain == "1"))
            self._cond.notify_all()
        if self.answer:
            self._respond(msg)

    def _respond(self, msg):
        kind = msg["kind"]
        if kind == "terminal.login":
            self._verdict(msg)
        elif kind == "terminal.logout":
            self.seat = "open"
            self.ack(msg)
        elif kind in ("terminal.heartbeat", "terminal.help", "terminal.break"):
            self.ack(msg)

    def _verdict(self, msg):
        code = msg["code"]
        if self.seat == "blocked":
            self.send("terminal.login_result", re=msg["seq"], ok=False, reason="seat_blocked")
        elif code == GOOD_CODE:
            self.seat = "in_use"
            self.send("terminal.login_result", re=msg["seq"], ok=True, reason="ok",
                      person=self.person, tender=self.tender)
        elif code == OTHER_SEAT_CODE:
            self.send("terminal.login_result", re=msg["seq"], ok=False, reason="wrong_seat",
                      message="code of seat S4")
        else:
            self.tries -= 1
            if self.tries == 0:
                self.seat = "blocked"
                self.send("terminal.login_result", re=msg["seq"], ok=False,
                          reason="seat_blocked")
            else:
                self.send("terminal.login_result", re=msg["seq"], ok=False,
                          reason="wrong_code", tries_left=self.tries)

    def ack(self, msg):
        self.send("terminal.ack", re=msg["seq"], seat=self.seat)

    def send(self, kind, **body):
        with self._lock:
            self._seq += 1
            msg = {"v": 1, "kind": kind, "seq": self._seq, "ts": int(time.time() * 1e6)}
            msg.update(body)
            schemas.validate(msg)  # the fake must speak the protocol too
            if self._conn:
                try:
                    self._conn.sendall(("M %s %s\n" % (DOWN, json.dumps(msg))).encode())
                except OSError:
                    pass  # the terminal has gone; what it sent last is still read

    def send_raw(self, payload):
        with self._lock:
            self._conn.sendall(("M %s %s\n" % (DOWN, payload)).encode())

    def wait_for(self, kind, count=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [m for _, m, _ in self.received if m["kind"] == kind]
                if len(got) >= count:
                    return got[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no %d x %s; got %s" % (
                        count, kind, [m["kind"] for _, m, _ in self.received]))
                self._cond.wait(left)

    def kinds(self):
        with self._lock:
            return [m["kind"] for _, m, _ in self.received]


@pytest.fixture
def terminal_bin(bin_dir):
    path = os.path.join(bin_dir, "evalroom-terminal")
    assert os.access(path, os.X_OK), "build evalroom-terminal first"
    return path


@pytest.fixture
def seat(tmp_path):
    """A fake agent, a config file and an evaluation client that records its start."""
    marker = tmp_path / "client.started"
    client = tmp_path / "client.sh"
    client.write_text("#!/bin/sh\n"
                      "echo \"$EVALROOM_PERSON_ID $EVALROOM_TENDER_ID $EVALROOM_SEAT $$\" > %s\n"
                      "exec sleep 60\n" % shlex.quote(str(marker)))
    client.chmod(0o755)
    config = tmp_path / "terminal.conf"
    config.write_text("[terminal]\nroom=%s\nseat=%s\n\n[session]\nprogram=%s\n"
                      % (ROOM, SEAT, client))
    agent = FakeAgent(str(tmp_path / "agent.sock"))
    yield {"agent": agent, "config": str(config), "marker": marker, "dir": tmp_path}
    agent.close()
    assert not agent.problems, agent.problems


def client_pid(marker, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return marker.read_text().split()
        time.sleep(0.05)
    raise AssertionError("the evaluation client did not start")


def process_gone(pid, timeout=6.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().split(") ", 1)[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


class Tmux:
    """One 80x24 tmux pane running the kiosk, on a private tmux server."""

    def __init__(self, directory, command, log=None, lang="C.UTF-8"):
        self.log = log
        self.sock = os.path.join(directory, "tmux.sock")
        self._tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "kiosk",
                   "-e", "LANG=" + lang, "-e", "LC_ALL=" + lang, command)

    def _tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, "-f", "/dev/null"] + list(args),
                              capture_output=True, text=True, timeout=10, check=True).stdout

    def keys(self, *keys):
        self._tmux("send-keys", "-t", "kiosk", *keys)

    def type(self, text):
        self._tmux("send-keys", "-t", "kiosk", "-l", text)

    def screen(self):
        return self._tmux("capture-pane", "-p", "-t", "kiosk")

    def screen_with_attributes(self):
        return self._tmux("capture-pane", "-p", "-e", "-t", "kiosk")

    def wait(self, *texts, absent=(), timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if all(t in s for t in texts) and not any(t in s for t in absent):
                return s
            if time.monotonic() > deadline:
                log = self.log.read_text()[-2000:] if self.log and self.log.exists() else ""
                raise AssertionError("screen lacks %r or shows %r:\n%s\nlog:\n%s"
                                     % (texts, absent, s, log))
            time.sleep(0.1)

    def close(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True,
                       timeout=10)


@pytest.fixture
def kiosk(terminal_bin, seat):
    log = seat["dir"] / "terminal.log"
    cmd = " ".join(shlex.quote(a) for a in [
        terminal_bin, "--config", seat["config"], "--log", str(log),
        "--transport-socket", seat["agent"].path])
    tmux = Tmux(str(seat["dir"]), cmd, log)
    yield tmux, seat
    tmux.close()


def test_screen_login_flow(kiosk):
    tmux, seat = kiosk
    agent = seat["agent"]
    s = tmux.wait("Room R1  Seat S3", "enter your login code", absent=("UNREACHABLE",))
    assert agent.subscriptions == [DOWN]
    status = agent.wait_for("status")
    assert status["state"] == "online" and status["identity"] == "terminal-R1-S3"
    assert len(max(s.splitlines(), key=len)) <= 80
    # "SEAT S3" in block letters: runs of reverse-video blanks between the title and text.
    lines = tmux.screen_with_attributes().splitlines()
    title = next(i for i, line in enumerate(lines) if "Room R1  Seat S3" in line)
    blocks = [line for line in lines[title + 1:title + 8] if "\x1b[7m" in line]
    assert len(blocks) == 5, lines[title:title + 8]

    # A wrong code: masked while typed, refused with the tries left.
    tmux.type("1357")
    s = tmux.wait("Code: [****]")
    assert "1357" not in s
    tmux.keys("Enter")
    tmux.wait("Wrong code, 4 tries left.")
    assert agent.wait_for("terminal.login")["code"] == "1357"

    # A code of another seat.
    tmux.type(OTHER_SEAT_CODE)
    tmux.keys("Enter")
    tmux.wait("This code is not for this seat.")
    assert not seat["marker"].exists()

    # The right code: the expert's name and tender, and the client program runs.
    tmux.type(GOOD_CODE)
    tmux.keys("Enter")
    s = tmux.wait("Welcome, Li Na", "Tender T2026-017: Road maintenance lot 3",
                  "L: log out")
    person, tender, seat_id, pid = client_pid(seat["marker"])
    assert (person, tender, seat_id) == ("E042", "T2026-017", "S3")
    assert not process_gone(int(pid), timeout=0.2)

    # Help and a break are events to the agent.
    tmux.type("h")
    tmux.wait("Help requested")
    agent.wait_for("terminal.help")
    tmux.type("b")
    tmux.wait("On break", "R: return from the break")
    assert agent.wait_for("terminal.break")["phase"] == "start"
    tmux.type("r")
    tmux.wait("Welcome back.")
    assert agent.wait_for("terminal.break", 2)["phase"] == "end"

    # Logout asks, then ends the session and stops the client.
    tmux.type("l")
    tmux.wait("Log out now?")
    tmux.type("y")
    tmux.wait("You have been logged out.", "enter your login code", absent=("Li Na",))
    agent.wait_for("terminal.logout")
    assert process_gone(int(pid)), "the client program survived the logout"


def test_screen_operator_lock_and_unreachable_agent(kiosk):
    tmux, seat = kiosk
    agent = seat["agent"]
    tmux.wait("enter your login code", absent=("UNREACHABLE",))
    tmux.type(GOOD_CODE)
    tmux.keys("Enter")
    tmux.wait("Welcome, Li Na")
    pid = int(client_pid(seat["marker"])[3])

    agent.seat = "locked"
    agent.send("terminal.lock", reason="lockdown of room R1")
    tmux.wait("Seat locked by the operator", "Reason: lockdown of room R1",
              absent=("Li Na",))
    assert process_gone(pid), "the client program survived the lock"
    logins = agent.kinds().count("terminal.login")
    tmux.type("1234")
    tmux.keys("Enter")
    time.sleep(0.3)
    assert agent.kinds().count("terminal.login") == logins

    agent.seat = "open"
    agent.send("terminal.unlock")
    tmux.wait("This seat has been unlocked.", "enter your login code")

    # A malformed message changes nothing and is answered with an error.
    agent.send_raw('{"v":1,"kind":"terminal.lock","seq":1,"ts":1}')
    err = agent.wait_for("error")
    assert "reason" in err["fault"] and err["topic"] == DOWN
    assert "Seat locked by the operator" not in tmux.screen()

    # The agent goes away: the banner shows and no login is attempted.
    agent.disconnect()
    tmux.wait("ROOM AGENT UNREACHABLE")
    tmux.type("5555")
    tmux.keys("Enter")
    tmux.wait("The room agent is unreachable.")

    # It comes back: the terminal reconnects, says it is online, and the banner goes.
    agent.listen()
    tmux.wait("enter your login code", absent=("UNREACHABLE",), timeout=10)
    assert len([k for k in agent.kinds() if k == "status"]) >= 2


def test_screen_five_wrong_codes_lock_the_seat(kiosk):
    tmux, seat = kiosk
    agent = seat["agent"]
    tmux.wait("enter your login code", absent=("UNREACHABLE",))
    for i in range(5):
        tmux.type("000%d" % i)
        tmux.keys("Enter")
        if i < 4:
            tmux.wait("Wrong code, %d tr" % (4 - i))
    tmux.wait("Seat locked: call the attendant", absent=("enter your login code",))
    assert agent.seat == "blocked"
    hb = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        hb = [m for _, m, _ in agent.received if m["kind"] == "terminal.heartbeat"][-1]
        if hb["state"] == "blocked":
            break
        time.sleep(0.2)
    assert hb["state"] == "blocked"
    assert not seat["marker"].exists()


def run_batch(terminal_bin, seat, steps):
    """Runs --batch, feeding each (keys, expected text) step once the previous screen
    arrived. Returns every screen line printed."""
    proc = subprocess.Popen([terminal_bin, "--batch", "--config", seat["config"],
                             "--transport-socket", seat["agent"].path],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, bufsize=1)
    lines = []
    try:
        for keys, expect in steps:
            if keys:
                proc.stdin.write(keys)
                proc.stdin.flush()
            deadline = time.monotonic() + 15
            while not any(expect in line for line in lines[-3:]):
                assert time.monotonic() < deadline, "no %r in %s" % (expect, lines[-5:])
                line = proc.stdout.readline()
                assert line, "evalroom-terminal ended early: %s" % lines
                lines.append(line.rstrip("\n"))
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return lines


def test_batch_mode(terminal_bin, seat):
    lines = run_batch(terminal_bin, seat, [
        (None, "screen=locked | Room R1  Seat S3 | This seat is locked."),
        ("42\n", "A login code has 4 to 16 letters or digits."),
        ("9999\n", "Wrong code, 4 tries left."),
        (GOOD_CODE + "\n", "screen=logged_in | Welcome, Li Na"),
        ("ly", "You have been logged out."),
    ])
    assert all("9999" not in line and GOOD_CODE not in line for line in lines)
    assert any("Code: [**]" in line for line in lines)
    agent = seat["agent"]
    # End of input ends the program with a clean "stopped" status.
    last = agent.wait_for("status", 2)
    assert last["state"] == "stopped"


def test_batch_refuses_bad_configuration(terminal_bin, tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[terminal]\nroom=R1\nseat=S 3\n")
    proc = subprocess.run([terminal_bin, "--batch", "--config", str(bad),
                           "--transport-socket", str(tmp_path / "none.sock")],
                          capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert "room and seat must be identifiers" in proc.stderr
    missing = tmp_path / "missing.conf"
    missing.write_text("[terminal]\nroom=R1\nseat=S3\n")
    proc = subprocess.run([terminal_bin, "--batch", "--config", str(missing)],
                          capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert "mqtt" in proc.stderr and "uri" in proc.stderr
    proc = subprocess.run([terminal_bin, "--help"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0 and "--batch" in proc.stdout and "--config" in proc.stdout
    assert "transport-socket" not in proc.stdout
