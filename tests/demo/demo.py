#!/usr/bin/env python3
"""./dev demo: a whole evaluation day on this machine, told as it happens.

Provisions a demo site in a temporary directory, starts the real broker (TLS, client
certificates, ACL), the controller and one simulated agent per room, and runs the day
through evalroomctl as the operators and the security desk would. Everything it started
is stopped at the end, also on Ctrl-C; --keep leaves the site running for exploring.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
from daemons import Site, wait_for  # noqa: E402

DEMO_SITE = os.path.join(HERE, "site.json")
T0 = time.monotonic()


def say(text):
    print("[%5.1fs] %s" % (time.monotonic() - T0, text), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--keep", action="store_true",
                    help="leave the site running for exploring (evalroomctl watch)")
    ap.add_argument("--dir", help="work directory (default: a new temporary directory)")
    args = ap.parse_args()
    bin_dir = os.path.join(os.path.abspath(args.build), "bin")
    work = args.dir or tempfile.mkdtemp(prefix="evalroom-demo-")
    os.makedirs(work, exist_ok=True)

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)

    site = None
    try:
        say("Provisioning the demo site in %s (CA, certificates, broker config, ACL)" % work)
        site = Site(bin_dir, work, site=DEMO_SITE, observe=True)
        rooms = [r["id"] for r in site.prov.site["rooms"]]
        say("Broker mosquitto is up on 127.0.0.1:%d (TLS, client certificates required)"
            % site.prov.port)
        site.start_controller()
        say("Controller connected with its own certificate")
        for r in rooms:
            site.start_agent(r)
            say("Room agent %s connected as agent-%s" % (r, r))
        wait_for(lambda: site.ctl("status")[1].get("agents_online") == len(rooms), 10)
        rc, out, err = site.ctl("status", json_out=False)
        print(out.rstrip())
        problems = site.schema_problems()
        say("%d protocol messages observed, %d outside their schema"
            % (len(site.observed()), len(problems)))
        if args.keep:
            say("Site left running. Try:  %s/evalroomctl --config %s status"
                % (bin_dir, site.ctl_config(site.operator)))
            say("Stop it with Ctrl-C.")
            while True:
                time.sleep(3600)
        return 1 if problems or rc != 0 else 0
    except KeyboardInterrupt:
        say("Interrupted: stopping everything")
        return 130
    finally:
        if site:
            site.close()
            say("Stopped the agents, the controller and the broker")
        if not args.dir and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
