"""Issue 9: the daemons speak systemd's notify protocol: READY=1 only once they are
connected (and their database is open), watchdog pings from the main loop while they
run, STOPPING=1 on the way out. A fake NOTIFY_SOCKET stands in for systemd."""
import os
import socket
import subprocess
import time

import pytest

import harness
from daemons import Site


class NotifySocket:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.messages = []  # (monotonic time, text)

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.messages.append((time.monotonic(), data.decode()))
        return self.messages

    def first(self, key):
        for t, m in self.messages:
            if key in m.split("\n"):
                return t
        return None

    def count(self, key):
        return sum(1 for _, m in self.messages if key in m.split("\n"))

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("daemon", ["controller", "agent"])
def test_ready_only_once_connected_then_watchdog(bin_dir, tmp_path, daemon):
    site = Site(bin_dir, tmp_path, observe=False)
    try:
        site.broker.stop()  # the daemon starts while the broker is down
        ns = NotifySocket(str(tmp_path / "notify.sock"))
        env = dict(os.environ, NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="600000")
        if daemon == "controller":
            argv = [os.path.join(bin_dir, "evalroom-controller"), "--config",
                    site.controller_config()]
        else:
            argv = [os.path.join(bin_dir, "evalroom-agent"), "--config",
                    site.agent_config("E1")]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            ns.drain(2.5)
            assert ns.first("READY=1") is None, "READY=1 before the broker was reachable"
            started = time.monotonic()
            site.broker.start()
            deadline = time.monotonic() + 20  # the reconnect backoff tops out at 16 s
            while ns.first("READY=1") is None and time.monotonic() < deadline:
                ns.drain(0.5)
            ns.drain(2.0)
            ready = ns.first("READY=1")
            assert ready is not None and ready >= started, ns.messages
            # pings every WATCHDOG_USEC/3 from the main loop: about 6 in 2 s after ready
            pings_after = sum(1 for t, m in ns.messages if t > ready and "WATCHDOG=1" in m)
            assert pings_after >= 3, ns.messages
            assert any(m.startswith("STATUS=") or "\nSTATUS=" in m for _, m in ns.messages)
            proc.terminate()
            proc.wait(10)
            ns.drain(0.3)
            assert ns.count("STOPPING=1") == 1
        finally:
            if proc.poll() is None:
                proc.kill()
            ns.close()
    finally:
        site.close()
