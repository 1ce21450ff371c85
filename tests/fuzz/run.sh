#!/usr/bin/env bash
# Builds the fuzz targets with clang, ASan and UBSan (the build of
# tests/sanitize.sh, build-asan/), seeds each corpus from the repository, and
# runs the three targets side by side, each for SECONDS (default 60).
# A crash, a sanitizer report or a broken invariant fails the script; the
# input is left in build-asan/findings/. Usage: tests/fuzz/run.sh [SECONDS [TARGET...]]
set -euo pipefail
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_parser fuzz_events fuzz_event_fields)
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SANITIZE_BUILD_DIR:-$root/build-asan}
SANITIZE_BUILD_DIR=$build "$root/tests/sanitize.sh" --configure-only
nice cmake --build "$build" --target "${targets[@]}"

# Seeds: every rule file; the example events in chunks of four lines; the
# spliced-field seeds of tests/fuzz/seeds/. Corpora start afresh each run.
corpus=$build/corpus
rm -rf "$corpus"
mkdir -p "$corpus"/fuzz_parser "$corpus"/fuzz_events "$corpus"/fuzz_event_fields "$build/findings"
find "$root/examples" "$root/stdlib" "$root/tests" -name '*.ptag' -exec cp {} "$corpus/fuzz_parser/" \;
split -l 4 -a 4 "$root/examples/events.jsonl" "$corpus/fuzz_events/events-"
cp "$root"/tests/fuzz/seeds/fuzz_events/* "$corpus/fuzz_events/"
cp "$root"/tests/fuzz/seeds/fuzz_event_fields/* "$corpus/fuzz_event_fields/"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
pids=()
for t in "${targets[@]}"; do
  dict=()
  [ "$t" = fuzz_parser ] || dict=(-dict="$root/tests/fuzz/events.dict")
  "$build/tests/fuzz/$t" "$corpus/$t" "${dict[@]}" -max_total_time="$seconds" -max_len=4096 \
    -artifact_prefix="$build/findings/$t-" -print_final_stats=1 >"$build/$t.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  if wait "${pids[$i]}"; then
    echo "== $t: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$build/$t.log" | tail -n 1)"
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$build/$t.log"
  else
    status=1
    echo "== $t: FINDING (input in $build/findings/; replay: $build/tests/fuzz/$t FILE)"
    tail -n 60 "$build/$t.log"
  fi
done
exit $status
