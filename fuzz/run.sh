#!/usr/bin/env bash
# Fuzz the decoders for a while, then keep what was learnt.
#
# usage: bash fuzz/run.sh [SECONDS]   (default 300)
# Builds fuzz_decode with clang (-DLB_FUZZ=ON) in build-fuzz, runs it on a
# scratch copy of fuzz/corpus for SECONDS with one worker, then merges the
# inputs that add coverage back into fuzz/corpus (-merge=1: existing files
# stay, only new coverage is added). A crash or broken invariant leaves its
# reproducer in fuzz/artifacts/ (not committed) and makes the exit status 1.
# Environment: FUZZ_MAX_LEN (16384), FUZZ_BUILD (build-fuzz), FUZZ_ARGS
# (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-300}
max_len=${FUZZ_MAX_LEN:-16384}
build=${FUZZ_BUILD:-build-fuzz}
jobs=$(nproc 2>/dev/null || echo 2)

CC=${CC:-clang} cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_FUZZ=ON \
  -DLB_TESTS=OFF -DLB_BENCH=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target fuzz_decode
fuzzer=$PWD/$build/bin/fuzz_decode

scratch=$(mktemp -d "${TMPDIR:-/tmp}/lb-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/corpus" fuzz/artifacts fuzz/corpus
cp -p fuzz/corpus/. "$scratch/corpus/" -r

echo "== fuzz: $seconds s, one worker, corpus $(ls fuzz/corpus | wc -l) files =="
status=0
# UBSan findings abort too (the target is built with -fno-sanitize-recover).
# The full log goes to fuzz/artifacts/last-run.log; follow it with tail -f.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
"$fuzzer" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$PWD/fuzz/artifacts/" ${FUZZ_ARGS:-} \
  "$scratch/corpus" >fuzz/artifacts/last-run.log 2>&1 || status=1
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::|^Done [0-9]+ runs|ERROR|invariant|SUMMARY|Test unit' \
  fuzz/artifacts/last-run.log || true

echo "== fuzz: merging new coverage into fuzz/corpus =="
before=$(ls fuzz/corpus | wc -l)
"$fuzzer" -merge=1 -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$PWD/fuzz/artifacts/" fuzz/corpus "$scratch/corpus" >"$scratch/merge.log" 2>&1 ||
  { tail -20 "$scratch/merge.log"; status=1; }
grep -E 'MERGE-OUTER: [0-9]+ new files' "$scratch/merge.log" || true
echo "corpus: $before -> $(ls fuzz/corpus | wc -l) files, $(du -sh fuzz/corpus | cut -f1)"
if [ "$status" != 0 ]; then
  echo "fuzz: crash or broken invariant; reproducers in fuzz/artifacts/:" >&2
  ls fuzz/artifacts/ | grep -v last-run.log >&2 || true
fi
exit "$status"
