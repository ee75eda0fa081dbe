#!/usr/bin/env bash
# Compares the dynamic symbols liblitterbox.so defines with src/exports.txt.
set -euo pipefail
lib=${1:-build/lib/liblitterbox.so}
here=$(cd "$(dirname "$0")/.." && pwd)
actual=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort)
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
echo "exports ok: $(echo "$actual" | wc -l) symbols, all lb_"
