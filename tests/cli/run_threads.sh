# ptag run --threads N: the same records, final tags, summary, bad-line
# reports and exit status as --threads 1, byte for byte, over generated
# workloads with late events, duplicates, bad lines and invalid events; with
# --strict, --max-bad, --until and --state (and a resumed --state run).
# Usage: run_threads.sh PTAG WORK PTAG_GEN SOURCE_DIR
source "$(dirname "$0")/lib.sh"
PTAG_GEN=$3
SRC=$4
status=0 out= err=
EXAMPLES="$SRC/examples/onboarding.ptag $SRC/examples/tiers.ptag $SRC/examples/reengagement.ptag"

# spoil IN OUT SEED: IN with bad lines, invalid events and duplicates put
# in at random lines (some right at a 256-event batch boundary).
spoil() {
  awk -v seed="$3" 'BEGIN { srand(seed) }
    { print }
    NR % 256 == 0 && rand() < 0.3 { print "{not json" }
    rand() < 0.002 { print "{\"type\":\"sale\",\"partner\":\"p-x\",\"time\":\"2027-03-01T00:00:00Z\"}" }
    rand() < 0.003 { print }
    rand() < 0.001 { print "" }
    rand() < 0.001 { print "[1,2]" }' "$1" >"$2"
}

# same NAME ARGS...: runs `ptag run ARGS` with --threads 1, 2 and 3 and
# compares their records, tags, stderr (without the timing) and status.
same() {
  local name=$1
  shift
  local t
  for t in 1 2 3; do
    timeout 60 "$PTAG" run "$@" --threads $t --out "$name-$t.jsonl" --tags-out "$name-$t-tags.jsonl" \
      2>"$name-$t.err" >/dev/null
    echo $? >"$name-$t.status"
    sed -E 's/; [0-9.]+ s, [0-9,]+ lines\/s//' "$name-$t.err" >"$name-$t.summary"
  done
  [ -s "$name-1.jsonl" ] || [ "${ALLOW_EMPTY:-}" = 1 ] || fail "$name: no records at all (a useless comparison)"
  for t in 2 3; do
    cmp -s "$name-1.jsonl" "$name-$t.jsonl" || fail "$name: --threads $t writes other records than --threads 1"
    cmp -s "$name-1-tags.jsonl" "$name-$t-tags.jsonl" || fail "$name: --threads $t writes other final tags"
    cmp -s "$name-1.summary" "$name-$t.summary" ||
      fail "$name: --threads $t reports otherwise: $(diff "$name-1.summary" "$name-$t.summary" | head -5)"
    cmp -s "$name-1.status" "$name-$t.status" || fail "$name: --threads $t exits otherwise"
  done
}

for seed in 1 2 3; do
  "$PTAG_GEN" events --partners 400 --events 30000 --seed $seed >clean-$seed.jsonl
  "$PTAG_GEN" rules --rules 30 --seed $seed >gen-$seed.ptag
  spoil clean-$seed.jsonl w-$seed.jsonl $seed
  same gen-$seed gen-$seed.ptag --events w-$seed.jsonl
  same ex-$seed $EXAMPLES --events w-$seed.jsonl --until 2028-06-01T00:00:00Z
done
grep -q 'w-1.jsonl:[0-9]*: ' gen-1-2.err || fail "the spoiled input has bad lines reported with their line numbers"
grep -q 'duplicate' gen-1-2.err || fail "the spoiled input has duplicates"

# Stops: --strict at the first bad line, --max-bad after a count.
same strict $EXAMPLES --events w-1.jsonl --strict
[ "$(cat strict-2.status)" = 1 ] || fail "--strict stops with exit 1"
same maxbad $EXAMPLES --events w-2.jsonl --max-bad 5
[ "$(cat maxbad-2.status)" = 1 ] || fail "--max-bad 5 stops with exit 1"
# Bad lines only at the start, one event at the end; an input of one line.
{ for i in $(seq 1 300); do echo "{bad"; done; head -n 1 clean-1.jsonl; } >mostly-bad.jsonl
same mostly-bad $EXAMPLES --events mostly-bad.jsonl
head -n 1 clean-1.jsonl >one.jsonl
same one $EXAMPLES --events one.jsonl

# --state: each thread count in its own store, committing every 1,000
# lines; then the stores answer alike.
for t in 1 2; do
  rm -f "state-$t.db"*
  run run $EXAMPLES --events w-3.jsonl --state "state-$t.db" --commit-every 1000 --threads $t --out "state-$t.jsonl"
  expect_status 0 "--state with --threads $t"
  run tags --state "state-$t.db"
  echo "$out" >"state-$t-tags.txt"
done
cmp -s state-1.jsonl state-2.jsonl || fail "--state: the records differ between 1 and 2 threads"
cmp -s state-1-tags.txt state-2-tags.txt || fail "--state: the stores' tags differ between 1 and 2 threads"
[ "$(sqlite3 state-1.db 'select offset, line from input')" = "$(sqlite3 state-2.db 'select offset, line from input')" ] ||
  fail "--state: the stored input positions differ"

# A run killed at three moments and run again each time (two threads) ends
# as one uninterrupted run, byte for byte.
"$PTAG_GEN" events --partners 3000 --events 400000 --seed 9 >big.jsonl
# (Up to 120 s, not lib.sh's 10: a sanitizer build takes its time over 400,000 events.)
long_run() {
  timeout 120 "$PTAG" "$@" >"$WORK/.out" 2>"$WORK/.err"
  status=$?
  out=$(cat "$WORK/.out")
  err=$(cat "$WORK/.err")
}
long_run run $EXAMPLES --events big.jsonl --threads 1 --out big-whole.jsonl
expect_status 0 "the uninterrupted run"
rm -f kill.db*
killed=0
for at in 0.15 0.3 0.45; do
  "$PTAG" run $EXAMPLES --events big.jsonl --state kill.db --commit-every 2000 --threads 2 \
    --out kill.jsonl 2>/dev/null &
  pid=$!
  sleep $at
  kill -9 $pid 2>/dev/null && killed=$((killed + 1))
  wait $pid 2>/dev/null
done
[ $killed -ge 2 ] || fail "the runs ended before they could be killed ($killed kills): use a larger input"
long_run run $EXAMPLES --events big.jsonl --state kill.db --commit-every 2000 --threads 2 --out kill.jsonl
expect_status 0 "the resumed run"
cmp -s kill.jsonl big-whole.jsonl || fail "a killed and resumed two-thread run writes other records than one run"

# A bad --threads value is a usage error.
run run $EXAMPLES --events one.jsonl --threads 0
expect_status 2 "--threads 0"
finish
