# The store's public tables after many commits equal those after one: a
# commit writes only what changed (partner rows, tag differences), and that
# must add up to the whole. The `records` view gives back every record as
# --out wrote it. Also: an expiry moved without a record, and stores of
# schema versions 1, 3 and 4 migrated and continued.
# Usage: store_tables.sh PTAG WORK PTAG_GEN SOURCE_DIR
source "$(dirname "$0")/lib.sh"
PTAG_GEN=$3
SRC=$4

tables() {
  sqlite3 "$1" "SELECT * FROM partners ORDER BY position" \
    "SELECT partner, tag, added_at, rule, coalesce(expires_at, '-') FROM partner_tags ORDER BY partner, position" \
    "SELECT count(*), max(seq) FROM records"
}

# The records view as JSON lines in the form of --out (an absent event id
# is no field).
records_jsonl() {
  sqlite3 "$1" "SELECT CASE WHEN event IS NULL THEN json_remove(o, '\$.event') ELSE o END FROM (
    SELECT seq, CASE action WHEN 'emit'
      THEN json_object('time', time, 'partner', partner, 'action', action, 'name', name, 'rule', rule, 'cause', cause, 'event', event)
      ELSE json_object('time', time, 'partner', partner, 'action', action, 'tag', tag, 'rule', rule, 'cause', cause, 'event', event)
    END AS o, event FROM records) ORDER BY seq"
}

# 1. Generated rules (expiring tags, timers, milestones) over a generated
# workload: a commit every 300 lines against one commit at the end.
"$PTAG_GEN" events --partners 400 --events 30000 --seed 21 >gen.jsonl
"$PTAG_GEN" rules --rules 60 --seed 21 >gen.ptag
grep -q ' for [0-9]' gen.ptag || fail "the generated rules have no expiring tag"
run run gen.ptag --events gen.jsonl --state many.db --commit-every 300 --out many.jsonl --tags-out many-tags.jsonl
expect_status 0 "many commits"
expect_err "[0-9]+ lines read"
run run gen.ptag --events gen.jsonl --state one.db --commit-every 100000000 --out one.jsonl --tags-out one-tags.jsonl
expect_status 0 "one commit"
cmp -s many.jsonl one.jsonl || fail "the records differ with the commit interval"
records_jsonl many.db >many.view
cmp -s many.view many.jsonl || fail "the records view differs from --out: $(diff many.view many.jsonl | head -5)"
grep -q '"cause":"timer"' many.view || fail "the workload has no timer record"
grep -q '"action":"emit"' many.view || fail "the workload has no emit record"
[ "$(sqlite3 many.db 'SELECT commits FROM meta')" -gt 50 ] || fail "the run did not commit often"
tables many.db >many.tables
tables one.db >one.tables
cmp -s many.tables one.tables || fail "the public tables differ between many commits and one: $(diff many.tables one.tables | head -5)"
[ "$(wc -l <one.tables)" -gt 400 ] || fail "the tables are nearly empty"
run tags --state many.db
[ "$out" = "$(cat many-tags.jsonl)" ] || fail "ptag tags differs from --tags-out after many commits"

# 2. Re-adding an expiring tag moves its expiry without a record: the next
# commit still writes it.
cat >hot.ptag <<'EOF'
on click add "Hot" for 7d
EOF
cat >hot1.jsonl <<'EOF'
{"type":"click","partner":"p1","time":"2026-03-01T00:00:00Z"}
EOF
cat >hot2.jsonl <<'EOF'
{"type":"click","partner":"p1","time":"2026-03-03T00:00:00Z"}
EOF
run run hot.ptag --events hot1.jsonl --state hot.db --out /dev/null
expect_status 0
[ "$(sqlite3 hot.db "SELECT expires_at FROM partner_tags WHERE partner = 'p1'")" = "2026-03-08T00:00:00Z" ] ||
  fail "the first expiry"
run run hot.ptag --events hot2.jsonl --state hot.db --out hot2.out
expect_status 0
[ ! -s hot2.out ] || fail "re-adding an expiring tag wrote a record"
[ "$(sqlite3 hot.db "SELECT expires_at FROM partner_tags WHERE partner = 'p1'")" = "2026-03-10T00:00:00Z" ] ||
  fail "the moved expiry is not in partner_tags"
[ "$(sqlite3 hot.db "SELECT last_activity FROM partners WHERE partner = 'p1'")" = "2026-03-03T00:00:00Z" ] ||
  fail "the partner row is not updated"

