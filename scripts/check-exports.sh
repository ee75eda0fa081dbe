#!/usr/bin/env bash
# Compares the dynamic symbols liblitterbox.so defines with src/exports.txt,
# and checks that each is versioned LITTERBOX_1.0 (src/litterbox.map).
set -euo pipefail
lib=${1:-build/lib/liblitterbox.so}
here=$(cd "$(dirname "$0")/.." && pwd)
defined=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort)
actual=$(echo "$defined" | sed 's/@.*//')
expected=$(grep -v '^#' "$here/src/exports.txt" | sed '/^$/d' | sort)
if [ "$actual" != "$expected" ]; then
  echo "exported symbols differ from src/exports.txt (< expected, > actual):" >&2
  diff <(echo "$expected") <(echo "$actual") >&2 || true
  exit 1
fi
if echo "$actual" | grep -qv '^lb_'; then
  echo "a symbol without the lb_ prefix is exported" >&2
  exit 1
fi
unversioned=$(echo "$defined" | grep -v '@@LITTERBOX_1\.0$' || true)
if [ -n "$unversioned" ]; then
  echo "symbols not versioned LITTERBOX_1.0:" >&2
  echo "$unversioned" >&2
  exit 1
fi
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = "liblitterbox.so.1" ] || { echo "SONAME is '$soname', not liblitterbox.so.1" >&2; exit 1; }
echo "exports ok: $(echo "$actual" | wc -l) symbols, all lb_, all LITTERBOX_1.0, SONAME $soname"
