"""evalroom-terminal over the real mosquitto with the provisioned certificates and ACL:
a paho client holding the room agent's certificate plays the agent. The terminal says
online (retained), heartbeats, logs in and out, ignores what another room's agent sends to
its seat, and the broker publishes its last will when it dies. Every message it sends is
validated against its JSON Schema."""
import json
import os
import signal
import time

import pytest

import harness
from daemons import TerminalBatch
import schemas

pytestmark = pytest.mark.skipif(not harness.have_tools(), reason="mosquitto/openssl missing")

ROOM, SEAT = "E1", "S1"
UP = harness.topic("seat", ROOM, SEAT, "up")
DOWN = harness.topic("seat", ROOM, SEAT, "down")
STATUS = harness.topic("seat", ROOM, SEAT, "status")


@pytest.fixture(scope="module")
def broker(bin_dir, tmp_path_factory):
    prov = harness.provision(bin_dir, str(tmp_path_factory.mktemp("site") / "site"))
    with harness.Broker(prov):
        yield prov


def writes_through_loop(c):
    """paho 1.6 writes a publish directly from the calling thread unless it believes a
    loop_start() thread runs; harness.Client runs its own loop thread, so a publish from the
    test thread would use the TLS socket concurrently with it (sporadic SSLEOFError).
    Pointing paho at the harness's thread makes that thread do every write."""
    c.client._thread = c._thread


class Agent(harness.Client):
    """The room agent's side, by hand."""

    def __init__(self, prov, cn="agent-" + ROOM):
        super().__init__(prov, cn)
        self.seq = int(time.time() * 1e6)
        assert self.connect()
        writes_through_loop(self)
        self.subscribe(harness.topic("seat", ROOM, "+", "up"))
        self.subscribe(harness.topic("seat", ROOM, "+", "status"))

    def wait_kind(self, topic, kind, after=0, timeout=10.0, **match):
        """The first message of kind on topic received after index after."""
        found = []

        def pred():
            for t, p in self.messages[after:]:
                if t == topic and p:
                    m = json.loads(p)
                    if m.get("kind") == kind and all(m.get(k) == v for k, v in match.items()):
                        found.append(m)
                        return True
            return False
        assert self._wait(pred, timeout), "no %s %s on %s; got %s" % (
            kind, match, topic, [json.loads(p).get("kind") for t, p in self.messages if p])
        return found[0]

    def send(self, kind, **body):
        self.seq += 1
        msg = {"v": 1, "kind": kind, "seq": self.seq, "ts": int(time.time() * 1e6)}
        msg.update(body)
        schemas.validate(msg)
        self.publish(DOWN, msg)


def test_terminal_over_mqtt(broker, bin_dir, tmp_path):
    cert, key = broker.cert("terminal-%s-%s" % (ROOM, SEAT))
    config = tmp_path / "terminal.conf"
    config.write_text("[terminal]\nroom=%s\nseat=%s\n[mqtt]\nuri=ssl://127.0.0.1:%d\n"
                      "ca=%s\ncert=%s\nkey=%s\n" % (ROOM, SEAT, broker.port, broker.ca, cert, key))
    agent = Agent(broker)
    term = TerminalBatch([os.path.join(bin_dir, "evalroom-terminal"), "--batch", "--config",
                          str(config)], tmp_path / "terminal.log")
    try:
        status = agent.wait_kind(STATUS, "status", state="online")
        assert status["identity"] == "terminal-E1-S1"
        hb = agent.wait_kind(UP, "terminal.heartbeat")
        agent.send("terminal.ack", re=hb["seq"], seat="open")
        term.wait("screen=locked | Room E1  Seat S1", absent="UNREACHABLE")

        # Another room's agent cannot command this seat: the broker drops it.
        with harness.Client(broker, "agent-E2") as other:
            assert other.connect()
            writes_through_loop(other)
            other.publish(DOWN, {"v": 1, "kind": "terminal.lock", "seq": 7,
                                 "ts": int(time.time() * 1e6), "reason": "intruder"})
        mark = len(agent.messages)
        term.keys("K7Q2M9\n")
        login = agent.wait_kind(UP, "terminal.login", after=mark)
        assert login["code"] == "K7Q2M9"
        agent.send("terminal.login_result", re=login["seq"], ok=True, reason="ok",
                   person={"id": "E042", "name": "张伟"},
                   tender={"id": "T2026-017", "name": "Road maintenance lot 3"})
        line = term.wait("screen=logged_in | Welcome, 张伟")
        assert "Seat locked by the operator" not in " ".join(term.seen)
        assert "K7Q2M9" not in " ".join(term.seen)
        assert "Tender T2026-017: Road maintenance lot 3" in line

        mark = len(agent.messages)
        term.keys("ly")
        agent.wait_kind(UP, "terminal.logout", after=mark)
        term.wait("You have been logged out.")

        # Killed outright: the broker publishes the retained last will.
        mark = len(agent.messages)
        term.proc.send_signal(signal.SIGKILL)
        term.proc.wait()
        agent.wait_kind(STATUS, "status", after=mark, state="offline")
        problems = schemas.validate_all(agent.messages)
        assert not problems, problems
    finally:
        term.kill()
        agent.close()


