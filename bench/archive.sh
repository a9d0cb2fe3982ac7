#!/usr/bin/env bash
# Archive ingest vs raw disk, side by side on the same disk, alternating (the disk's raw speed
# swings widely from minute to minute), medians of three, with the backups running on that
# disk meanwhile (bench/backup_load.py: a sealed archive copied into a backup store and read
# back, as at a seal, then its copy re-verified at 64 MB/s for as long as the rounds last;
# BACKUP_COPY_EVERY_S=N makes a new copy every N s too); then the library's CPU cost while
# 50 real-time 2 Mbit/s streams are archived (2 s segments, one archive per stream).
# Then evalroom-archive verify of a big sealed archive (Ed25519 and SM2 signatures on every
# checkpoint) against sha256sum of the same file, alternating, medians of three.
# Env: BUILD (build dir), ROOT. Optional: ARCHIVE_BENCH_MIB (default 256), STREAMS_SECONDS (20),
# VERIFY_MIB (default 2048), BACKUP_MIB (the sealed archive the backups copy, default 256;
# 0: no backups running), BACKUP_COPY_EVERY_S (default 0: one copy, then re-verification).
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/bin/evalroom-archive-bench
MIB=${ARCHIVE_BENCH_MIB:-256}
SECS=${STREAMS_SECONDS:-20}
VMIB=${VERIFY_MIB:-2048}
BMIB=${BACKUP_MIB:-256}
DIR=$BUILD/bench-archive
[ -x "$BIN" ] || { echo "bench archive: $BIN missing (build first)" >&2; exit 2; }
rm -rf "$DIR"
mkdir -p "$DIR"
backups=
stop_backups() {
	[ -n "$backups" ] || return 0
	kill -TERM "$backups" 2>/dev/null || true
	wait "$backups" || true
	backups=
}
trap 'stop_backups; rm -rf "$DIR"' EXIT

median() { sort -g | sed -n 2p; }

if [ "$BMIB" -gt 0 ]; then
	mkdir -p "$DIR/backup-src"
	"$BIN" sealed "$DIR/backup-src" "$BMIB" 1
	/usr/bin/python3 "${ROOT:-.}/bench/backup_load.py" "$DIR/backup-src/sealed.evarc" \
		"$DIR/backup-store" 64 "${BACKUP_COPY_EVERY_S:-0}" &
	backups=$!
	sleep 1 # the first copy under way before the first round
	echo "backups running: a sealed $BMIB MiB archive copied and read back, then re-verified at 64 MB/s (a new copy every ${BACKUP_COPY_EVERY_S:-0} s; 0: none)"
fi

ingest=()
raw=()
for round in 1 2 3; do
	rm -f "$DIR"/ingest.evarc*
	read -r rate ack50 ackmax commits commit_ms run_ms < <("$BIN" ingest "$DIR" "$MIB" 1)
	ingest+=("$rate")
	rm -f "$DIR"/ingest.evarc*
	start=$(date +%s.%N)
	dd if=/dev/zero of="$DIR/raw.bin" bs=1M count="$MIB" conv=fsync status=none
	end=$(date +%s.%N)
	raw+=("$(awk -v s="$start" -v e="$end" -v m="$MIB" 'BEGIN { printf "%.1f", m * 1048576 / 1e6 / (e - s) }')")
	rm -f "$DIR/raw.bin"
	echo "round $round: archive ingest ${ingest[-1]} MB/s ($commits group commits taking $commit_ms of its $run_ms ms, ack ${ack50} ms median, ${ackmax} ms max after arrival), dd conv=fsync ${raw[-1]} MB/s"
done
stop_backups
rm -rf "$DIR/backup-src" "$DIR/backup-store"
mi=$(printf '%s\n' "${ingest[@]}" | median)
mr=$(printf '%s\n' "${raw[@]}" | median)
echo "archive ingest (1 MiB segments: SHA-256, insert, durable group commit = ack): median $mi MB/s"
echo "dd conv=fsync, same ${MIB} MiB, same disk:                             median $mr MB/s"
awk -v a="$mi" -v r="$mr" -v b="$BMIB" 'BEGIN { printf "ratio archive/dd: %.2f (target >= 0.80)%s\n", a / r, (b > 0 ? ", backups running" : "") }'

rm -f "$DIR"/ingest.evarc*
# verify vs sha256sum: both read every byte of the file once and hash it with SHA-256; verify
# also rebuilds every leaf, the tree, and checks every checkpoint's two signatures.
openssl genpkey -algorithm SM2 -out "$DIR/sm2.key" 2>/dev/null
"$BIN" sealed "$DIR" "$VMIB" 1 "$DIR/sm2.key"
VFILE="$DIR/sealed.evarc"
cat "$VFILE" >/dev/null # both runs start from the page cache alike
vrate=()
srate=()
bytes=$(stat -c %s "$VFILE")
for round in 1 2 3; do
	start=$(date +%s.%N)
	"$BUILD/bin/evalroom-archive" verify "$VFILE" --pubkey "$DIR/bench.pub" >"$DIR/verify.out" ||
		{ cat "$DIR/verify.out" >&2; exit 1; }
	end=$(date +%s.%N)
	vrate+=("$(awk -v s="$start" -v e="$end" -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 / (e - s) }')")
	start=$(date +%s.%N)
	sha256sum "$VFILE" >/dev/null
	end=$(date +%s.%N)
	srate+=("$(awk -v s="$start" -v e="$end" -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 / (e - s) }')")
	echo "round $round: evalroom-archive verify ${vrate[-1]} MB/s, sha256sum ${srate[-1]} MB/s"
done
mv=$(printf '%s\n' "${vrate[@]}" | median)
ms=$(printf '%s\n' "${srate[@]}" | median)
echo "verify of a sealed $VMIB MiB archive ($(grep -o '[0-9]* checkpoints' "$DIR/verify.out"), Ed25519 + SM2 each): median $mv MB/s"
echo "sha256sum of the same file:                                   median $ms MB/s"
awk -v a="$mv" -v r="$ms" 'BEGIN { printf "ratio verify/sha256sum: %.2f (target >= 0.80)\n", a / r }'
rm -f "$VFILE"

echo "50 streams x 2 Mbit/s for ${SECS}s through the library:"
echo "  $("$BIN" streams "$DIR" 50 2 "$SECS" 2)"

# The same load through the real controller: 50 streams published as media chunks (raw
# bytes, metadata in MQTT 5 user properties) by the agents' identities through the real
# broker; the controller validates, reassembles, hashes, routes (copies room streams into
# each checked-in tender's archive), commits and acknowledges. Its figures are printed one per
# line: "controller cpu: N % of one core", the acknowledgement delay, "wire bytes per media
# byte: X.XX".
rm -rf "$DIR"/load
mkdir -p "$DIR"/load
/usr/bin/python3 "${ROOT:-.}/bench/ingest_load.py" "$BUILD/bin" "$DIR/load" 50 2 "$SECS" 2
