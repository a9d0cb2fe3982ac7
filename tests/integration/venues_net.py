"""Network namespaces for the remote-venue tests: a main venue and secondary venues, each
in its own namespace, joined by veth links with WAN-like faults (docs/venues.md).

- the main venue's namespace holds 10.200.0.1 (on its loopback): the address every
  secondary venue's bridge connects to; a relay there (wan_relay.py) holds every byte
  50 ms each way and hands it to the main broker on 127.0.0.1;
- secondary venue i is joined by veth 10.200.i.1 (main side) <-> 10.200.i.2 (venue side);
  nftables there drops 1 % of the packets each way (`numgen random`);
- rate_kbit (optional) gives each venue's link that bandwidth each way (tbf: a bottleneck
  with a queue of at most queue_ms, as a WAN access link has);
- cut(i) drops everything on venue i's link (a black hole, as a failed WAN looks: no
  reset, the bridges' keepalives find it), restore(i) lifts it.

The kernels of these machines have no sch_netem (`tc qdisc add ... netem` fails with
"Specified qdisc kind is unknown"): loss comes from nftables and delay from the relay.
Only addresses inside the namespaces made here are used. close() ends every process it
started and deletes the namespaces, also after a failure. Nothing here asserts.
"""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MAIN_HOST = "10.200.0.1"


def run(*cmd, check=True):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(map(str, cmd)), p.stderr.strip()))
    return p


def unavailable():
    """Why namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "nft"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    name = "erprobe%d" % os.getpid()
    p = run("ip", "netns", "add", name, check=False)
    if p.returncode != 0:
        return "ip netns add failed: " + p.stderr.strip()
    run("ip", "netns", "del", name, check=False)
    return None


class Wan:
    def __init__(self, venues, loss_percent=1, delay_ms=50, rate_kbit=0, queue_ms=200):
        """VENUES: the secondary venues' ids, numbered 1, 2, ... in that order; RATE_KBIT:
        each link's bandwidth each way (0: the veth's own), its queue holding at most
        QUEUE_MS of traffic."""
        tag = "%d" % (os.getpid() % 100000)
        self.main = "erm" + tag
        self.ns = {v: "er%d_%s" % (i + 1, tag) for i, v in enumerate(venues)}
        self.index = {v: i + 1 for i, v in enumerate(venues)}
        self.delay_ms = delay_ms
        self.loss = loss_percent
        self.rate_kbit = rate_kbit
        self.queue_ms = queue_ms
        self.procs = []
        self.made = []
        try:
            self._build()
        except Exception:
            self.close()
            raise

    def venue_host(self, venue):
        return "10.200.%d.2" % self.index[venue]

    def _build(self):
        for ns in [self.main] + list(self.ns.values()):
            run("ip", "netns", "add", ns)
            self.made.append(ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", self.main, "addr", "add", MAIN_HOST + "/32", "dev", "lo")
        for v, ns in self.ns.items():
            i = self.index[v]
            m_if, v_if = "vm%d" % i, "vv%d" % i
            run("ip", "link", "add", "name", m_if, "netns", self.main, "type", "veth", "peer",
                "name", v_if, "netns", ns)
            run("ip", "-n", self.main, "addr", "add", "10.200.%d.1/24" % i, "dev", m_if)
            run("ip", "-n", ns, "addr", "add", "10.200.%d.2/24" % i, "dev", v_if)
            run("ip", "-n", self.main, "link", "set", m_if, "up")
            run("ip", "-n", ns, "link", "set", v_if, "up")
            run("ip", "-n", ns, "route", "add", MAIN_HOST + "/32", "via", "10.200.%d.1" % i)
            if self.rate_kbit:
                # a bottleneck each way whose queue holds at most queue_ms of traffic
                for n, dev in ((self.main, m_if), (ns, v_if)):
                    run("ip", "netns", "exec", n, "tc", "qdisc", "add", "dev", dev, "root",
                        "tbf", "rate", "%dkbit" % self.rate_kbit, "burst", "16kb", "latency",
                        "%dms" % self.queue_ms)
            if self.loss:
                self.nft(ns, "add table inet wan")
                for chain, hook, match in (("o", "output", "oifname"),
                                           ("i", "input", "iifname")):
                    self.nft(ns, "add chain inet wan %s { type filter hook %s priority 0; }"
                             % (chain, hook))
                    self.nft(ns, "add rule inet wan %s %s \"%s\" numgen random mod 100 < %d "
                             "drop" % (chain, match, v_if, self.loss))

    def nft(self, ns, rule):
        return run("ip", "netns", "exec", ns, "nft", rule)

    def exec_argv(self, ns, argv):
        return ["ip", "netns", "exec", ns] + [str(a) for a in argv]

    def start_relay(self, to_port, log_path):
        """The delaying relay in the main namespace: MAIN_HOST:8883 -> 127.0.0.1:TO_PORT."""
        argv = self.exec_argv(self.main, [sys.executable, os.path.join(HERE, "wan_relay.py"),
                                          "--listen", MAIN_HOST + ":8883", "--to",
                                          "127.0.0.1:%d" % to_port, "--delay-ms",
                                          self.delay_ms])
        log = open(log_path, "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(log_path, "rb") as f:
                if b"relaying" in f.read():
                    return p
            time.sleep(0.05)
        raise RuntimeError("the WAN relay did not start")

    def start(self, ns, argv, log_path):
        """A process in namespace NS (its pid is the program's: ip netns exec execs it)."""
        log = open(log_path, "ab")
        p = subprocess.Popen(self.exec_argv(ns, argv), stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def cut(self, venue):
        ns, v_if = self.ns[venue], "vv%d" % self.index[venue]
        self.nft(ns, "add table inet cut")
        for chain, hook, match in (("o", "output", "oifname"), ("i", "input", "iifname")):
            self.nft(ns, "add chain inet cut %s { type filter hook %s priority -10; }"
                     % (chain, hook))
            self.nft(ns, "add rule inet cut %s %s \"%s\" drop" % (chain, match, v_if))

    def restore(self, venue):
        self.nft(self.ns[venue], "delete table inet cut")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        for ns in reversed(self.made):
            run("ip", "netns", "del", ns, check=False)
        self.made = []
