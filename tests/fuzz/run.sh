#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS [HARNESS...]: build the fuzz harnesses with clang's libFuzzer
# (ASan + UBSan) in build-fuzz/ and run each for SECONDS over its committed corpus.
# New inputs that add coverage are merged back into tests/fuzz/corpus/<harness>/ (kept
# under ~200 files / 1 MB); a crashing input is copied to tests/fuzz/regressions/<harness>/
# so that ./dev test replays it until the bug is fixed. Called by ./dev fuzz SECONDS.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${EVALROOM_FUZZ_BUILD:-$ROOT/build-fuzz}
SECONDS_EACH=${1:-60}
shift || true
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(fuzz_archive fuzz_agent_cmd fuzz_msg fuzz_chunk fuzz_request fuzz_status fuzz_event fuzz_config fuzz_site fuzz_committee fuzz_wiegand fuzz_console)
MAX_FILES=200
MAX_KB=1024

command -v clang >/dev/null || { echo "fuzz: clang is missing (./dev deps)" >&2; exit 2; }
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DEVALROOM_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link $SAN" \
	-DCMAKE_EXE_LINKER_FLAGS="$SAN" >/dev/null
# Only the harnesses asked for (all of them is the `fuzz` target).
if [ $# -gt 0 ]; then
	cmake --build "$BUILD" --target "${HARNESSES[@]}" -j2 -- --no-print-directory -s
else
	cmake --build "$BUILD" --target fuzz -j2 -- --no-print-directory -s
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Corpus files other than the hand-made seeds.
merged_files() { find "$1" -maxdepth 1 -type f ! -name 'seed-*' | sort; }

# corpus_trim DIR BIN: when DIR grows past the limits, keep the seeds and only those
# merged inputs that add coverage beyond them (libFuzzer -merge=1 minimises).
corpus_trim() {
	local dir=$1 bin=$2 maxlen=$3
	local n kb
	n=$(find "$dir" -maxdepth 1 -type f | wc -l)
	kb=$(du -sk "$dir" | cut -f1)
	[ "$n" -le $MAX_FILES ] && [ "$kb" -le $MAX_KB ] && return 0
	mkdir -p "$TMP/trim"
	merged_files "$dir" | xargs -r mv -t "$TMP/trim"
	"$bin" -merge=1 -max_len="$maxlen" "$dir" "$TMP/trim" >/dev/null 2>&1 || true
	rm -rf "$TMP/trim"
}

status=0
printf '%-14s %9s %8s %7s %7s %7s %s\n' harness seconds execs cov ft corpus crashes
for h in "${HARNESSES[@]}"; do
	bin=$BUILD/fuzz/$h
	corpus=$HERE/corpus/$h
	regress=$HERE/regressions/$h
	[ -x "$bin" ] || { echo "fuzz: no harness $h" >&2; exit 2; }
	mkdir -p "$corpus" "$TMP/$h/new" "$TMP/$h/artifacts"
	dirs=("$TMP/$h/new" "$corpus")
	[ -d "$regress" ] && dirs+=("$regress")
	log=$BUILD/fuzz/$h.log
	# Archives are files of 512-byte pages: the smallest seed is 8 KiB.
	maxlen=8192
	[ "$h" = fuzz_archive ] && maxlen=32768
	# -max_len bounds the mutated inputs (larger committed inputs are still replayed by
	# ctest in full); -timeout and -rss_limit_mb turn hangs and blow-ups into findings.
	# fuzz_console runs GIO's TLS and a client thread: their threads allocate during any
	# input, and LeakSanitizer's stop-the-world tracer dies (signal 11) on this process.
	# TMPDIR: its certificates' temp dir goes with $TMP (libFuzzer may _Exit past atexit).
	asan=$ASAN_OPTIONS
	[ "$h" = fuzz_console ] && asan=detect_leaks=0:abort_on_error=1
	set +e
	TMPDIR=$TMP/$h ASAN_OPTIONS=$asan "$bin" -max_total_time="$SECONDS_EACH" -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$TMP/$h/artifacts/" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	set -e
	crashes=0
	for a in "$TMP/$h/artifacts"/*; do
		[ -f "$a" ] || continue
		mkdir -p "$regress"
		cp "$a" "$regress/"
		crashes=$((crashes + 1))
	done
	if [ $rc -ne 0 ] && [ $crashes -eq 0 ]; then
		crashes="rc=$rc"
	fi
	TMPDIR=$TMP/$h ASAN_OPTIONS=$asan "$bin" -merge=1 -max_len=$maxlen "$corpus" "$TMP/$h/new" \
		>>"$log" 2>&1 || true
	corpus_trim "$corpus" "$bin" "$maxlen"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | grep -v -- '-merge' | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	n=$(find "$corpus" -maxdepth 1 -type f | wc -l)
	printf '%-14s %9s %8s %7s %7s %7s %s\n' "$h" "$SECONDS_EACH" "${execs:-?}" "${cov:-?}" \
		"${ft:-?}" "$n" "$crashes"
	if [ "$crashes" != 0 ]; then
		status=1
		echo "  $h: crash report in $log; input(s) copied to $regress/" >&2
		grep -a -m3 -E 'ERROR: |runtime error|invariant violated|SUMMARY' "$log" | sed 's/^/  /' >&2 || true
	fi
done
exit $status