# An expiry past the year 9999 (up to 1000 years after a clock in 9500) is
# written as format_time() writes it and read back.
cat >far.ptag <<'EOF'
on join add "Far" for 365000d
EOF
cat >far.jsonl <<'EOF'
{"type":"join","partner":"p1","time":"9500-01-01T00:00:00Z","id":"e1"}
EOF
run run far.ptag --events far.jsonl --state far.db --out /dev/null
expect_status 0
[ "$(sqlite3 far.db "SELECT expires_at FROM partner_tags WHERE partner = 'p1'")" = "10499-05-03T00:00:00Z" ] ||
  fail "the far expiry in partner_tags"
run tags --state far.db
expect_status 0 "ptag tags reads a far expiry"
[ "$out" = '{"partner":"p1","tags":["Far"]}' ] || fail "ptag tags with a far expiry: $out"

# 3. A store of schema version 1 (as ptag 0.1 wrote it, from 40 events) is
# migrated on its next run and continues like one run over all 80 events.
D=$SRC/tests/data/store
cp "$SRC/examples/onboarding.ptag" "$SRC/examples/tiers.ptag" .
sqlite3 v1.db <"$D/schema1.sql"
[ "$(sqlite3 v1.db 'PRAGMA user_version')" = 1 ] || fail "the fixture is not schema version 1"
run tags --state v1.db
expect_status 0 "a reader reads version 1"
cat "$D/schema1-events.jsonl" "$D/schema1-more.jsonl" >all80.jsonl
run run onboarding.ptag tiers.ptag --events all80.jsonl --out all80.out --tags-out all80-tags.jsonl
expect_status 0
run run onboarding.ptag tiers.ptag --events "$D/schema1-more.jsonl" --state v1.db --out more.out --tags-out more-tags.jsonl
expect_status 0 "continuing a version 1 store"
[ "$(sqlite3 v1.db 'PRAGMA user_version')" = 5 ] || fail "the store was not migrated to version 5"
cmp -s more-tags.jsonl all80-tags.jsonl || fail "the migrated store's final tags differ from one run's"
tail -n "$(wc -l <more.out)" all80.out | cmp -s - more.out || fail "the migrated store's new records differ from one run's"
[ "$(sqlite3 v1.db 'SELECT count(*) FROM records')" = "$(wc -l <all80.out)" ] || fail "records lost in the migration"
records_jsonl v1.db >v1.view
cmp -s v1.view all80.out || fail "the migrated records differ from one run's: $(diff v1.view all80.out | head -5)"
run tags --state v1.db
[ "$out" = "$(cat all80-tags.jsonl)" ] || fail "ptag tags on the migrated store"
sqlite3 v1.db "PRAGMA integrity_check" | grep -qx ok || fail "the migrated store is not intact"

# 4. A store of schema version 3 (partner_tags a table; generated rules with
# expiring tags, 600 events) is migrated to version 4 (tags in the partners'
# rows, partner_tags a view) with the same rows, and continues like one run.
cp "$D/schema3.ptag" .
current_tags() {
  sqlite3 "$1" "SELECT partner, tag, position, added_at, rule, coalesce(expires_at, '-') FROM partner_tags ORDER BY partner, position"
}
sqlite3 v3.db <"$D/schema3.sql"
[ "$(sqlite3 v3.db 'PRAGMA user_version')" = 3 ] || fail "the fixture is not schema version 3"
[ "$(sqlite3 v3.db "SELECT count(*) FROM partner_tags WHERE expires_at IS NOT NULL")" -gt 10 ] ||
  fail "the fixture has no expiring tags"
current_tags v3.db >v3.before
[ "$(wc -l <v3.before)" -gt 500 ] || fail "the fixture has few tags"
run tags --state v3.db
expect_status 0 "a reader reads version 3"
echo "$out" >v3-tags.before
cp v3.db v3-copy.db
: >empty.jsonl
run run schema3.ptag --events empty.jsonl --state v3-copy.db --out /dev/null
expect_status 0 "migrating a version 3 store"
[ "$(sqlite3 v3-copy.db 'PRAGMA user_version')" = 5 ] || fail "the store was not migrated to version 5"
[ "$(sqlite3 v3-copy.db "SELECT type FROM sqlite_schema WHERE name = 'partner_tags'")" = view ] ||
  fail "partner_tags is not a view after the migration"
