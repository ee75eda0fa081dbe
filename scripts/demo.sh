#!/usr/bin/env bash
# `make demo`: the whole job of liblitterbox against a local litterbox-server.
# Builds, starts the server on a free loopback port with a fresh token,
# creates a host with the CLI, runs a command in it with `litterbox ssh`
# (the key the CLI kept, strict host-key checking), deletes it by name and
# stops the server.
# Everything it makes lives in one temporary folder, removed on any exit.
set -Eeuo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
build="${DEMO_BUILD_DIR:-$root/build}"  # DEMO_BUILD_DIR: another build folder
cli="$build/bin/litterbox"
server_bin="$build/bin/litterbox-server"

bold=$'\033[1m'
dim=$'\033[2m'
reset=$'\033[0m'
if [ ! -t 1 ]; then bold="" dim="" reset=""; fi
step=0
say() { step=$((step + 1)); printf '\n%s%d. %s%s\n' "$bold" "$step" "$*" "$reset"; }
note() { printf '   %s\n' "$*"; }
show() { printf '%s   $ %s%s\n' "$dim" "$*" "$reset"; }
die() {
  printf '\ndemo: %s\n' "$*" >&2
  if [ -n "${work:-}" ] && [ -s "$work/server.log" ]; then
    printf 'demo: the server said:\n' >&2
    tail -n 20 "$work/server.log" | sed 's/^/    /' >&2
  fi
  exit 1
}

for tool in cmake ssh /usr/sbin/sshd /usr/bin/bwrap; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool is missing: run 'bash scripts/install-deps.sh' (make demo does it for you)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/litterbox-demo.XXXXXX")
chmod 700 "$work"
server_pid=""
host_id=""

