#!/usr/bin/env bash
# tests/fuzz/make_archive_seeds.sh [BUILD]: writes the fuzz_archive seeds into
# tests/fuzz/corpus/fuzz_archive/ and their signing key's public half into
# tests/fuzz/fuzz_archive.pub (the private half is thrown away). The archives are built by
# evalroom-archive-fixture from tiny random "segments" and re-packed with 512-byte pages
# (the writer uses 64 KiB pages: 600 KB per archive, too big to mutate), which the reader
# accepts. The bad files are those of tests/integration/test_archive_tool.py.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../../build}
FIX=$BUILD/bin/evalroom-archive-fixture
OUT=$HERE/corpus/fuzz_archive
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/seed-*
rm -f "$HERE/fuzz_archive.pub"
"$FIX" keygen "$T/k.key" "$HERE/fuzz_archive.pub" >/dev/null
for i in 0 1 2; do head -c $((100 + 50 * i)) /dev/urandom >"$T/s$i.ts"; done
small() { # small SRC DST: 512-byte pages, rollback journal (as a sealed archive has)
	cp "$1" "$2"
	chmod 644 "$2"
	sqlite3 "$2" "PRAGMA journal_mode=DELETE; PRAGMA page_size=512; VACUUM;" >/dev/null
}
"$FIX" build "$T/sealed" "$T/k.key" --seal --segment-ms 500 --checkpoint-every 2 \
	"$T/s0.ts" "$T/s1.ts" "$T/s2.ts" >/dev/null
"$FIX" build "$T/open" "$T/k.key" --checkpoint-every 1 "$T/s0.ts" "$T/s1.ts" >/dev/null
"$FIX" build "$T/one" "$T/k.key" --seal --stream cam-R101-2 "$T/s2.ts" >/dev/null
small "$T/sealed" "$OUT/seed-valid-sealed.evarc"
small "$T/open" "$OUT/seed-valid-open.evarc"
small "$T/one" "$OUT/seed-valid-one-segment.evarc"

bad() { cp "$OUT/seed-valid-sealed.evarc" "$OUT/seed-$1.evarc"; }
: >"$OUT/seed-empty"
for i in $(seq 20); do echo "hello, auditor"; done >"$OUT/seed-text"
head -c 2000 /dev/urandom >"$OUT/seed-random"
sqlite3 "$T/plain.db" "PRAGMA page_size=512; CREATE TABLE x(y);"
cp "$T/plain.db" "$OUT/seed-plain-sqlite"
bad future-version && sqlite3 "$OUT/seed-future-version.evarc" "PRAGMA user_version=2"
bad version-0 && sqlite3 "$OUT/seed-version-0.evarc" "PRAGMA user_version=0"
bad deleted-segment && sqlite3 "$OUT/seed-deleted-segment.evarc" "DELETE FROM segments WHERE id=2"
bad deleted-event && sqlite3 "$OUT/seed-deleted-event.evarc" "DELETE FROM events WHERE id=2"
bad altered-event && sqlite3 "$OUT/seed-altered-event.evarc" \
	"UPDATE events SET body='{\"seat\":\"seat1\",\"n\":9}' WHERE id=2"
bad swapped-events && sqlite3 "$OUT/seed-swapped-events.evarc" \
	"UPDATE events SET id=-1 WHERE id=1; UPDATE events SET id=1 WHERE id=2;
	 UPDATE events SET id=2 WHERE id=-1"
bad altered-chunk && sqlite3 "$OUT/seed-altered-chunk.evarc" \
	"UPDATE segment_chunks SET data=zeroblob(length(data)) WHERE segment=2"
bad bad-signature && sqlite3 "$OUT/seed-bad-signature.evarc" \
	"UPDATE checkpoints SET signature=zeroblob(64) WHERE id=1"
bad no-checkpoints && sqlite3 "$OUT/seed-no-checkpoints.evarc" "DELETE FROM checkpoints"
bad unsealed && sqlite3 "$OUT/seed-unsealed.evarc" "UPDATE meta SET sealed_us=NULL"
bad no-meta && sqlite3 "$OUT/seed-no-meta.evarc" "DELETE FROM meta"
bad wal && sqlite3 "$OUT/seed-wal.evarc" "PRAGMA journal_mode=WAL" >/dev/null
head -c $(($(stat -c %s "$OUT/seed-valid-sealed.evarc") / 2)) "$OUT/seed-valid-sealed.evarc" \
	>"$OUT/seed-truncated-half.evarc"
head -c $(($(stat -c %s "$OUT/seed-valid-sealed.evarc") - 100)) \
	"$OUT/seed-valid-sealed.evarc" >"$OUT/seed-truncated-end.evarc"
python3 - "$OUT" <<'PY'
import random, sys
d = sys.argv[1]
data = bytearray(open(f"{d}/seed-valid-sealed.evarc", "rb").read())
rnd = random.Random(11)
for _ in range(20):
    data[rnd.randrange(100, len(data))] = rnd.randrange(256)
open(f"{d}/seed-garbage-middle.evarc", "wb").write(data)
PY
ls -l "$OUT" | awk '{s += $5} END {print NR - 1, "seeds,", s, "bytes"}'
