#!/usr/bin/env bash
# scripts/run-fuzzers.sh - runs every built libFuzzer target for a while; fails if any crashes.
# Usage: scripts/run-fuzzers.sh BUILD_DIR SECONDS
set -euo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR SECONDS}
secs=${2:?usage: run-fuzzers.sh BUILD_DIR SECONDS}
root=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
fuzzers=()
for src in "$root"/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  bin=$(find "$build" -type f -name "$name" -perm -u+x 2>/dev/null | head -n 1)
  if [[ -z $bin ]]; then
    echo "run-fuzzers: $name is not built in $build" >&2
    exit 1
  fi
  fuzzers+=("$bin")
done
((${#fuzzers[@]})) || { echo "run-fuzzers: no fuzzers" >&2; exit 1; }
failed=0 passed=0 crashed=0
for bin in "${fuzzers[@]}"; do
  name=$(basename "$bin")
  work="$build/fuzz-work/$name"
  mkdir -p "$work/corpus" "$work/artifacts"
  seeds=()
  [[ -d $root/fuzz/corpus/$name ]] && seeds=("$root/fuzz/corpus/$name")
  echo "run-fuzzers: $name for ${secs}s"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$bin" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
      "$work/corpus" "${seeds[@]}" >"$work/log.txt" 2>&1; then
    echo "run-fuzzers: $name FAILED; see $work/log.txt and $work/artifacts/" >&2
    tail -n 40 "$work/log.txt" >&2
    failed=1
    crashed=$((crashed + 1))
  else
    grep -E "stat::number_of_executed_units|Done" "$work/log.txt" | tail -n 1 || true
    passed=$((passed + 1))
  fi
done
echo "fuzz: $passed passed, $crashed failed"
exit $failed
