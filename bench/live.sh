#!/usr/bin/env bash
# Live view benchmark (docs/live.md, "Measured"): glass-to-glass latency of a camera
# filming a clock, read back in headless Chromium from the web console's /live page;
# the agent's CPU per extra viewer of a 1080p pass-through stream (10 viewers); the
# recording's segment acknowledgement time with no viewer and with 10.
# Env: BUILD (build dir), ROOT (repo), SECONDS_PER_RUN (default 20). Asserts nothing.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=${ROOT:-.}
exec /usr/bin/python3 "$ROOT/bench/live_bench.py" "$BUILD" "${SECONDS_PER_RUN:-20}"
