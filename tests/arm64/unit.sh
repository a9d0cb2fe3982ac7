#!/usr/bin/env bash
# unit.sh SOURCE_DIR BUILD_DIR: the unit tests (ctest label "unit") of the arm64 cross
# build in BUILD_DIR, each run under qemu-user. Built when missing, incrementally otherwise.
# Exits 77 (ctest: skipped) with one line saying why when this machine cannot run them.
set -euo pipefail
src=$1 dir=$2
skip() {
	echo "SKIPPED arm64 unit tests: $*"
	exit 77
}
command -v aarch64-linux-gnu-gcc >/dev/null ||
	skip "no aarch64-linux-gnu-gcc (crossbuild-essential-arm64; ./dev test installs it)"
command -v debootstrap >/dev/null ||
	skip "no debootstrap to make the arm64 sysroot (./dev test installs it)"
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
binfmt=no
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && binfmt=yes
# ctest runs each test as `qemu-aarch64-static -L SYSROOT test`: binfmt_misc is not needed.
[ -n "$qemu" ] || skip "qemu-user cannot run arm64 programs here: no qemu-aarch64-static (binfmt_misc for aarch64: $binfmt; ./dev test installs qemu-user-static)"
echo "arm64: emulator $qemu (binfmt_misc for aarch64: $binfmt, not needed)"
bash "$src/tests/arm64/build.sh" "$src" "$dir"
# The programs really are arm64 ELF files.
file -L "$dir/bin/evalroom-agent" 2>/dev/null | grep -q "ARM aarch64" ||
	od -An -tx1 -j18 -N2 "$dir/bin/evalroom-agent" | grep -q "b7 00" ||
	{ echo "arm64: $dir/bin/evalroom-agent is not an arm64 program" >&2; exit 1; }
cd "$dir"
# ctest puts the emulator only before a test whose command is one of the build's programs;
# a test that starts them from a script needs binfmt_misc to run arm64 programs.
exclude=()
if [ "$binfmt" = no ]; then
	echo "arm64: not run here (it starts the arm64 evalroom-draw-tool from Python, which needs binfmt_misc): draw_reference_reimplementation"
	exclude=(-E '^draw_reference_reimplementation$')
fi
ctest -L unit "${exclude[@]}" -j2 --output-on-failure --timeout 600 "$@"
