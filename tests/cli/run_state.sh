# ptag run --state: continuing runs give the records and tags of one run,
# a killed run resumes byte for byte, and bad stores are refused.
# Usage: run_state.sh PTAG WORK PTAG_GEN SOURCE_DIR
source "$(dirname "$0")/lib.sh"
PTAG_GEN=$3
SRC=$4
R="$SRC/examples/onboarding.ptag $SRC/examples/tiers.ptag $SRC/examples/reengagement.ptag"
EV=$SRC/examples/events.jsonl
UNTIL=2027-02-01T00:00:00Z

# split_run NAME RULES EVENTS UNTIL CUT...: runs EVENTS in one run and in
# consecutive parts cut after the given lines through one store; compares.
split_run() {
  local name=$1 rules=$2 events=$3 until=$4
  shift 4
  run run $rules --events "$events" --until "$until" --out "$name-whole.jsonl" --tags-out "$name-whole-tags.jsonl"
  expect_status 0 "$name: whole run"
  local from=1 part=0 cut
  rm -f "$name.db" "$name-parts.jsonl"
  for cut in "$@" $(($(wc -l <"$events") + 1)); do
    part=$((part + 1))
    sed -n "${from},$((cut - 1))p" "$events" >"$name-part$part.jsonl"
    from=$cut
  done
  for i in $(seq 1 $part); do
    local extra=""
    [ "$i" = "$part" ] && extra="--until $until --tags-out $name-parts-tags.jsonl"
    run run $rules --events "$name-part$i.jsonl" --state "$name.db" --out "$name-out$i.jsonl" $extra
    expect_status 0 "$name: part $i"
    cat "$name-out$i.jsonl" >>"$name-parts.jsonl"
  done
  cmp -s "$name-parts.jsonl" "$name-whole.jsonl" || fail "$name: the parts' records differ from one run's"
  cmp -s "$name-parts-tags.jsonl" "$name-whole-tags.jsonl" || fail "$name: the parts' final tags differ"
  [ "$(sqlite3 "$name.db" 'select count(*) from records')" = "$(wc -l <"$name-whole.jsonl")" ] ||
    fail "$name: the store's records table does not hold every record"
}

# 1. Continuing runs over the examples: splits between duplicates, around
# timers, one line long; then a generated workload cut at random lines.
split_run ex "$R" "$EV" $UNTIL 2 3 1000 1001 5000 9000 14000
"$PTAG_GEN" events --partners 300 --events 20000 --seed 7 >gen.jsonl
"$PTAG_GEN" rules --rules 40 --seed 7 >gen.ptag
cuts=$(for i in 1 2 3 4 5 6; do echo $((RANDOM % 19000 + 2)); done | sort -n | uniq | tr '\n' ' ')
echo "generated workload cut at: $cuts"
split_run gen gen.ptag gen.jsonl 2028-06-01T00:00:00Z $cuts

# The store answers "who has VIP now?" with plain SQL.
[ "$(sqlite3 ex.db "select count(*) from partner_tags where tag = 'VIP'")" = \
  "$(grep -c '"VIP"' ex-whole-tags.jsonl)" ] || fail "partner_tags disagrees with --tags-out on VIP"

