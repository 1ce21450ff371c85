# ptag run's exit status: a run where every line is bad, --max-bad, --strict.
source "$(dirname "$0")/lib.sh"

echo 'on join add "New"' >rules.ptag
cat >all-bad.jsonl <<'E'
{"type":"join","partner":"p1","time":1772359200000}
not json
E
run run rules.ptag --events all-bad.jsonl
expect_status 1 "every line bad:"
expect_err 'no event was applied: 2 lines read, all bad'

# An empty input is no failure.
: >empty.jsonl
run run rules.ptag --events empty.jsonl
expect_status 0

# 10 lines, 3 of them bad (lines 2, 5 and 9).
for i in 1 2 3 4 5 6 7 8 9 10; do
  case $i in
    2 | 5 | 9) echo "{\"type\":\"join\",\"partner\":\"p$i\"}" ;;
    *) echo "{\"type\":\"join\",\"partner\":\"p$i\",\"time\":\"2026-03-01T10:00:0${i: -1}Z\"}" ;;
  esac
done >some-bad.jsonl
run run rules.ptag --events some-bad.jsonl
expect_status 0 "bad lines are skipped by default:"
expect_err '10 lines read: 7 events applied, 0 duplicates, 3 bad lines; 7 partners'

# A count: the run stops at the line that exceeds it, keeping what it applied.
run run rules.ptag --events some-bad.jsonl --max-bad 1 --tags-out tags.jsonl
expect_status 1 "--max-bad 1:"
expect_err 'stopped: more than 1 bad line \(--max-bad 1\)'
expect_out '"partner":"p4"'
expect_no_out '"partner":"p6"'
grep -q '"partner":"p4"' tags.jsonl || fail "--tags-out has what was applied before the stop"
grep -q '"partner":"p6"' tags.jsonl && fail "--tags-out has events after the stop"
run run rules.ptag --events some-bad.jsonl --max-bad 3
expect_status 0 "--max-bad 3:"
expect_out '"partner":"p10"'

# A percentage of the lines read, judged at the end.
run run rules.ptag --events some-bad.jsonl --max-bad 20%
expect_status 1 "--max-bad 20%:"
expect_err '30.0% of the lines were bad, more than --max-bad 20%'
expect_out '"partner":"p10"'
run run rules.ptag --events some-bad.jsonl --max-bad 30%
expect_status 0 "--max-bad 30%:"

for bad in abc 10x %% -1 101%; do
  run run rules.ptag --events some-bad.jsonl --max-bad "$bad"
  expect_status 2 "--max-bad $bad:"
  expect_err "is not a count"
done

# --strict: exit 1 at the first bad line, nothing after it applied.
run run rules.ptag --events some-bad.jsonl --strict
expect_status 1 "--strict:"
expect_out '"partner":"p1"'
expect_no_out '"partner":"p3"'
expect_err 'stopped at the first bad line \(--strict\)'

# A line the engine refuses (a negative amount) counts the same way.
cat >engine-bad.jsonl <<'E'
{"type":"join","partner":"p1","time":"2026-03-01T10:00:00Z"}
{"type":"sale","partner":"p1","time":"2026-03-01T10:00:01Z","data":{"amount":-1}}
{"type":"sale","partner":"p1","time":"2026-03-01T10:00:02Z","data":{"amount":-2}}
{"type":"join","partner":"p2","time":"2026-03-01T10:00:03Z"}
E
run run rules.ptag --events engine-bad.jsonl --max-bad 1
expect_status 1 "engine rejections and --max-bad:"
expect_err 'engine-bad.jsonl:3: "data.amount" is negative'
expect_no_out '"partner":"p2"'

# A folder, or input that cannot be read to its end, is an error, not an empty input.
mkdir folder
run run rules.ptag --events folder
expect_status 1 "--events a folder:"
expect_err "reading 'folder' failed after line 0: Is a directory"

finish
