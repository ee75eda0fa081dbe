#!/usr/bin/env bash
# Installs the Debian packages that building, testing and benchmarking need,
# skipping those already present. Run as root or with sudo available.
set -euo pipefail

packages=(
  build-essential cmake pkgconf clang libclang-rt-14-dev
  libcurl4-openssl-dev libyajl-dev libuv1-dev libevent-dev
  libmicrohttpd-dev libsqlite3-dev openssh-server openssh-client bubblewrap
  valgrind nginx-light wrk ca-certificates abigail-tools
  zsh fish  # the CLI's completion scripts are tested in each shell
  runsc debootstrap e2fsprogs   # the gvisor provider: sandboxes, its image, each host's disk
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root for: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