# The query commands read the store: tags as --tags-out, why, segments.
run tags --state ex.db
expect_status 0
[ "$out" = "$(cat ex-whole-tags.jsonl)" ] || fail "ptag tags differs from --tags-out"
run tags --state ex.db p-020 nobody p-001
expect_status 1 "a partner not in the store:"
expect_err "no partner \"nobody\" in the store"
[ "$(sed -n 1p <<<"$out")" = "$(grep '"p-020"' ex-whole-tags.jsonl)" ] || fail "tags of p-020, in the order named"
[ "$(sed -n 2p <<<"$out")" = "$(grep '"p-001"' ex-whole-tags.jsonl)" ] || fail "tags of p-001, in the order named"
run why --state ex.db p-020 VIP
expect_status 0
[ "$(grep -v '^"' <<<"$out")" = "$(grep '"partner":"p-020","action":"\(add\|remove\)","tag":"VIP"' ex-whole.jsonl)" ] ||
  fail "why: the records that added and removed VIP"
expect_out '^"p-020" has "VIP" now: since 2026-01-15T05:54:00Z, by rule "[^"]*tiers.ptag:12"$'
run why --state ex.db p-020 "No Such Tag"
expect_out '^"p-020" does not have "No Such Tag" now$'
vips=$(grep -c '"VIP"' ex-whole-tags.jsonl)
run query --state ex.db --count 'tagged "VIP"'
[ "$out" = "$vips" ] || fail "query --count: $out VIP partners, --tags-out has $vips"
run query --state ex.db 'tagged "VIP" and not tagged "Inactive" and revenue > 100000'
expect_status 0
for p in $out; do grep '"partner":"'"$p"'"' ex-whole-tags.jsonl | grep -q '"VIP"' || fail "query: $p has no VIP"; done
run query --state ex.db 'tagged "VIP" and'
expect_status 1 "a malformed query:"
expect_err "segment:1:17: error\[E001\]: expected a condition after 'and'"
run query --state no-such.db 'true'
expect_status 1
expect_err "no-such.db: no such store"

# The same input with another --out continues the input; the new --out has
# only the new records.
head -n 3000 "$EV" >grow.jsonl
run run $R --events grow.jsonl --state grow.db --out grow-1.jsonl
sed -n 3001,6000p "$EV" >>grow.jsonl
run run $R --events grow.jsonl --state grow.db --out grow-2.jsonl
expect_status 0 "an appended input:"
expect_err "continuing '.*grow.jsonl' at line 3000"
head -n 6000 "$EV" >six.jsonl
run run $R --events six.jsonl --out six.jsonl.out
cat grow-1.jsonl grow-2.jsonl | cmp -s - six.jsonl.out || fail "an appended input, continued with another --out, differs from one run"

# 2. Re-running a completed command changes nothing.
run run $R --events "$EV" --state again.db --out again.jsonl --until $UNTIL --tags-out again-tags.jsonl
cp again.jsonl again-1.jsonl
records=$(sqlite3 again.db 'select count(*) from records')
run run $R --events "$EV" --state again.db --out again.jsonl --until $UNTIL --tags-out again-tags.jsonl
expect_status 0 "re-run"
expect_err "continuing '.*events.jsonl' at line 14524"
cmp -s again.jsonl again-1.jsonl || fail "re-running a completed run changed its --out"
cmp -s again-tags.jsonl ex-whole-tags.jsonl || fail "re-running a completed run changed its tags"
[ "$(sqlite3 again.db 'select count(*) from records')" = "$records" ] || fail "re-running added records"

# 3. Killed at random instants, restarted with the identical command each
# time: the output ends byte-identical to an uninterrupted run's.
"$PTAG_GEN" events --partners 3000 --events 300000 --seed 3 >big.jsonl
run run $R --events big.jsonl --out big-whole.jsonl --tags-out big-whole-tags.jsonl --until 2028-06-01T00:00:00Z
kills=0
for attempt in $(seq 1 80); do
  # (not under timeout: the kill must reach ptag itself)
  "$PTAG" run $R --events big.jsonl --state big.db --out big.jsonl.out --tags-out big-tags.jsonl \
    --until 2028-06-01T00:00:00Z --commit-every 3000 --sync normal 2>big.err &
  pid=$!
  # 10-130 ms: a run of this workload takes a few hundred.
  sleep "$(printf '0.%02d' $((RANDOM % 13 + 1)))"
  if kill -KILL $pid 2>/dev/null; then kills=$((kills + 1)); fi
  wait $pid 2>/dev/null
  grep -q "in use by another ptag run" big.err && { cat big.err; fail "a restart found the store held"; }
  [ $kills -ge 22 ] && break
done
run run $R --events big.jsonl --state big.db --out big.jsonl.out --tags-out big-tags.jsonl --until 2028-06-01T00:00:00Z
expect_status 0 "after $kills kills"
echo "killed $kills times"
[ $kills -ge 20 ] || fail "only $kills kills landed while the run was going"
cmp -s big.jsonl.out big-whole.jsonl || fail "after $kills kills the records differ from an uninterrupted run"
cmp -s big-tags.jsonl big-whole-tags.jsonl || fail "after $kills kills the final tags differ"
# The store's audit trail too: the records of the uninterrupted run, in order.
sqlite3 big.db "SELECT partner || ' ' || action || ' ' || coalesce(tag, name) || ' ' || cause FROM records ORDER BY seq" >big-store.txt
python3 -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line); print(r["partner"], r["action"], r.get("tag", r.get("name")), r["cause"])' big-whole.jsonl >big-whole.txt
cmp -s big-store.txt big-whole.txt || fail "after $kills kills the store's records differ from an uninterrupted run's"

# 4. Refusals, each naming the file; the previous state stays intact.
echo "not a store" >text.db
run run $R --events "$EV" --state text.db
expect_status 1 "a text file as the store:"
expect_err "text.db"
[ "$(cat text.db)" = "not a store" ] || fail "a refused file was changed"
printf 'on join add "Other"\n' >other.ptag
# Another program continues the store's state (rule changes on live state):
# the tags the old rules set stay.
run run other.ptag --events "$EV" --state ex.db
expect_status 0 "another program:"
[ "$(sqlite3 ex.db "select count(*) from partner_tags where tag = 'VIP'")" -gt 0 ] ||
  fail "another program: the old rules' tags are gone"
