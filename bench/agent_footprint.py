"""The room agent's footprint, for planning a board's budget (run by bench/media.sh):
resident memory of the real evalroom-agent connected to a real broker while it records a
room and six seats (pass-through H.264 1080p, the SOURCE given), and the installed size of
what a room board installs (evalroom-agent + evalroom-common; the packages' own
Installed-Size when ./dev package has made them, else a stripped component install).

usage: agent_footprint.py BUILD SOURCE SECONDS"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from daemons import Site  # noqa: E402


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def installed_kib(build, arch):
    debs = [d for c in ("agent", "common")
            for d in glob.glob(os.path.join(build, "debs", "evalroom-%s_*_%s.deb" % (c, arch)))]
    if len(debs) == 2:
        total = sum(int(subprocess.run(["dpkg-deb", "-f", d, "Installed-Size"],
                                       capture_output=True, text=True).stdout) for d in debs)
        return total, "Installed-Size of " + ", ".join(os.path.basename(d) for d in debs)
    tree = build if arch == "amd64" else os.path.join(build, "arm64")
    if not os.path.exists(os.path.join(tree, "CMakeCache.txt")):
        return None, "no %s build" % arch
    with tempfile.TemporaryDirectory() as d:
        for c in ("agent", "common"):
            subprocess.run(["cmake", "--install", tree, "--component", c, "--strip",
                            "--prefix", "/usr"], env=dict(os.environ, DESTDIR=d),
                           capture_output=True, check=True)
        du = subprocess.run(["du", "-sk", d], capture_output=True, text=True).stdout
        return int(du.split()[0]), "stripped cmake --install of components agent, common"


def main():
    build, source, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    tmp = tempfile.mkdtemp(prefix="bench-agent-")
    site = Site(os.path.join(build, "bin"), tmp, observe=False)
    try:
        streams = "[recorder]\nstate_interval_ms=2000\n[stream cam-E1]\nsource=%s\n" % source
        for i in range(1, 7):
            streams += "[stream cam-E1-S%d]\nsource=%s\nplace=seat\nseat=S%d\n" % (i, source, i)
        d = site.start_agent("E1", extra=streams)
        time.sleep(seconds)
        pid = d.proc.pid
        rss, hwm = status_kib(pid, "VmRSS"), status_kib(pid, "VmHWM")
        alive = d.alive()
    finally:
        site.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%-34s streams=7  rss=%.1f MiB (peak %.1f)  after %.0f s%s" % (
        "evalroom-agent, room + 6 seats", rss / 1024, hwm / 1024, seconds,
        "" if alive else "  (AGENT EXITED)"))
    for arch in ("amd64", "arm64"):
        kib, how = installed_kib(build, arch)
        if kib is None:
            print("installed size %-5s  -  (%s)" % (arch, how))
        else:
            print("installed size %-5s  %d KiB  (%s; Debian's libraries not counted)"
                  % (arch, kib, how))
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
