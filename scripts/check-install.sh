#!/usr/bin/env bash
# Installs a build into a scratch prefix and builds outside programs against
# it: examples/quickstart.c with nothing but `pkg-config --cflags --libs
# litterbox`, and a CMake project with find_package(Litterbox).
set -euo pipefail
build=${1:-build}
scratch=${2:-$(mktemp -d)}
here=$(cd "$(dirname "$0")/.." && pwd)
prefix="$scratch/prefix"
cmake --install "$here/$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name litterbox.pc -printf '%h\n' | head -1)
export PKG_CONFIG_PATH="$libdir"
for f in include/litterbox.h lib*/liblitterbox.a share/man/man1/litterbox.1; do
  compgen -G "$prefix/$f" >/dev/null || { echo "install lacks $f" >&2; exit 1; }
done
# A quickstart run reaches the library when it fails for want of a URL.
runs() {
  "$@" >/dev/null 2>"$scratch/err" && {
    echo "quickstart without SANDBOX_SERVICE_URL should fail" >&2; exit 1; }
  grep -q "SANDBOX_SERVICE_URL is not set" "$scratch/err" || { cat "$scratch/err" >&2; exit 1; }
}
cc "$here/examples/quickstart.c" $(pkg-config --cflags --libs litterbox) -o "$scratch/quickstart"
# Outside the system's library folders, the loader needs telling where the
# library is: LD_LIBRARY_PATH when running, or an rpath when linking (the
# README's two ways).
LD_LIBRARY_PATH="$libdir/.." runs env -u SANDBOX_SERVICE_URL "$scratch/quickstart"
lib=$(realpath "$(pkg-config --variable=libdir litterbox)")
cc "$here/examples/quickstart.c" $(pkg-config --cflags --libs litterbox) -Wl,-rpath,"$lib" \
  -o "$scratch/quickstart-rpath"
runs env -u LD_LIBRARY_PATH -u SANDBOX_SERVICE_URL "$scratch/quickstart-rpath"
# The installed program finds the installed library by itself, and
# `man litterbox` finds its page under the prefix.
env -u LD_LIBRARY_PATH "$prefix/bin/litterbox" --version | grep -q '^litterbox ' ||
  { echo "the installed litterbox does not run" >&2; exit 1; }
if command -v man >/dev/null; then
  man -M "$prefix/share/man" -w litterbox >/dev/null ||
    { echo "man does not find litterbox(1) under $prefix/share/man" >&2; exit 1; }
fi

mkdir -p "$scratch/consumer"
cat > "$scratch/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(Litterbox 1.0 REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE Litterbox::litterbox)
CM
printf '#include <litterbox.h>\n#include <string.h>\nint main(void) { return strcmp(lb_version(), "1.0.0") != 0; }\n' \
  > "$scratch/consumer/main.c"
cmake -S "$scratch/consumer" -B "$scratch/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$scratch/consumer/build" >/dev/null
LD_LIBRARY_PATH="$libdir/.." "$scratch/consumer/build/consumer"
echo "install ok: pkg-config and find_package consumers built and ran"