current_tags v3-copy.db >v3.after
cmp -s v3.before v3.after || fail "partner_tags changed in the migration: $(diff v3.before v3.after | head -5)"
run tags --state v3-copy.db
[ "$out" = "$(cat v3-tags.before)" ] || fail "ptag tags changed in the migration"
# A time that strftime() would not give back (an expiry past 9999) stays text.
cp v3.db v3-far.db
sqlite3 v3-far.db "UPDATE partner_tags SET expires_at = '10499-05-03T00:00:00Z' WHERE (partner, tag) = (SELECT partner, tag FROM partner_tags WHERE expires_at IS NOT NULL ORDER BY partner, tag LIMIT 1)"
current_tags v3-far.db >far.before
grep -q 10499-05-03 far.before || fail "the far expiry was not set up"
run run schema3.ptag --events empty.jsonl --state v3-far.db --out /dev/null
expect_status 0 "migrating a version 3 store with a far expiry"
current_tags v3-far.db >far.after
cmp -s far.before far.after || fail "a far expiry changed in the migration: $(diff far.before far.after | head -5)"
# Continuing the migrated store equals one run over all 1,200 events.
cat "$D/schema3-events.jsonl" "$D/schema3-more.jsonl" >all1200.jsonl
run run schema3.ptag --events all1200.jsonl --out all1200.out --tags-out all1200-tags.jsonl --state one3.db
expect_status 0
run run schema3.ptag --events "$D/schema3-more.jsonl" --state v3.db --out more3.out --tags-out more3-tags.jsonl
expect_status 0 "continuing a version 3 store"
cmp -s more3-tags.jsonl all1200-tags.jsonl || fail "the migrated store's final tags differ from one run's"
tail -n "$(wc -l <more3.out)" all1200.out | cmp -s - more3.out || fail "the migrated store's new records differ from one run's"
current_tags v3.db >v3.continued
current_tags one3.db >one3.tags
cmp -s v3.continued one3.tags || fail "partner_tags of the continued store differ from one run's: $(diff v3.continued one3.tags | head -5)"
sqlite3 v3.db "PRAGMA integrity_check" | grep -qx ok || fail "the migrated version 3 store is not intact"

# 5. A store of schema version 4 (the engine's state one blob in `snapshot`;
# the rules and first 600 events of step 4, as ptag wrote it before version
# 5) is migrated to version 5 (the state in rows) and continues like one run.
sqlite3 v4.db <"$D/schema4.sql"
[ "$(sqlite3 v4.db 'PRAGMA user_version')" = 4 ] || fail "the fixture is not schema version 4"
[ "$(sqlite3 v4.db 'SELECT length(data) > 1000 FROM snapshot')" = 1 ] || fail "the fixture has no engine state"
current_tags v4.db >v4.before
run tags --state v4.db
expect_status 0 "a reader reads version 4"
run run schema3.ptag --events "$D/schema3-more.jsonl" --state v4.db --out more4.out --tags-out more4-tags.jsonl
expect_status 0 "continuing a version 4 store"
[ "$(sqlite3 v4.db 'PRAGMA user_version')" = 5 ] || fail "the store was not migrated to version 5"
[ "$(sqlite3 v4.db 'SELECT count(*) FROM snapshot')" = 0 ] || fail "the version 4 state blob was kept after the first commit"
[ "$(sqlite3 v4.db 'SELECT count(*) FROM partner_state')" = "$(sqlite3 v4.db 'SELECT count(*) FROM partners')" ] ||
  fail "not every partner has its state row"
cmp -s more4-tags.jsonl all1200-tags.jsonl || fail "the migrated version 4 store's final tags differ from one run's"
tail -n "$(wc -l <more4.out)" all1200.out | cmp -s - more4.out || fail "the migrated version 4 store's new records differ from one run's"
current_tags v4.db >v4.continued
cmp -s v4.continued one3.tags || fail "partner_tags of the continued version 4 store differ from one run's"
# Continued once more from its rows: still one run.
head -n 300 "$D/schema3-more.jsonl" >more-a.jsonl
tail -n +301 "$D/schema3-more.jsonl" >more-b.jsonl
sqlite3 v4-again.db <"$D/schema4.sql"
run run schema3.ptag --events more-a.jsonl --state v4-again.db --out /dev/null
expect_status 0
run run schema3.ptag --events more-b.jsonl --state v4-again.db --out /dev/null --tags-out again-tags.jsonl
expect_status 0 "continuing a version 5 store from its rows"
cmp -s again-tags.jsonl all1200-tags.jsonl || fail "a store continued from its state rows differs from one run"
sqlite3 v4.db "PRAGMA integrity_check" | grep -qx ok || fail "the migrated version 4 store is not intact"

finish
