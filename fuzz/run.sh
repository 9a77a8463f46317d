#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR (fuzz_*) for SECONDS each, one at a time, over a
# scratch copy of its corpus fuzz/corpus/<target>/. New crashes, leaks, timeouts and OOMs are
# copied into fuzz/corpus/<target>/ so that ctest (fuzz_replay_<target>) replays them.
#   fuzz/run.sh build-fuzz 600            # 10 minutes per target
#   FUZZ_TARGETS="file_reader manifest" fuzz/run.sh build-fuzz 60
set -uo pipefail
build=${1:?usage: run.sh BUILD_DIR SECONDS}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
work="$build/fuzz-work"
mkdir -p "$work"
status=0
for bin in "$build"/fuzz_*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  t=$(basename "$bin"); t=${t#fuzz_}
  if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $t "* ]]; then continue; fi
  seeds="$here/corpus/$t"
  mkdir -p "$seeds" "$work/$t/corpus" "$work/$t/artifacts"
  dict=()
  [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
  echo "fuzz: $t for ${secs}s" >&2
  start=$(date +%s)
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
      -print_final_stats=1 -artifact_prefix="$work/$t/artifacts/" "${dict[@]}" \
      "$work/$t/corpus" "$seeds" > "$work/$t/log.txt" 2>&1
  rc=$?
  end=$(date +%s)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t/log.txt" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/$t/log.txt" | tail -1)
  new=0
  for a in "$work/$t/artifacts"/*; do
    [ -f "$a" ] || continue
    cp "$a" "$seeds/"
    new=$((new + 1))
  done
  rm -f "$work/$t/artifacts"/*
  echo "fuzz: $t: $((end - start))s, ${execs:-?} runs, ${cov:-cov ?}, exit $rc, $new new crash inputs" >&2
  if [ $rc -ne 0 ] || [ $new -ne 0 ]; then
    status=1
    grep -m1 -A25 -E "ERROR: |runtime error|==ABORTING|Deadly signal" "$work/$t/log.txt" >&2 || true
  fi
done
exit $status
