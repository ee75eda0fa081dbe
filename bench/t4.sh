#!/usr/bin/env bash
# T4 (docs/performance.md): litterbox-server with the fake provider, GET /hosts/{id}
# under `wrk -t2 -c64`, against nginx serving the same record as a static
# file, side by side in one run. Prints both req/s, the ratio and PASS/MISS
# against the target (>= 0.5).
#
# Knobs (environment): BENCH_WRK_SECONDS (5), BENCH_BUILD (build-bench),
# BENCH_ROUNDS (3: the median of the rounds is the figure; nginx and the
# server alternate).
# Exit status: 0 when it ran (a miss is reported, not failed; BENCH_STRICT=1
# fails on a miss), 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${BENCH_WRK_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
build=${BENCH_BUILD:-build-bench}
jobs=$(nproc 2>/dev/null || echo 2)
command -v wrk >/dev/null || { echo "t4: wrk is not installed" >&2; exit 1; }
command -v nginx >/dev/null || { echo "t4: nginx is not installed" >&2; exit 1; }

echo "== T4: build (Release) in $build =="
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLB_TESTS=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target litterbox_server >/dev/null
server_bin=$build/bin/litterbox-server

# shellcheck source=bench/nginx.sh
. bench/nginx.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lb-t4.XXXXXX")
server_pid=""
stop_pid() { # pid signal
  [ -n "$1" ] || return 0
  if kill -0 "$1" 2>/dev/null; then
    kill "-$2" "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || true
}
cleanup() {
  stop_pid "$server_pid" TERM
  nginx_stop
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp/www/hosts" "$tmp/logs"

token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$token" >"$tmp/token"
chmod 600 "$tmp/token"

echo "== T4: litterbox-server (fake provider, database in memory) =="
"$server_bin" --listen 127.0.0.1:0 --token-file "$tmp/token" --state-dir "$tmp/state" \
  --db :memory: --default-provider fake --lease-ttl 1d \
  >"$tmp/server.out" 2>"$tmp/logs/server.log" &
server_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$tmp/server.out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
server_url=$(sed -n 's/^listening on //p' "$tmp/server.out")
[ -n "$server_url" ] || { echo "t4: the server did not start" >&2; cat "$tmp/logs/server.log" >&2; exit 1; }
auth="Authorization: Bearer $token"
created=$(curl -fsS -X POST -H "$auth" -H 'Content-Type: application/json' \
  -d '{"env":{"BENCH":"1"}}' "$server_url/hosts")
host_id=$(printf '%s' "$created" | sed -n 's/^{"id":"\([0-9a-f-]*\)".*/\1/p')
[ -n "$host_id" ] || { echo "t4: create failed: $created" >&2; exit 1; }
# The record as GET returns it (no private key): nginx serves these bytes.
curl -fsS -H "$auth" "$server_url/hosts/$host_id" >"$tmp/www/hosts/$host_id"
chmod 644 "$tmp/www/hosts/$host_id"
bytes=$(stat -c %s "$tmp/www/hosts/$host_id")
echo "server $server_url (pid $server_pid); host $host_id, record $bytes bytes"

echo "== T4: nginx (1 worker) serving the same record =="
nginx_start "$tmp" '
        location /hosts/ { default_type application/json; }' || exit 1
if ! curl -fsS "$nginx_url/hosts/$host_id" | cmp -s - "$tmp/www/hosts/$host_id"; then
  echo "t4: nginx does not serve the record" >&2
  exit 1
fi

echo
echo "== machine =="
echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); kernel $(uname -sr)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); loopback; nginx 1 worker; wrk -t2 -c64 -d${secs}s"

rps() { # url [header]
  local out
  if [ $# -gt 1 ]; then
    out=$(wrk -t2 -c64 -d"${secs}s" -H "$2" "$1")
  else
    out=$(wrk -t2 -c64 -d"${secs}s" "$1")
  fi
  if printf '%s\n' "$out" | grep -q 'Non-2xx'; then
    echo "t4: non-2xx answers from $1" >&2
    printf '%s\n' "$out" >&2
    return 1
  fi
  printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo
echo "== T4: rounds =="
server_all=""
nginx_all=""
for i in $(seq "$rounds"); do
  n=$(rps "$nginx_url/hosts/$host_id")
  s=$(rps "$server_url/hosts/$host_id" "$auth")
  echo "round $i: nginx $n req/s, litterbox-server $s req/s"
  nginx_all="$nginx_all$n"$'\n'
  server_all="$server_all$s"$'\n'
done
n=$(printf '%s' "$nginx_all" | median)
s=$(printf '%s' "$server_all" | median)
ratio=$(awk -v s="$s" -v n="$n" 'BEGIN { printf "%.3f", s / n }')
ok=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.5) ? 1 : 0 }')
v=MISS
[ "$ok" = 1 ] && v=PASS

echo
echo "== summary =="
printf 'T4 GET /hosts/{id}  litterbox-server %10s req/s   baseline nginx %10s req/s   ratio %s  (target >= 0.5)  %s\n' \
  "$s" "$n" "$ratio" "$v"
if [ "$v" = MISS ] && [ "${BENCH_STRICT:-0}" = 1 ]; then exit 1; fi
exit 0
