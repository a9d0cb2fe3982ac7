#!/usr/bin/env bash
# Recording cost on this machine, measured through evalroom-recorder-test (the real
# evalroom_recorder library): CPU per stream for a pass-through H.264 1080p stream fed
# in real time, for an x264-encoded 720p test stream, and resident memory with one
# room and six seat streams; an RTSP H.265 4 MP camera passed through, and how soon a
# rebooted camera records again; then the real evalroom-agent's resident memory with the
# same streams and the installed size of a room board's packages (bench/agent_footprint.py).
# Env: BUILD (build dir), ROOT; SECONDS_PER_RUN (default 15).
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
DRIVER=$BUILD/bin/evalroom-recorder-test
RUN_S=${SECONDS_PER_RUN:-15}
WARM_S=3
WORK=$BUILD/bench-media
CLK=$(getconf CLK_TCK)
mkdir -p "$WORK"
[ -x "$DRIVER" ] || { echo "media: $DRIVER missing (build first)" >&2; exit 1; }

# A 1080p25 H.264 "camera" recording, made once: 4 Mbit/s, a key frame each second,
# long enough that no run loops over it.
CAM=$WORK/cam-1080p.ts
if [ ! -s "$CAM" ]; then
	echo "media: encoding $CAM once (about a minute)..." >&2
	gst-launch-1.0 -q videotestsrc num-buffers=$(((RUN_S + WARM_S + 5) * 25)) pattern=smpte \
		! video/x-raw,format=I420,width=1920,height=1080,framerate=25/1 \
		! x264enc speed-preset=ultrafast bitrate=4000 key-int-max=25 ! h264parse \
		! mpegtsmux ! filesink location="$CAM.tmp"
	mv "$CAM.tmp" "$CAM"
fi
PASS="filesrc location=$CAM ! tsdemux ! h264parse ! identity sync=true"
ENC720="videotestsrc is-live=true ! video/x-raw,format=I420,width=1280,height=720,framerate=25/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 ! h264parse"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run KEY NAME NSTREAMS SOURCE: records NSTREAMS copies of SOURCE for RUN_S seconds and
# prints the driver's CPU and memory.
run() {
	local key=$1 name=$2 n=$3 src=$4 dir=$WORK/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	{
		echo "[recorder]"
		echo "spool_dir=$dir/spool"
		echo "[stream room]"
		echo "source=$src"
		for i in $(seq 1 $((n - 1))); do
			printf '[stream seat-%d]\nsource=%s\nplace=seat\nseat=S%d\n' "$i" "$src" "$i"
		done
	} >"$dir/rec.conf"
	"$DRIVER" --config "$dir/rec.conf" >"$dir/events.jsonl" 2>"$dir/driver.log" </dev/null &
	local pid=$!
	sleep "$WARM_S"
	local t0 c0 t1 c1
	t0=$(date +%s%N)
	c0=$(ticks $pid)
	sleep "$RUN_S"
	t1=$(date +%s%N)
	c1=$(ticks $pid)
	local rss hwm
	rss=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
	hwm=$(awk '/^VmHWM/ {print $2}' /proc/$pid/status)
	kill -TERM $pid
	wait $pid || true
	local segs lost
	segs=$(grep -c '"event":"segment"' "$dir/events.jsonl" || true)
	lost=$(grep -c '"state":"lost"' "$dir/events.jsonl" || true)
	awk -v name="$name" -v n="$n" -v dc="$((c1 - c0))" -v dt="$((t1 - t0))" -v clk="$CLK" \
		-v rss="$rss" -v hwm="$hwm" -v segs="$segs" -v lost="$lost" 'BEGIN {
		cpu = dc / clk / (dt / 1e9) * 100
		printf "%-34s streams=%d  cpu=%.1f%% of one core (%.2f%% per stream)  rss=%.1f MiB (peak %.1f)  segments=%d lost=%d\n",
			name, n, cpu, cpu / n, rss / 1024, hwm / 1024, segs, lost }'
}

echo "media: ${RUN_S}s per run after ${WARM_S}s warm-up; $(nproc) cores; $(uname -r)"
run pass1080 "pass-through H.264 1080p25 4Mb/s" 1 "$PASS"
run enc720 "x264 ultrafast 720p25 test source" 1 "$ENC720"
run room7 "room + 6 seats, pass-through 1080p" 7 "$PASS"

# RTSP camera: H.265 4 MP pass-through CPU, and the time from a camera's return to
# recording (bench/media_rtsp.py; needs python3-gi and gir1.2-gst-rtsp-server-1.0).
/usr/bin/python3 "$ROOT/bench/media_rtsp.py" "$BUILD" "$RUN_S"

# The real agent (MQTT, door, recorder, spool) with the same room: its resident memory,
# and the installed size of a room board's packages.
/usr/bin/python3 "$ROOT/bench/agent_footprint.py" "$BUILD" "$PASS" "$((RUN_S + WARM_S))"
