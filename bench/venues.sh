#!/bin/bash
# Remote venues benchmark (docs/venues.md, "Measured"): 10 secondary venues x 20 rooms on
# this machine, each venue's real mosquitto bridged (as provisioned) through its own relay
# to the main broker, the real controller, the rooms simulated (bench/venues_bench.py):
# the main controller's CPU, events/s and their delivery latency while media ships, and
# the time to drain a 10-minute outage backlog of one venue. Env: BUILD (build dir), ROOT
# (repo), SECONDS_PER_RUN and the EVALROOM_BENCH_* variables of venues_bench.py.
# Prints figures; asserts nothing.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=${ROOT:-.}
WORK=$BUILD/bench-venues
rm -rf "$WORK"
mkdir -p "$WORK"
exec /usr/bin/python3 "$ROOT/bench/venues_bench.py" "$BUILD/bin" "$WORK"
