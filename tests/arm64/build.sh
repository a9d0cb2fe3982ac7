#!/usr/bin/env bash
# build.sh SOURCE_DIR BUILD_DIR: configure (first time) and build the arm64 cross build
# (cmake/toolchain-arm64.cmake, against the sysroot of tests/arm64/sysroot.sh, made when
# absent) with the Debian layout, as the arm64 packages need.
# Used by ./dev package and by the arm64 unit tests (unit.sh); incremental after the first run.
set -euo pipefail
src=$1 dir=$2
mkdir -p "$dir"
sysroot=$(bash "$src/tests/arm64/sysroot.sh")
configured=$(sed -n 's/^EVALROOM_ARM64_SYSROOT:[A-Z]*=//p' "$dir/CMakeCache.txt" 2>/dev/null || true)
if [ -z "$configured" ] || [ "$(realpath -m "$configured")" != "$(realpath "$sysroot")" ]; then
	rm -f "$dir/CMakeCache.txt"
	cmake -S "$src" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchain-arm64.cmake" \
		-DEVALROOM_ARM64_SYSROOT="$sysroot" \
		-DEVALROOM_WERROR=ON -DCMAKE_INSTALL_PREFIX=/usr -DEVALROOM_SYSTEMD_LIBDIR=/lib \
		>"$dir/configure.log" 2>&1 ||
		{ cat "$dir/configure.log" >&2; echo "arm64: configure failed" >&2; exit 1; }
fi
nice -n 10 cmake --build "$dir" -j"$(nproc)" -- --no-print-directory -s >"$dir/build.log" 2>&1 ||
	{ tail -40 "$dir/build.log" >&2; echo "arm64: build failed (log: $dir/build.log)" >&2; exit 1; }
