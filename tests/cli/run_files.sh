# ptag run's files: an output that names an input is refused before anything
# is read; --tags-out is checked at the start and replaced whole at the end.
source "$(dirname "$0")/lib.sh"

echo 'on join add "New"' >rules.ptag
echo '{"type":"join","partner":"p1","time":"2026-03-01T10:00:00Z"}' >events.jsonl
cp events.jsonl original.jsonl
unchanged() { cmp -s events.jsonl original.jsonl || fail "$1: the events file was changed"; }

run run rules.ptag --events events.jsonl --out events.jsonl
expect_status 2 "--out is --events:"
expect_err "--out 'events.jsonl' is the --events file 'events.jsonl': writing it would destroy the input"
unchanged "--out"
run run rules.ptag --events events.jsonl --tags-out ./events.jsonl
expect_status 2 "--tags-out is --events by another path:"
unchanged "--tags-out"
ln -s events.jsonl link.jsonl
run run rules.ptag --events events.jsonl --out link.jsonl
expect_status 2 "--out is a link to --events:"
unchanged "a link"
ln events.jsonl hard.jsonl
run run rules.ptag --events hard.jsonl --out "$WORK/events.jsonl"
expect_status 2 "--out is a hard link of --events:"
unchanged "a hard link"
run run rules.ptag --events - --out events.jsonl <events.jsonl
expect_status 2 "stdin redirected from --out:"
unchanged "stdin"
run run rules.ptag --events events.jsonl --out rules.ptag
expect_status 2 "--out is a rule file:"
expect_err "is the rule file 'rules.ptag'"
run run rules.ptag --events events.jsonl --out new.jsonl --tags-out ./sub/../new.jsonl
expect_status 2 "--out and --tags-out the same new file:"
expect_err "--out and --tags-out name the same file"
[ -e new.jsonl ] && fail "nothing is written when refused"

# --tags-out that cannot be written is found before the run.
run run rules.ptag --events events.jsonl --out records.jsonl --tags-out no-such-dir/tags.jsonl
expect_status 2 "unwritable --tags-out:"
expect_err "cannot write --tags-out 'no-such-dir/tags.jsonl'"
[ -e records.jsonl ] && fail "the run went ahead with an unwritable --tags-out"

# --tags-out replaces the old file whole, leaves no temporary file, and has
# the permissions of a new file.
echo old >tags.jsonl
run run rules.ptag --events events.jsonl --tags-out tags.jsonl
expect_status 0
[ "$(cat tags.jsonl)" = '{"partner":"p1","tags":["New"]}' ] || fail "tags.jsonl: $(cat tags.jsonl)"
[ -z "$(ls -A | grep '^\.tags')" ] || fail "a temporary file was left: $(ls -A)"
umask 022
run run rules.ptag --events events.jsonl --tags-out fresh.jsonl
[ "$(stat -c %a fresh.jsonl)" = 644 ] || fail "fresh.jsonl has mode $(stat -c %a fresh.jsonl)"

finish
