#!/usr/bin/env python3
"""Part (b) of ./dev bench door: controller command -> agent -> lock output -> reply over
TLS on loopback (the real agent with a simulated door), side by side with a plain
request/reply between two Paho clients through the same broker and the same settings
(TLS 1.3, client certificates, TCP_NODELAY on both sides, broker set_tcp_nodelay)."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from daemons import Site  # noqa: E402

N = int(os.environ.get("RTT_N", "1000"))
GAP_MS = int(os.environ.get("RTT_GAP_MS", "20"))


def run(site, drv, cn, mode, out, inp, gap_ms=0):
    cert, key = site.prov.cert(cn)
    p = subprocess.run([drv, "ssl://127.0.0.1:%d" % site.prov.port, site.prov.ca, cert, key,
                        mode, out, inp, str(N), str(gap_ms)], capture_output=True, text=True,
                       timeout=900)
    if p.returncode != 0:
        sys.exit("bench: %s failed: %s" % (mode, p.stderr))
    return {k: int(v) for k, v in re.findall(r"(p50|p90|p99|max)_us=(\d+)", p.stdout)}


def main():
    build = os.environ.get("BUILD", os.path.join(ROOT, "build"))
    bin_dir = os.path.join(build, "bin")
    drv = os.path.join(bin_dir, "evalroom-bench-rtt")
    with tempfile.TemporaryDirectory(prefix="evalroom-bench-") as tmp:
        site = Site(bin_dir, tmp, observe=False)
        try:
            site.start_agent("E1", door=True)
            cert, key = site.prov.cert("agent-E2")
            server = subprocess.Popen(
                [drv, "ssl://127.0.0.1:%d" % site.prov.port, site.prov.ca, cert, key, "serve",
                 "evalroom/v1/room/E2/cmd", "evalroom/v1/room/E2/reply", "0"],
                stdout=subprocess.PIPE, text=True)
            server.stdout.readline()
            results = {}
            for gap in (GAP_MS, 0):
                echo1 = run(site, drv, "controller", "echo", "evalroom/v1/room/E2/cmd",
                            "evalroom/v1/room/E2/reply", gap)
                door = run(site, drv, "controller", "door", "evalroom/v1/room/E1/cmd",
                           "evalroom/v1/room/E1/reply", gap)
                echo2 = run(site, drv, "controller", "echo", "evalroom/v1/room/E2/cmd",
                            "evalroom/v1/room/E2/reply", gap)
                results[gap] = (echo1, door, echo2)
            server.terminate()
            server.wait()
        finally:
            site.close()
    for gap, (echo1, door, echo2) in results.items():
        base = {k: (echo1[k] + echo2[k]) / 2 for k in echo1}
        what = ("requests %d ms apart (commands meet an idle agent, as in use)" % gap if gap
                else "back to back (each request right after the previous reply: load)")
        print("(b) round trips over TLS on loopback, %d each, %s (microseconds):" % (N, what))
        print("    %-44s p50 %7.0f  p90 %7.0f  p99 %7.0f" % (
            "plain Paho request/reply (pair, mean of 2 runs)", base["p50"], base["p90"],
            base["p99"]))
        print("    %-44s p50 %7d  p90 %7d  p99 %7d" % (
            "controller cmd -> agent -> lock -> reply", door["p50"], door["p90"], door["p99"]))
        print("    ratio door/plain: p50 %.2f  p99 %.2f   (target <= 1.5; p99 target < 5000 us)"
              % (door["p50"] / base["p50"], door["p99"] / base["p99"]))


if __name__ == "__main__":
    main()
