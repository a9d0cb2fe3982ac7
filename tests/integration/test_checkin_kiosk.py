"""Issue 5 as the expert sees it: the real full-screen evalroom-terminal in an 80x24 tmux
pane, talking to the real room agent over the broker, after a real check-in at the desk.
A wrong code, the right code (name and tender on screen), logout."""
import os
import shlex
import shutil
import subprocess
import time

import pytest

from daemons import Site
from test_checkin import DESK, ID, prepare

pytestmark = pytest.mark.skipif(not shutil.which("tmux"), reason="tmux missing")


class Pane:
    """One 80x24 tmux pane on a private tmux server."""

    def __init__(self, directory, command):
        self.sock = os.path.join(directory, "checkin-tmux.sock")
        self._tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "seat",
                   "-e", "LANG=C.UTF-8", command)

    def _tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, "-f", "/dev/null"] + list(args),
                              capture_output=True, text=True, timeout=10, check=True).stdout

    def type(self, text):
        self._tmux("send-keys", "-t", "seat", "-l", text)

    def enter(self):
        self._tmux("send-keys", "-t", "seat", "Enter")

    def wait(self, *texts, reachable=True, timeout=20.0):
        """The screen showing every one of texts (and, unless reachable is False, no
        banner saying the room agent is unreachable: codes are not sent then)."""
        deadline = time.monotonic() + timeout
        while True:
            s = self._tmux("capture-pane", "-p", "-t", "seat")
            if all(t in s for t in texts) and not (reachable and "unreachable" in s.lower()):
                return s
            if time.monotonic() > deadline:
                raise AssertionError("screen lacks %r:\n%s" % (texts, s))
            time.sleep(0.1)

    def close(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    s.start_controller()
    s.start_agent("E1")
    s.start_agent("E2")
    yield s
    s.close()


def test_login_on_the_real_screen(site, tmp_path):
    prepare(site, tmp_path)
    rc, out, err = site.ctl("desk", "checkin", "--person", "xp-zhou", "--id-number",
                            ID["xp-zhou"], "--screening", "passed", identity=DESK)
    assert rc == 0, err
    room, seat, code = out["room"], out["seat"], out["login_code"]
    cn = "terminal-%s-%s" % (room, seat)
    conf = site.write_config(cn, cn, "[terminal]\nroom=%s\nseat=%s\n" % (room, seat))
    cmd = " ".join(shlex.quote(a) for a in [
        os.path.join(site.bin, "evalroom-terminal"), "--config", conf,
        "--log", os.path.join(site.tmp, cn + ".log")])
    pane = Pane(site.tmp, cmd)
    try:
        pane.wait("Room %s  Seat %s" % (room, seat), "Please enter your login code")
        pane.type("NOTMYCODE")
        pane.enter()
        pane.wait("Wrong code, 4 tries left.")
        pane.type(code)
        pane.enter()
        screen = pane.wait("Welcome, Zhou Min")
        assert "Tender TA: Ring road, lot 3" in screen
        assert code not in screen
        pane.type("l")
        pane.wait("Log out now? Press Y to log out, N to stay.")
        pane.type("y")
        pane.wait("You have been logged out. Thank you.")
        rc, out, err = site.ctl("desk", "list", identity=DESK)
        assert {p["person"]: p["state"] for p in out["persons"]}["xp-zhou"] == "out"
    finally:
        pane.close()