# A new rule on a live store: without --backfill it acts going forward only;
# with it, it acts first for every partner it counts as spent for.
head -n 7000 "$EV" >ch-a.jsonl
sed -n '7001,$p' "$EV" >ch-b.jsonl
{ cat "$SRC/examples/tiers.ptag"; printf '\nrule "Seller" on first_sale add "Seller"\n'; } >tiers-plus.ptag
sellers=$(grep '"type":"sale"' ch-a.jsonl | sed -E 's/.*"partner":"([^"]*)".*/\1/' | sort -u | wc -l)
for mode in plain backfill; do
  rm -f ch.db*
  run run "$SRC/examples/tiers.ptag" --events ch-a.jsonl --state ch.db --out ch-a.out
  flag=""
  [ $mode = backfill ] && flag=--backfill
  run run tiers-plus.ptag --events ch-b.jsonl --state ch.db --out ch-b.out $flag
  expect_status 0 "$mode:"
  expect_err 'the rules differ from the store.s: 10 kept \(0 changed\), 1 added, 0 removed'
  expect_err 'ptag run: added: "Seller"$'
  backfilled=$(grep -c '"cause":"backfill"' ch-b.out)
  if [ $mode = backfill ]; then
    expect_err "backfill: $sellers rule actions"
    [ "$backfilled" = "$sellers" ] || fail "backfill: $backfilled records for $sellers partners who had sold"
    [ "$(head -n "$sellers" ch-b.out | grep -c '"cause":"backfill"')" = "$sellers" ] ||
      fail "backfill records come before the run's first event"
  else
    [ "$backfilled" = 0 ] || fail "without --backfill, $backfilled backfill records"
    first_new=$(grep '"tag":"Seller"' ch-b.out | head -n 1 | sed -E 's/.*"partner":"([^"]*)".*/\1/')
    grep -q "\"partner\":\"$first_new\".*\"type\":\"sale\"\|\"type\":\"sale\".*\"partner\":\"$first_new\"" ch-a.jsonl &&
      fail "without --backfill, $first_new got Seller although its first sale was before the change"
  fi
done
run why --state ch.db "$(grep '"cause":"backfill"' ch-b.out | head -n 1 | sed -E 's/.*"partner":"([^"]*)".*/\1/')" Seller
expect_out '"cause":"backfill"'

mkdir ro && chmod 555 ro
if [ "$(id -u)" != 0 ]; then
  run run $R --events "$EV" --state ro/s.db
  expect_status 1 "a folder that cannot be written:"
fi
run run $R --events "$EV" --state ex.db --commit-every often
expect_status 2
expect_err "--commit-every 'often' is not a count"
# Two writers: the second is refused while the first waits on a FIFO.
mkfifo feed
timeout 20 "$PTAG" run $R --events feed --state busy.db >/dev/null 2>&1 &
holder=$!
exec 3>feed
head -n 1 "$EV" >&3
for _ in $(seq 50); do [ -e busy.db ] && break; sleep 0.1; done
run run $R --events "$EV" --state busy.db
expect_status 1 "a second writer:"
expect_err "busy.db: the store is in use by another ptag run"
exec 3>&-
wait $holder
# --strict with a store: the identical command stops at the same bad line again.
{ head -n 100 "$EV"; echo 'not json'; sed -n 101,200p "$EV"; } >strict.jsonl
run run $R --events strict.jsonl --state strict.db --out strict.out --strict
expect_status 1 "--strict with a store:"
expect_err "strict.jsonl:101: not valid JSON"
run run $R --events strict.jsonl --state strict.db --out strict.out --strict
expect_status 1 "--strict again:"
expect_err "strict.jsonl:101: not valid JSON"
# ptag-gen's events and the examples' ids never clash: a new input reads from its start.
cp "$EV" copy.jsonl
run run $R --events copy.jsonl --state ex.db --out fresh.jsonl
expect_status 0 "a new input on an existing store:"
expect_err "14,524 lines read: 0 events applied, 14,524 duplicates"
# --out /dev/null (no file to keep) on the same input and store, twice.
head -n 300 "$EV" >null.jsonl
run run $R --events null.jsonl --state null.db --out /dev/null
expect_status 0 "--out /dev/null:"
run run $R --events null.jsonl --state null.db --out /dev/null
expect_status 0 "--out /dev/null again:"

finish
