"""Issue 8: `evalroomctl watch` driven through tmux like an operator at the keyboard: a new
alert appears within 2 s of its cause, an acknowledgement typed at the keyboard is
recorded with the operator's identity, and the unreachable banner appears when the
controller stops."""
import os
import shutil
import subprocess
import time

import pytest

import harness
from daemons import Site, wait_for

ROOM = "E1"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")


class Tmux:
    """A private tmux server (its own socket) holding one 120x40 session."""

    def __init__(self, tmp, argv):
        self.socket = os.path.join(str(tmp), "tmux.sock")
        self.session = "watch"
        self.run("new-session", "-d", "-x", "120", "-y", "40", "-s", self.session,
                 " ".join("'%s'" % a for a in argv))

    def run(self, *args):
        return subprocess.run(["tmux", "-S", self.socket] + list(args), capture_output=True,
                              text=True, timeout=10)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", self.session).stdout

    def keys(self, *keys):
        self.run("send-keys", "-t", self.session, *keys)

    def wait_screen(self, text, timeout):
        return wait_for(lambda: text in self.screen(), timeout, 0.05)

    def alive(self):
        return self.run("has-session", "-t", self.session).returncode == 0

    def close(self):
        self.run("kill-server")


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def status_payload(ts, seq):
    return {"v": 1, "kind": "status", "seq": seq, "ts": ts, "state": "online",
            "identity": "agent-" + ROOM, "version": "test", "started": ts}


def test_watch_alert_ack_and_unreachable(site, tmp_path):
    site.start_controller("[alerts]\nclock_skew_limit_ms=2000\n")
    fake = site.client("agent-" + ROOM)
    topic = harness.topic("room", ROOM, "status")
    now = int(time.time() * 1e6)
    fake.publish(topic, status_payload(now, now), retain=True)

    argv = [os.path.join(site.bin, "evalroomctl"), "--config", site.ctl_config(site.operator),
            "watch"]
    tmux = Tmux(tmp_path, argv)
    try:
        assert tmux.wait_screen("controller: reachable", 10), tmux.screen()
        assert tmux.wait_screen(ROOM, 5), tmux.screen()
        assert "OPEN ALERTS" in tmux.screen()

        # The cause: the agent's clock 6 s behind, on two consecutive statuses. The alert
        # is on screen within 2 s.
        for seq in (now + 1, now + 2):
            fake.publish(topic, status_payload(int(time.time() * 1e6) - 6000000, seq),
                         retain=True)
        # (the kind by its name, as `alerts` and the web console name it)
        assert tmux.wait_screen("clock skew", 2.0), tmux.screen()
        screen = tmux.screen()
        line = [ln for ln in screen.splitlines() if "clock skew" in ln][0]
        assert line.startswith(">") and " open " in line and "room E1" in line, line

        # Acknowledge at the keyboard.
        tmux.keys("a")
        assert tmux.wait_screen("Note for alert", 3), tmux.screen()
        tmux.keys("agent clock checked by phone", "Enter")
        assert tmux.wait_screen("acknowledged by " + site.operator, 3), tmux.screen()
        assert tmux.wait_screen("[ack %s]" % site.operator, 3), tmux.screen()
        line = [ln for ln in tmux.screen().splitlines() if "clock skew" in ln][0]
        assert " acknowledged " in line, line
        rc, out, err = site.ctl("alerts", "--open")
        assert rc == 0, err
        a = [x for x in out["alerts"] if x["kind"] == "clock_skew"][0]
        assert a["state"] == "acknowledged"
        assert a["acked_by"] == site.operator
        assert a["ack_note"] == "agent clock checked by phone"

        # The controller goes away: the banner says so, the last view stays.
        site.daemons["controller"].stop()
        assert tmux.wait_screen("CONTROLLER UNREACHABLE since", 5), tmux.screen()
        assert "clock skew" in tmux.screen()

        # ... and comes back.
        site.start_controller("[alerts]\nclock_skew_limit_ms=2000\n")
        assert tmux.wait_screen("controller: reachable", 10), tmux.screen()

        tmux.keys("q")
        assert wait_for(lambda: not tmux.alive(), 5)
    finally:
        tmux.close()
        fake.publish(topic, b"", retain=True)
        fake.close()


def test_watch_forced_door_and_lockdown_keys(site, tmp_path):
    site.start_controller()
    site.start_agent(ROOM, door=True)
    argv = [os.path.join(site.bin, "evalroomctl"), "--config", site.ctl_config(site.operator),
            "watch"]
    tmux = Tmux(tmp_path, argv)
    try:
        assert tmux.wait_screen("controller: reachable", 10), tmux.screen()
        door = site.door(ROOM)
        door.set("DOOR_SENSOR", 1)  # forced open
        assert tmux.wait_screen("door forced open", 2.0), tmux.screen()
        assert tmux.wait_screen("forced_open", 2.0), tmux.screen()  # the room's door column
        door.set("DOOR_SENSOR", 0)

        # l: lock down the selected alert's room (Enter accepts it).
        tmux.keys("l")
        assert tmux.wait_screen("Lock down room [E1]", 3), tmux.screen()
        tmux.keys("Enter")
        assert tmux.wait_screen("room E1: lockdown requested", 5), tmux.screen()
        assert tmux.wait_screen("room E1: lockdown requested", 3), tmux.screen()
        assert wait_for(lambda: any(ln.startswith(ROOM + " ") and " LOCKDOWN " in ln
                                    for ln in tmux.screen().splitlines()), 3), tmux.screen()
        rooms = {r["room"]: r for r in site.ctl("rooms")[1]["rooms"]}
        assert rooms[ROOM]["lockdown"] is True

        # r: release, typing the room.
        tmux.keys("r")
        assert tmux.wait_screen("Release room", 3), tmux.screen()
        tmux.keys("E1", "Enter")
        assert tmux.wait_screen("room E1: release requested", 5), tmux.screen()
        assert wait_for(lambda: not {r["room"]: r for r in site.ctl("rooms")[1]["rooms"]}
                        [ROOM]["lockdown"], 5)
        rc, out, err = site.ctl("audit")
        assert rc == 0, err
        cmds = [(r["identity"], r["command"]) for r in out["records"]]
        assert cmds.count((site.operator, "lockdown")) == 2
        tmux.keys("q")
        assert wait_for(lambda: not tmux.alive(), 5)
    finally:
        tmux.close()
