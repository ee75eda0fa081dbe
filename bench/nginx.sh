# A private nginx for the benchmarks' baselines; sourced by run.sh and t4.sh.
#
#   nginx_start DIR LOCATIONS   serve DIR/www on a free loopback port, with
#                               LOCATIONS (nginx `location` blocks) in its
#                               server; sets nginx_pid and nginx_url; config,
#                               pid and logs go in DIR. Returns 1 when nginx
#                               would not start (its log on stderr).
#   nginx_stop                  stop it (QUIT, then KILL after 5 s); safe to
#                               call twice or when it never started.
#
# One worker, keep-alive without limit, sendfile: nginx at its fastest for
# one client, which is what a baseline should be.

nginx_pid=""
nginx_url=""

_nginx_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Writes DIR/nginx.conf for port PORT, dropping directives this build of
# nginx does not know (nginx-light lacks some temp-path modules).
_nginx_conf() { # dir port locations
  local dir=$1
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
error_log $dir/logs/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    sendfile on;
    tcp_nodelay on;
    server {
        listen 127.0.0.1:$2;
        root $dir/www;
$3
    }
}
CONF
  local i out d
  for i in 1 2 3 4 5 6; do
    if out=$(nginx -t -q -c "$dir/nginx.conf" -p "$dir" -e "$dir/logs/error.log" 2>&1); then
      return 0
    fi
    d=$(printf '%s\n' "$out" | sed -n 's/.*unknown directive "\([a-z_]*\)".*/\1/p' | head -1)
    [ -n "$d" ] || { echo "$out" >&2; return 1; }
    sed -i "/^ *$d /d" "$dir/nginx.conf"
  done
  echo "$out" >&2
  return 1
}

nginx_start() { # dir locations
  local dir=$1 p port=""
  command -v nginx >/dev/null || { echo "bench: nginx is not installed" >&2; return 1; }
  # nginx's workers may run as an unprivileged user when we are root.
  chmod 755 "$dir"
  mkdir -p "$dir/logs"
  # A port nothing answers on now; nginx may still lose a race for it, so
  # the start is retried on another.
  for _ in $(seq 20); do
    p=$((20000 + RANDOM % 40000))
    _nginx_port_free "$p" || continue
    _nginx_conf "$dir" "$p" "$2" || return 1
    nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/logs/error.log" -g 'daemon off;' \
      >"$dir/logs/nginx.out" 2>&1 &
    nginx_pid=$!
    for _ in $(seq 50); do
      kill -0 "$nginx_pid" 2>/dev/null || break
      if ! _nginx_port_free "$p"; then port=$p; break; fi
      sleep 0.1
    done
    [ -n "$port" ] && break
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=""
  done
  if [ -z "$port" ]; then
    echo "bench: nginx did not start" >&2
    cat "$dir/logs/error.log" "$dir/logs/nginx.out" >&2 2>/dev/null || true
    return 1
  fi
  nginx_url="http://127.0.0.1:$port"
}

nginx_stop() {
  [ -n "$nginx_pid" ] || return 0
  if kill -0 "$nginx_pid" 2>/dev/null; then
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$nginx_pid" 2>/dev/null; then # the workers first: they outlive a killed master
      pkill -KILL -P "$nginx_pid" 2>/dev/null || true
      kill -KILL "$nginx_pid" 2>/dev/null || true
    fi
  fi
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=""
}
