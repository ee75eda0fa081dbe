#!/usr/bin/env bash
# `make check`: every test stage, failing on the first that fails.
#   1. warnings-as-errors build, the whole suite (ctest)
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   2b. the thread tests under ThreadSanitizer
#   3. the library-level suites under valgrind, no leaks allowed
#   4. the public header alone, as C11 and as C++, -Wall -Wextra -Wpedantic -Werror
#   5. the exported symbols of liblitterbox.so: lb_ names only, as listed,
#      versioned LITTERBOX_1.0; its ABI against abi/liblitterbox.abi
#   6. install to a scratch prefix; an outside program builds with pkg-config
#      alone, another with find_package(Litterbox)
# The fuzz corpus replay is a ctest case, so it runs in stages 1-3.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
stage() { printf '\n== check: %s ==\n' "$*"; }

stage "build (warnings as errors)"
cmake -S . -B build-check -DCMAKE_BUILD_TYPE=Debug -DLB_WERROR=ON >/dev/null
cmake --build build-check -j"$jobs"
stage "tests"
(cd build-check && ctest --output-on-failure -j"$jobs")

stage "build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLB_WERROR=ON -DLB_SANITIZE=ON \
      -DLB_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
stage "tests under ASan + UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

stage "build (ThreadSanitizer), thread tests"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DLB_WERROR=ON -DLB_TSAN=ON -DLB_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs"
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -L tsan)

stage "tests under valgrind"
(cd build-check && ctest --output-on-failure -L valgrind -j"$jobs" \
   --overwrite MemoryCheckCommand=/usr/bin/valgrind \
   --overwrite MemoryCheckCommandOptions="--error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --track-fds=no" \
   -T memcheck >/tmp/lb-memcheck.log 2>&1) || { cat /tmp/lb-memcheck.log; exit 1; }
grep -E 'tests passed|Memory checking results' -A8 /tmp/lb-memcheck.log || true
if grep -q 'Defects:' /tmp/lb-memcheck.log; then
  cat /tmp/lb-memcheck.log
  for f in build-check/Testing/Temporary/MemoryChecker.*.log; do
    [ -s "$f" ] && { echo "--- $f"; cat "$f"; }
  done
  echo "valgrind found defects" >&2
  exit 1
fi

stage "public header alone, C11 and C++"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '#include "litterbox.h"\nint main(void) { return lb_version() == 0; }\n' > "$tmp/h.c"
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -Iinclude -c "$tmp/h.c" -o "$tmp/h.o"
printf '#include "litterbox.h"\nint main() { lb_client_options o = LB_CLIENT_OPTIONS_INIT; lb_create_opts c = LB_CREATE_OPTS_INIT; (void)o; (void)c; return lb_version() == 0; }\n' > "$tmp/h.cc"
if command -v c++ >/dev/null; then
  c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -Iinclude -c "$tmp/h.cc" -o "$tmp/hpp.o"
else
  clang++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -Iinclude -c "$tmp/h.cc" -o "$tmp/hpp.o"
fi
for f in adapters/*.h; do
  [ -e "$f" ] || continue
  printf '#include "%s"\n' "$PWD/$f" > "$tmp/a.c"
  cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Werror -Iinclude -c "$tmp/a.c" -o "$tmp/a.o"
  printf '#include "%s"\nint main() { return 0; }\n' "$PWD/$f" > "$tmp/a.cc"
  c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -Iinclude -c "$tmp/a.cc" -o "$tmp/a.o"
done
echo "header ok"

stage "exported symbols, ABI"
bash scripts/check-exports.sh build-check/lib/liblitterbox.so
bash scripts/check-abi.sh build-check/lib/liblitterbox.so

stage "install; outside programs build with pkg-config and find_package"
bash scripts/check-install.sh build-check "$tmp"

printf '\ncheck: all stages passed\n'
