#!/usr/bin/env bash
# Compares the built liblitterbox.so with the committed ABI baseline
# (abi/liblitterbox.abi), types read from the debug information and limited
# to the public header. New functions pass. Any other change fails: a
# removed or changed function, a public struct whose size or members moved,
# an enum value renumbered. Not every such change breaks old programs (a
# field appended to a result struct does not), which is why an intended
# change is a deliberate step: refresh the baseline with
# scripts/abi-baseline.sh and commit it with the change.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
lib=${1:-build-check/lib/liblitterbox.so}
baseline="$here/abi/liblitterbox.abi"
set +e
report=$(abidiff --headers-dir2 "$here/include" --no-added-syms "$baseline" "$lib" 2>&1)
status=$?
set -e
# abidiff's status is a bit field: 1 error, 2 usage, 4 a change, 8 an
# incompatible change.
if (( status & 3 )); then
  echo "check-abi: abidiff failed ($status):" >&2
  echo "$report" >&2
  exit 1
fi
if (( status & 12 )); then
  echo "check-abi: the ABI differs from abi/liblitterbox.abi:" >&2
  echo "$report" >&2
  echo "check-abi: if this change is intended, run scripts/abi-baseline.sh and commit" >&2
  exit 1
fi
echo "check-abi: same ABI as abi/liblitterbox.abi (new functions allowed)"
