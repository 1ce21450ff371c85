# The command line itself: version, help, unknown commands and options with
# suggestions, check --warnings-as-errors, test --filter, the run summary.
# Usage: words.sh PTAG WORK PTAG_GEN
source "$(dirname "$0")/lib.sh"
PTAG_GEN=$3

run --version
expect_status 0
expect_out '^ptag [0-9]+\.[0-9]+\.[0-9]+$'
version=$out
run version
expect_status 0
[ "$out" = "$version" ] || fail "'ptag version' and 'ptag --version' differ"
run
expect_status 0 "bare ptag:"
expect_out 'Usage: ptag \[OPTIONS\] SUBCOMMAND'
expect_out 'check +Check rule files'

run chek x.ptag
expect_status 2
expect_err "^ptag: unknown command 'chek'; did you mean 'check'\?"
run frobnicate
expect_status 2
expect_err "^ptag: unknown command 'frobnicate'$"
run --verison
expect_status 2
expect_err "unknown option --verison; did you mean --version\?"

echo 'on join add "New"' >rules.ptag
echo '{"type":"join","partner":"p1","time":"2026-03-01T10:00:00Z"}' >events.jsonl
# The misspelled option is named, not its value taken for a missing rule file.
run run rules.ptag --events events.jsonl --unti 2027-01-01
expect_status 2
expect_err '^ptag run: unknown option --unti; did you mean --until\?'
expect_no_err 'File does not exist'
run run rules.ptag --events events.jsonl --unti=2027-01-01
expect_err 'unknown option --unti; did you mean --until\?'
for cmd in check fmt test disasm; do
  run $cmd --stricct rules.ptag
  expect_status 2 "$cmd:"
  expect_err "^ptag $cmd: unknown option --stricct"
done
run check --formt json rules.ptag
expect_err 'unknown option --formt; did you mean --format\?'
# A value that looks like an option belongs to the option before it.
run test rules.ptag --filter --weird
expect_no_err 'unknown option'

# check --warnings-as-errors
printf 'let unused = 5\non join add "New"\n' >warn.ptag
run check warn.ptag
expect_status 0
expect_err 'warning\[W003\]'
run check --warnings-as-errors warn.ptag
expect_status 1 "--warnings-as-errors:"
expect_err 'warnings are errors'
run check --warnings-as-errors rules.ptag
expect_status 0 "--warnings-as-errors, no warning:"

# test --filter that matches nothing
printf 'on join add "New"\ntest "joins" {\n  at 2026-01-01 join "p1"\n  expect "p1" has "New"\n}\n' >tested.ptag
run test tested.ptag --filter joins
expect_status 0
expect_out '^1 passed, 0 failed$'
run test tested.ptag --filter nothing-like-it
expect_status 1 "--filter matching nothing:"
expect_err "no test name contains 'nothing-like-it'"

# expect rejected: passes on a rejected event, fails on an applied one.
printf 'on sale add "S"\ntest "neg" {\n  at 2026-01-01 sale "p1" { amount: -1 }\n  expect rejected "negative"\n}\n' >rejected.ptag
run test rejected.ptag
expect_status 0
printf 'on sale add "S"\ntest "pos" {\n  at 2026-01-01 sale "p1" { amount: 1 }\n  expect rejected "negative"\n}\n' >applied.ptag
run test applied.ptag
expect_status 1
expect_out 'applied.ptag:4: test "pos": expected the event before to be rejected, but it was applied'
printf 'on sale add "S"\ntest "other" {\n  at 2026-01-01 sale "p1" { amount: "1" }\n  expect rejected "negative"\n}\n' >other.ptag
run test other.ptag
expect_status 1
expect_out 'expected the event to be rejected for "negative", but the reason was: "data.amount" is a string'
printf 'on sale add "S"\ntest "alone" {\n  expect rejected "negative"\n}\n' >alone.ptag
run test alone.ptag
expect_status 1
expect_out "'expect rejected' must follow an event step"

# The run summary: plurals, the clock, records per action.
run run rules.ptag --events events.jsonl
expect_err '^ptag run: 1 line read: 1 event applied, 0 duplicates, 0 bad lines; 1 partner; clock 2026-03-01T10:00:00Z$'
expect_err 'ptag run: 1 record: 1 add, 0 remove, 0 emit; '
expect_err 'ptag run: events by type: join 1$'

# ptag-gen --help prints help instead of two million events.
timeout 10 "$PTAG_GEN" --help >gen.txt 2>&1
status=$? out=$(head -c 2000 gen.txt) err=
expect_status 0 "ptag-gen --help:"
expect_out 'Usage: ptag-gen'
[ "$(wc -c <gen.txt)" -lt 5000 ] || fail "ptag-gen --help printed $(wc -c <gen.txt) bytes"
timeout 10 "$PTAG_GEN" events --partners 2 --events 3 >gen.txt
[ "$(wc -l <gen.txt)" = 3 ] || fail "ptag-gen events --events 3 wrote $(wc -l <gen.txt) lines"

finish
