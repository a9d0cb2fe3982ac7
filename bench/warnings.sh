#!/usr/bin/env bash
# Behaviour warning rules: precision and recall per rule on seeded synthetic evaluation
# days with labelled misbehaviour, false warnings per room-hour on clean days. The days
# are fed to the rules engine as a library (no broker, no daemons). docs/warnings.md.
set -euo pipefail
BUILD=${BUILD:-$(dirname "$0")/../build}
exec "$BUILD/bin/evalroom-warn-bench" --seed "${WARN_BENCH_SEED:-2026}" --days "${WARN_BENCH_DAYS:-200}"
