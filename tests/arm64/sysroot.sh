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
 libncurses-dev libcmocka-dev libsoup-3.0-dev libsysprof-4-dev gstreamer1.0-plugins-base gstreamer1.0-plugins-good
 libgstreamer-plugins-bad1.0-dev gstreamer1.0-nice
 gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/evalroom
root=$cache/sysroot-bookworm-arm64
manifest=$root/.evalroom-packages
mirror=$(sed -n 's/^URIs:[[:space:]]*\(\S*\/debian\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(http\S*\/debian\)[[:space:]]\+bookworm[[:space:]].*/\1/p' \
	/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)

# unpack DIR PACKAGES...: debootstrap --foreign into DIR with PACKAGES, then every
# downloaded package extracted into DIR.
unpack() {
	local dir=$1
	shift
	[ -n "$mirror" ] || { echo "arm64 sysroot: no bookworm mirror in /etc/apt/sources*" >&2; exit 1; }
	debootstrap --arch=arm64 --foreign --variant=minbase --include="$(echo "$@" | tr ' ' ,)" \
		bookworm "$dir" "$mirror" >"$cache/sysroot.log" 2>&1 ||
		{ tail -20 "$cache/sysroot.log" >&2; echo "arm64 sysroot: debootstrap failed" >&2; exit 1; }
	for deb in "$dir"/var/cache/apt/archives/*.deb; do
		dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$dir"
	done
	rm -f "$dir"/var/cache/apt/archives/*.deb
}

mkdir -p "$cache"
if [ ! -f "$manifest" ]; then
	echo "arm64 sysroot: making $root from $mirror (once)" >&2
	rm -rf "$root.tmp"
	# shellcheck disable=SC2086
	unpack "$root.tmp" $PKGS
	echo $PKGS | tr ' ' '\n' >"$root.tmp/.evalroom-packages"
	mv "$root.tmp" "$root"
fi
# Packages added to PKGS later go into the same sysroot (its path, and so the builds
# made against it, stay).
missing=$(echo $PKGS | tr ' ' '\n' | grep -vxF -f "$manifest" || true)
if [ -n "$missing" ]; then
	echo "arm64 sysroot: adding" $missing >&2
	rm -rf "$root.add"
	# shellcheck disable=SC2086
	unpack "$root.add" $missing
	(cd "$root.add" && tar -c --exclude=./dev --exclude=./proc --exclude=./sys .) |
		tar -x --keep-directory-symlink -C "$root"
	rm -rf "$root.add" "$root/.evalroom-relative-links"
	echo $PKGS | tr ' ' '\n' >"$manifest"
fi
# Absolute symbolic links (libtinfo.so -> /lib/...) would point out of the sysroot, and
# the linker would then take a static library instead: make them relative.
if [ ! -f "$root/.evalroom-relative-links" ]; then
	find "$root" -type l -lname '/*' -print0 | while IFS= read -r -d '' l; do
		ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$root$(readlink "$l")")" "$l"
	done
	touch "$root/.evalroom-relative-links"
fi
echo "$root"