cleanup() {
  status=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "$host_id" ] && [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    "$cli" delete "$host_id" >/dev/null 2>&1
  fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  # A host whose server died first: stop its sshd (found by its config
  # path, which lies inside our temporary folder) before removing the folder.
  for cmdline in /proc/[0-9]*/cmdline; do
    # 2>/dev/null first: a process that ended since the glob makes the
    # redirection itself fail, and its message must not reach the screen.
    if tr '\0' ' ' 2>/dev/null <"$cmdline" | grep -qE -- "-f $work/state/(hosts|gvisor)/"; then
      pid=${cmdline#/proc/}
      kill -KILL "${pid%/cmdline}" 2>/dev/null
    fi
  done
  # ... and a gvisor host's sandbox and mounts.
  for dir in "$work"/state/gvisor/*/; do
    [ -d "$dir/runsc" ] && runsc --root="$dir/runsc" delete --force "$(basename "$dir")" >/dev/null 2>&1
    umount -l "$dir/rootfs" "$dir/disk" 2>/dev/null
  done
  rm -rf "$work"
  if [ "$status" -ne 0 ]; then
    printf '\ndemo: failed (exit %d); everything it started was stopped and removed.\n' \
      "$status" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

printf '%sliblitterbox demo:%s a real host you can ssh into, on this machine, through the API.\n' \
  "$bold" "$reset"

say "Build the library, the litterbox CLI and litterbox-server (Release, in build/; a minute the first time)"
show "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build"
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$build" -j"$(nproc)" --target litterbox_cli litterbox_server; } \
  >"$work/build.log" 2>&1; then
  tail -n 30 "$work/build.log" >&2
  die "the build failed (full log above)"
fi
note "built $(basename "$cli") and $(basename "$server_bin")"

say "Make a fresh random token, in a file only you can read"
(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$work/token" && echo >>"$work/token")
note "token file: $work/token (mode $(stat -c %a "$work/token")); the token never appears on a command line"

say "Start litterbox-server on 127.0.0.1, on a port the kernel picks"
show "litterbox-server --listen 127.0.0.1:0 --token-file $work/token --state-dir $work/state"
"$server_bin" --listen 127.0.0.1:0 --token-file "$work/token" --state-dir "$work/state" \
  --default-provider local >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 150); do
  grep -q '^listening on ' "$work/server.out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || die "litterbox-server exited at start"
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/server.out")
[ -n "$url" ] || die "litterbox-server did not say where it listens"
note "it says: listening on $url (pid $server_pid)"
export SANDBOX_SERVICE_URL="$url"
SANDBOX_SERVICE_TOKEN=$(cat "$work/token")
export SANDBOX_SERVICE_TOKEN
note "the CLI finds it through SANDBOX_SERVICE_URL and SANDBOX_SERVICE_TOKEN (environment)"
# The CLI keeps each host's private key in its state folder; the demo's
# hosts live and die with it, so its folder does too.
export XDG_STATE_HOME="$work/cli-state"

say "Ask the server whether it can make hosts here"
show "litterbox doctor"
"$cli" doctor >"$work/doctor.out" || true
sed 's/^/   /' "$work/doctor.out"
# A gvisor host (a gVisor sandbox of its own) where doctor says it works
# here; else a local one (a sandboxed login on this machine).
if grep -qE '^check ok +provider:gvisor ' "$work/doctor.out"; then
  provider=gvisor
  note "provider: gvisor (doctor says it works here): the host is a gVisor sandbox of its own"
else
  provider=local
  grep -qE '^check ok +provider:local ' "$work/doctor.out" ||
    die "the server's doctor reports a problem (see above)"
  note "provider: local (doctor says gvisor does not work here: see its line above for why)"
fi

say "Create a host, with one environment variable"
show "litterbox create --provider $provider --env GREETING='hello from litterbox'"
"$cli" create --provider "$provider" --env "GREETING=hello from litterbox" \
  >"$work/create.out" || { cat "$work/create.out"; die "create failed"; }
sed 's/^/   /' "$work/create.out"
host_id=$(awk '$1 == "id:" { print $2 }' "$work/create.out")
host_name=$(awk '$1 == "name:" { print $2 }' "$work/create.out")
[ -n "$host_id" ] && [ -n "$host_name" ] || die "could not read the host's id and name"
note "a real OpenSSH server now runs for $host_name, with its own host key and your key pair;"
if [ "$provider" = gvisor ]; then
  note "every session there enters the host's own gVisor sandbox (its own kernel, no network)."
else
  note "every session there runs inside a bubblewrap sandbox."
fi
note "The CLI kept the private key (the service hands it out once) in its state folder,"
note "\$XDG_STATE_HOME/litterbox"

say "Run a command in the host over ssh"
cmd='echo "$GREETING"; echo "I am $(id -un) on $(hostname), in $HOME"; uname -a'
show "litterbox ssh $host_name -- '$cmd'"
"$cli" ssh "$host_name" -- "$cmd" >"$work/ssh.out" 2>"$work/ssh.err" ||
  { cat "$work/ssh.err" >&2; die "ssh failed"; }
sed 's/^/   > /' "$work/ssh.out"
grep -qx 'hello from litterbox' "$work/ssh.out" || die "the host did not see GREETING"
note "StrictHostKeyChecking=yes: ssh trusted only the host key the API returned;"
note "the greeting came from the host's environment, exactly as given at create."
note "For plain ssh, scp or an editor: litterbox ssh-config $host_name > ssh_config"

say "Delete the host, by name"
show "litterbox delete $host_name"
"$cli" delete "$host_name" | sed 's/^/   /'
host_id=""
hosts_dir="$work/state/hosts"
[ "$provider" = gvisor ] && hosts_dir="$work/state/gvisor"
if [ -e "$hosts_dir" ] && [ -n "$(ls -A "$hosts_dir")" ]; then
  die "the host's files are still there after delete"
fi
note "its sshd, its sessions, its keys and its files are gone, and so is the CLI's copy of the key"

say "Stop the server"
show "kill -TERM $server_pid"
kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
[ "$rc" -eq 0 ] || die "litterbox-server exited with status $rc"
note "it exited 0; what it logged, one line per request:"
sed 's/^/   | /' "$work/server.log"

printf '\n%sDone:%s created a host through the API, ran a command in it over ssh, deleted it.\n' \
  "$bold" "$reset"
# Nothing may follow "Done": the EXIT trap stays quiet on success.
