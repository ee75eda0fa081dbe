#!/usr/bin/env bash
# Builds the root filesystem of the gvisor provider's hosts, once, into a
# cache folder shared by every server and test run on this machine:
#
#   $CACHE/debian-12 -> debian-12-<hash>/   (the image the server uses)
#   $CACHE/debian-12-<hash>/rootfs          (read-only to every sandbox)
#
# <hash> covers this script and the C it compiles into the image, so a
# change to either builds a new image; an image already built is reused
# (the run ends in well under a second). Concurrent runs wait for each other
# (flock). Needs root, debootstrap and a C compiler, and Debian's mirror
# the first time.
#
# The image: Debian 12 (bookworm), debootstrap's minbase variant (bash,
# coreutils, apt, dpkg, ...) plus
#   openssh-sftp-server  sftp and scp sessions (sshd itself runs outside)
#   openssh-client       scp's remote end for `scp -O`, ssh-keygen
#   procps               ps, top, kill, free
#   python3-minimal      a scripting language most agents expect
# and two programs built from server/gvisor/image/: statx_shim.so (listed in
# /etc/ld.so.preload: runsc refuses statx with AT_NO_AUTOMOUNT, which breaks
# `ls`) and init (process 1 of the sandbox, reaping what sessions leave
# behind). No compiler, git or curl: a host has no network to fetch with,
# and each package costs every CI run's first build; a bigger image is one
# line here.
#
# Usage: scripts/gvisor-image.sh [--if-possible] [CACHE]   (default:
#        $LITTERBOX_GVISOR_IMAGES or /var/cache/litterbox/gvisor). Prints the
#        image folder. --if-possible (the test suite's setup): where gvisor
#        hosts cannot run at all (not root, no runsc, runsc cannot start a
#        sandbox), say SKIP and exit 0.
set -Eeuo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = "--if-possible" ]; then
  shift
  why=""
  [ "$(id -u)" -eq 0 ] || why="not root"
  command -v runsc >/dev/null || why="runsc is not installed"
  [ -n "$why" ] || runsc --network=none do true >/dev/null 2>&1 ||
    why="runsc cannot start a sandbox here ('runsc --network=none do true' fails)"
  if [ -n "$why" ]; then
    echo "SKIP: gvisor image: $why (the gvisor tests skip too)"
    exit 0
  fi
fi
cache=${1:-${LITTERBOX_GVISOR_IMAGES:-/var/cache/litterbox/gvisor}}
mirror=${LITTERBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=openssh-sftp-server,openssh-client,procps,python3-minimal
sources=("$here/scripts/gvisor-image.sh" "$here/server/gvisor/image/statx_shim.c"
  "$here/server/gvisor/image/init.c")

die() { printf 'gvisor-image: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and the image's root-owned files)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
command -v cc >/dev/null || die "a C compiler is missing: apt-get install build-essential"

hash=$(cat "${sources[@]}" | sha256sum | cut -c1-12)
name=debian-12
image="$cache/$name-$hash"
mkdir -p "$cache"
chmod 755 "$cache"

exec 9>"$cache/.lock"
flock 9
if [ -f "$image/ready" ]; then
  ln -sfn "$name-$hash" "$cache/$name.new" && mv -T "$cache/$name.new" "$cache/$name"
  printf '%s\n' "$image"
  exit 0
fi

work="$image.tmp"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
echo "gvisor-image: debootstrap of Debian 12 into $image (a few minutes, once)" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$work/rootfs" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

root="$work/rootfs"
mkdir -p "$root/usr/lib/litterbox"
cc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$root/usr/lib/litterbox/statx_shim.so" \
  "$here/server/gvisor/image/statx_shim.c"
cc -O2 -Wall -Wextra -Werror -o "$root/usr/lib/litterbox/init" "$here/server/gvisor/image/init.c"
echo /usr/lib/litterbox/statx_shim.so >"$root/etc/ld.so.preload"

# What a sandbox's root filesystem does not need: apt's lists and caches.
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*
echo "$name" >"$root/etc/hostname"

mv "$work" "$image"
trap - EXIT
touch "$image/ready"
ln -sfn "$name-$hash" "$cache/$name.new" && mv -T "$cache/$name.new" "$cache/$name"
# Images of older hashes stay: hosts made from them still use them (their
# layer's lower folder). Remove one by hand once no host uses it.
printf '%s\n' "$image"
