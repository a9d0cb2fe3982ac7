#!/bin/bash
# Alerts benchmark, through the real broker, controller and an agent with a simulated door:
# (a) cause -> alert visible to an operator's client (door forced open on the sim, then
#     alerts.list polled every 5 ms over one TLS MQTT connection), median and max;
# (b) request round trips of rooms / alerts.list --open with 10,000 resolved alerts in
#     state.db. Env: BUILD (build dir), ROOT (repo). Prints figures; asserts nothing.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=${ROOT:-.}
exec /usr/bin/python3 "$ROOT/bench/alerts_latency.py" "$BUILD/bin" "$ROOT"
