#!/bin/bash
# tests/fuzz/run.sh BUILD HARNESS... -- run each libFuzzer harness of
# BUILD/fuzz (made with -DLZ_FUZZ=ON, see `make fuzz`) for FUZZ_SECONDS
# (default 60) seconds, one at a time, and print its figures.
#
# Each run starts from the committed seed corpus and past crash inputs and
# from what earlier runs found (BUILD/fuzz-corpus/HARNESS, not committed).
# A crash input is written to tests/fuzz/crashes/HARNESS/ -- commit it with
# the fix.  Limits: 10 s an input, 2 GB resident, and no single allocation
# above 512 MB (a reader must not allocate what the file cannot hold).
# Exit status 1 when a harness crashed.
set -uo pipefail
B=${1:?usage: run.sh BUILD HARNESS...}
shift
S=${FUZZ_SECONDS:-60}
src=$(cd "$(dirname "$0")" && pwd)
export OPENBLAS_NUM_THREADS=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
printf '%-10s %8s %12s %8s %8s %8s %7s\n' harness seconds executions exec/s cov ft corpus
for h in "$@"; do
  work=$B/fuzz-corpus/$h
  log=$B/fuzz-$h.log
  mkdir -p "$work" "$src/crashes/$h"
  dict=()
  case $h in
    data) dict=(-dict="$src/data.dict") ;;
    model_*) dict=(-dict="$src/model.dict") ;;
  esac
  t0=$SECONDS
  "$B/fuzz/fuzz_$h" -max_total_time="$S" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=512 -artifact_prefix="$src/crashes/$h/" "${dict[@]}" \
    "$work" "$src/corpus/$h" "$src/crashes/$h" >"$log" 2>&1
  rc=$?
  took=$((SECONDS - t0))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  printf '%-10s %8s %12s %8s %8s %8s %7s\n' "$h" "$took" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "$(ls "$work" | wc -l)"
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "fuzz_$h: CRASHED (status $rc), input in tests/fuzz/crashes/$h/; the log is $log:" >&2
    grep -E 'ERROR|SUMMARY|runtime error|^artifact_prefix|Test unit written' "$log" | head -8 >&2
  fi
done
exit $status
