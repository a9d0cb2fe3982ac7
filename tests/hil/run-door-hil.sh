#!/bin/bash
# ctest entry of the hardware-in-the-loop door test: boots QEMU with gpio-sim (see
# gpio-sim-qemu.sh), runs door_hil inside against /dev/gpiochipN, and checks both the
# exit marker and the program's own PASS line. Prints the console on failure.
# usage: run-door-hil.sh DOOR_HIL_BINARY BUILD_DIR
set -uo pipefail
BIN=$1 BUILD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
export WORK=${WORK:-$BUILD/hil-cache}
export GPIOSIM_LINES="DOOR_LOCK DOOR_SENSOR DOOR_REX DOOR_TAMPER WIEGAND_D0 WIEGAND_D1"
export QEMU_TIMEOUT=${QEMU_TIMEOUT:-240}
mkdir -p "$WORK"
EXTRA=$(mktemp -d); trap 'rm -rf "$EXTRA"' EXIT
cp "$BIN" "$EXTRA/door_hil"
# ASan builds need their runtime options inside the VM too.
bash "$HERE/gpio-sim-qemu.sh" "$EXTRA" \
	'ASAN_OPTIONS=detect_leaks=0 ./door_hil' > "$WORK/run.log" 2>&1
rc=$?
con=$(tr -d '\r' < "$WORK/run.log")
if [ $rc -eq 0 ] && grep -q '^DOOR_HIL_PASS' <<<"$con" && grep -q '^GPIOSIM_EXIT=0' <<<"$con"; then
	grep -E '^(GPIOSIM_READY|DOOR_HIL_PASS)|run-gpio-sim:' <<<"$con"
	exit 0
fi
echo "door HIL test failed (rc=$rc); console:" >&2
cat "$WORK/run.log" >&2
exit 1
