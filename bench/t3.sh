#!/usr/bin/env bash
# T3 (docs/performance.md): 5,000 concurrent creates through the non-blocking API on one
# thread, against bench/delay_server holding each request 2 s, side by side
# with a plain libcurl multi loop doing the same POSTs. Prints wall time
# (first start to last completion), CPU time, peak RSS per call in flight,
# the ratio to the baseline and PASS/MISS against the targets.
#
# Knobs (environment): BENCH_T3_CALLS (5000), BENCH_T3_DELAY_MS (2000),
# BENCH_ROUNDS (3: the median is the figure), BENCH_BUILD (build-bench).
# Exit status: 0 when it ran (BENCH_STRICT=1 fails on a miss), 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

calls=${BENCH_T3_CALLS:-5000}
delay=${BENCH_T3_DELAY_MS:-2000}
rounds=${BENCH_ROUNDS:-3}
build=${BENCH_BUILD:-build-bench}
jobs=$(nproc 2>/dev/null || echo 2)

echo "== T3: build (Release) in $build =="
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLB_TESTS=OFF -DLB_BENCH=ON >/dev/null
cmake --build "$build" -j"$jobs" --target bench_async delay_server >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lb-t3.XXXXXX")
server_pid=""
cleanup() {
  # The server's own status (143 after the kill) must not become ours.
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both processes may hold thousands of sockets: raise the soft fd limit to
# the hard one (each program also does it for itself).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r); fd limit $(ulimit -n); somaxconn $(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo ?)"

"$build/bin/delay_server" "$delay" >"$tmp/port" &
server_pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(awk '{print $2}' "$tmp/port")
[ -n "$port" ] || { echo "t3: the delay server did not start" >&2; exit 1; }
url="http://127.0.0.1:$port"

# field NAME LINE: the value of NAME=... in a result line
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$tmp/lb" ; : >"$tmp/curl"
for r in $(seq "$rounds"); do
  for mode in curl lb; do
    line=$("$build/bin/bench_async" "$mode" "$url" "$calls") || { echo "t3: $mode round $r failed: $line" >&2; exit 1; }
    echo "round $r: $line"
    echo "$line" >>"$tmp/$mode"
  done
done

stat_of() { # MODE FIELD
  while read -r line; do field "$2" " $line"; done <"$tmp/$1" | median
}
lb_wall=$(stat_of lb wall_s); curl_wall=$(stat_of curl wall_s)
lb_cpu=$(stat_of lb cpu_s); curl_cpu=$(stat_of curl cpu_s)
lb_rss=$(stat_of lb rss_per_call_kib); curl_rss=$(stat_of curl rss_per_call_kib)
ratio=$(awk -v a="$lb_wall" -v b="$curl_wall" 'BEGIN {printf "%.2f", a / b}')
verdict=PASS
awk -v w="$lb_wall" -v c="$lb_cpu" -v m="$lb_rss" -v d="$delay" \
  'BEGIN {exit !(w <= d / 1000 + 1.5 && m <= 64 && c < w / 2)}' || verdict=MISS

printf '\nT3  %d creates at once, each held %d ms (medians of %d rounds)\n' "$calls" "$delay" "$rounds"
printf '    liblitterbox  wall %ss  cpu %ss  rss %s KiB/call\n' "$lb_wall" "$lb_cpu" "$lb_rss"
printf '    libcurl multi wall %ss  cpu %ss  rss %s KiB/call\n' "$curl_wall" "$curl_cpu" "$curl_rss"
printf '    wall ratio %s x baseline; target: wall <= %.1fs, <= 64 KiB/call, cpu << wall: %s\n' \
  "$ratio" "$(awk -v d="$delay" 'BEGIN {print d / 1000 + 1.5}')" "$verdict"
if [ "$verdict" = MISS ] && [ "${BENCH_STRICT:-0}" = 1 ]; then exit 1; fi
exit 0
