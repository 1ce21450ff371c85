# ptag run --dedup-window D: a duplicate inside the window is skipped, one
# older than the window is applied again, with and without --state; a bad
# duration is a usage error.
# Usage: run_dedup.sh PTAG WORK
source "$(dirname "$0")/lib.sh"

cat >rules.ptag <<'RULES'
rule "twice" on milestone clicks >= 2 add "Twice"
RULES
cat >part1.jsonl <<'EVENTS'
{"id":"c1","type":"click","partner":"p1","time":"2026-01-01T00:00:00Z"}
{"id":"c2","type":"click","partner":"p2","time":"2026-01-10T00:00:00Z"}
{"id":"c3","type":"click","partner":"p3","time":"2026-02-15T00:00:00Z"}
EVENTS
# c1 sent again, 45 days after its time.
cat >part2.jsonl <<'EVENTS'
{"id":"c1","type":"click","partner":"p1","time":"2026-01-01T00:00:00Z"}
EVENTS
cat part1.jsonl part2.jsonl >all.jsonl

run run rules.ptag --events all.jsonl
expect_status 0 "no window"
[ -z "$out" ] || fail "without a window the resent c1 is a duplicate: no record"
expect_err "1 duplicate"

run run rules.ptag --events all.jsonl --dedup-window 60d
expect_status 0 "60d"
[ -z "$out" ] || fail "c1 is 45 days old, inside a 60d window: a duplicate"

run run rules.ptag --events all.jsonl --dedup-window 30d
expect_status 0 "30d"
[ "$out" = '{"time":"2026-01-01T00:00:00Z","partner":"p1","action":"add","tag":"Twice","rule":"twice","cause":"event","event":"c1"}' ] ||
  fail "c1 is 45 days old, outside a 30d window: applied again (a late event), p1 has two clicks"
echo "$out" >whole-30d.jsonl

# Through a store: the id and its time carry over to the next run.
rm -f s.db
run run rules.ptag --events part1.jsonl --state s.db --dedup-window 30d
expect_status 0 "store part 1"
run run rules.ptag --events part2.jsonl --state s.db --dedup-window 30d
expect_status 0 "store part 2"
[ "$out" = "$(cat whole-30d.jsonl)" ] || fail "the split run with a 30d window differs from one run"
rm -f s.db
run run rules.ptag --events part1.jsonl --state s.db --dedup-window 60d
run run rules.ptag --events part2.jsonl --state s.db --dedup-window 60d
expect_status 0 "store part 2, 60d"
[ -z "$out" ] || fail "a 60d window through the store: c1 is still a duplicate"

for bad in 30 30x 0d -1d 1.5d 1001w; do
  run run rules.ptag --events all.jsonl --dedup-window "$bad"
  expect_status 2 "--dedup-window $bad"
  expect_err "--dedup-window '$bad' is not a duration"
done

finish
