#!/usr/bin/env bash
# The library reads JSON with its own reader only, and carries nothing that
# only the tests call: no yajl among the shared library's needs or either
# library's symbols, and none of the test support's entry points
# (tests/support/decode_support.c) defined in them.
# usage: library_contents.sh LIBLITTERBOX.so LIBLITTERBOX.a
set -euo pipefail
so=$1
archive=$2
status=0
if readelf -d "$so" | grep -i 'NEEDED.*yajl'; then
  echo "$so needs yajl" >&2
  status=1
fi
test_only='host_decode|host_list_decode|host_decoder_no_shortcut|host_decoder_shortcuts'
for lib in "$so" "$archive"; do
  # Every symbol, defined or not, of the static archive and the shared
  # library's full table (a Debug or Release build is not stripped).
  found=$(nm "$lib" 2>/dev/null | awk '{print $NF}' | grep -E "^(yajl_.*|$test_only)\$" || true)
  if [ -n "$found" ]; then
    echo "$lib holds symbols it must not:" >&2
    echo "$found" >&2
    status=1
  fi
done
[ $status = 0 ] && echo "library contents ok: no yajl, no test-only entry point"
exit $status
