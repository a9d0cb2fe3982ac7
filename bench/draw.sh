#!/usr/bin/env bash
# Seat draw: time to seat 1,000 people across 200 rooms and 2,000 seats, and to verify it.
set -euo pipefail
BUILD=${BUILD:-$(dirname "$0")/../build}
exec "$BUILD/bin/evalroom-draw-bench" "${DRAW_BENCH_ROUNDS:-9}"
