#!/usr/bin/env bash
# Writes abi/liblitterbox.abi, the ABI that scripts/check-abi.sh holds every
# build to, from a debug build's liblitterbox.so (types come from its DWARF,
# restricted to the public header). Run it only for an intended change, and
# commit the result with that change:
#     bash scripts/abi-baseline.sh [BUILD_DIR]     # default build-check
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-check}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
lib="$build/lib/liblitterbox.so"
[ -f "$lib" ] || { echo "abi-baseline: no $lib (build with -DCMAKE_BUILD_TYPE=Debug first)" >&2; exit 1; }
mkdir -p "$here/abi"
abidw --headers-dir "$here/include" --no-corpus-path --out-file "$here/abi/liblitterbox.abi" "$lib"
echo "abi-baseline: wrote abi/liblitterbox.abi from $lib"