def test_screen_over_mqtt(broker, bin_dir, tmp_path):
    """The full-screen kiosk in an 80x24 tmux pane, over the real broker."""
    from test_terminal_kiosk import Tmux

    seat = "S2"
    up = harness.topic("seat", ROOM, seat, "up")
    down = harness.topic("seat", ROOM, seat, "down")
    cert, key = broker.cert("terminal-%s-%s" % (ROOM, seat))
    config = tmp_path / "terminal.conf"
    config.write_text("[terminal]\nroom=%s\nseat=%s\n[mqtt]\nuri=ssl://127.0.0.1:%d\n"
                      "ca=%s\ncert=%s\nkey=%s\n" % (ROOM, seat, broker.port, broker.ca, cert, key))
    log = tmp_path / "terminal.log"
    agent = Agent(broker)

    def send(kind, **body):
        agent.seq += 1
        msg = {"v": 1, "kind": kind, "seq": agent.seq, "ts": int(time.time() * 1e6)}
        msg.update(body)
        schemas.validate(msg)
        agent.publish(down, msg)

    cmd = "%s --config %s --log %s" % (os.path.join(bin_dir, "evalroom-terminal"), config, log)
    tmux = Tmux(str(tmp_path), cmd, log)
    try:
        tmux.wait("Room E1  Seat S2", "enter your login code", "ROOM AGENT UNREACHABLE")
        hb = agent.wait_kind(up, "terminal.heartbeat")
        send("terminal.ack", re=hb["seq"], seat="open")
        tmux.wait("enter your login code", absent=("UNREACHABLE",))

        mark = len(agent.messages)
        tmux.type("2468")
        tmux.keys("Enter")
        login = agent.wait_kind(up, "terminal.login", after=mark)
        send("terminal.login_result", re=login["seq"], ok=False, reason="wrong_seat")
        tmux.wait("This code is not for this seat.")

        mark = len(agent.messages)
        tmux.type("K7Q2M9")
        tmux.keys("Enter")
        login = agent.wait_kind(up, "terminal.login", after=mark)
        assert login["code"] == "K7Q2M9"
        send("terminal.login_result", re=login["seq"], ok=True, reason="ok",
             person={"id": "E042", "name": "Li Na"},
             tender={"id": "T2026-017", "name": "Road maintenance lot 3"})
        tmux.wait("Welcome, Li Na", "Tender T2026-017: Road maintenance lot 3")

        send("terminal.lock", reason="lockdown of room E1")
        tmux.wait("Seat locked by the operator", "Reason: lockdown of room E1",
                  absent=("Li Na",))
        problems = schemas.validate_all(agent.messages)
        assert not problems, problems
    finally:
        tmux.close()
        agent.close()
