#!/usr/bin/env bash
# sysroot.sh: prints the path of the arm64 sysroot the cross build compiles against and
# qemu-user runs the programs in; makes it when absent (a few minutes, from this
# machine's Debian mirror) under ~/.cache/evalroom/. It is Debian bookworm arm64 with the
# project's -dev packages, unpacked by `debootstrap --foreign` (no arm64 code runs, no
# binfmt needed) and the rest of the downloaded packages extracted beside it. The host's
# dpkg is left alone: bookworm's libgstreamer-plugins-base1.0-dev is not Multi-Arch: same,
# so the :arm64 -dev packages cannot be installed beside the amd64 ones.
set -euo pipefail
PKGS="libc6-dev libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
 libgpiod-dev libpaho-mqtt-dev libsqlite3-dev libssl-dev libjansson-dev libsystemd-dev
 libncurses-dev libcmocka-dev gstreamer1.0-plugins-base gstreamer1.0-plugins-good"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/evalroom
key=$(echo "$PKGS" | sha256sum | cut -c1-12)
root=$cache/sysroot-bookworm-arm64-$key
if [ -f "$root/.evalroom-complete" ]; then
	echo "$root"
	exit 0
fi
mirror=$(sed -n 's/^URIs:[[:space:]]*\(\S*\/debian\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(http\S*\/debian\)[[:space:]]\+bookworm[[:space:]].*/\1/p' \
	/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
[ -n "$mirror" ] || { echo "arm64 sysroot: no bookworm mirror in /etc/apt/sources*" >&2; exit 1; }
mkdir -p "$cache"
rm -rf "$root.tmp"
echo "arm64 sysroot: making $root from $mirror (once)" >&2
debootstrap --arch=arm64 --foreign --variant=minbase --include="$(echo $PKGS | tr ' ' ,)" \
	bookworm "$root.tmp" "$mirror" >"$cache/sysroot.log" 2>&1 ||
	{ tail -20 "$cache/sysroot.log" >&2; echo "arm64 sysroot: debootstrap failed" >&2; exit 1; }
for deb in "$root.tmp"/var/cache/apt/archives/*.deb; do
	dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$root.tmp"
done
rm -f "$root.tmp"/var/cache/apt/archives/*.deb
touch "$root.tmp/.evalroom-complete"
mv "$root.tmp" "$root"
echo "$root"
