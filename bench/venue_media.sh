#!/bin/bash
# Door events while a secondary venue's media backlog drains over a bandwidth-limited WAN
# link: one bridge, two bridges, two bridges with the media rate limit (bench/venue_media.py).
# Env: BUILD (build dir), ROOT (repo); LINK_KBIT, STREAM_KBIT, MEDIA_KBIT, CUT_S, QUEUE_MS.
# Needs root (network namespaces); prints figures, asserts nothing.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=${ROOT:-.}
exec /usr/bin/python3 "$ROOT/bench/venue_media.py" "$BUILD" "${LINK_KBIT:-3000}" \
	"${STREAM_KBIT:-1000}" "${MEDIA_KBIT:-2000}" "${CUT_S:-30}" "${QUEUE_MS:-200}"
