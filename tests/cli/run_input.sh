# ptag run on bad and surprising input: epoch milliseconds, amounts, time
# hints, event types no rule uses, late events and --sort.
source "$(dirname "$0")/lib.sh"

cat >rules.ptag <<'R'
on join add "New"
on sale add "Seller"
on event "contract.signed" add "Contract"
on inactive 2d add "Quiet"
R

# 1. Integer times are epoch seconds from 0 to 253402300799; 13 digits are milliseconds.
cat >times.jsonl <<'E'
{"type":"join","partner":"p1","time":1772359200000}
{"type":"join","partner":"p2","time":1772359200.5}
{"type":"join","partner":"p3","time":253402300800}
{"type":"join","partner":"p4","time":-1}
{"type":"join","partner":"p5","time":1772359200}
{"type":"join","partner":"p6","time":253402300799}
E
run run rules.ptag --events times.jsonl
expect_status 0
expect_err 'times.jsonl:1: "time" 1772359200000 is outside epoch seconds 0\.\.253402300799; it looks like epoch milliseconds \(divide by 1000\)'
expect_err 'times.jsonl:2: "time" must be whole epoch seconds, not 1772359200.5'
expect_err 'times.jsonl:3: "time" 253402300800 is outside epoch seconds'
expect_no_err 'times.jsonl:3: .*milliseconds'
expect_err 'times.jsonl:4: "time" -1 is outside epoch seconds'
expect_out '"time":"2026-03-01T10:00:00Z","partner":"p5"'
expect_out '"time":"9999-12-31T23:59:59Z","partner":"p6"'
expect_no_out '"partner":"p[1-4]"'

# 9. Hints for the common wrong forms of a time.
cat >hints.jsonl <<'E'
{"type":"join","partner":"p1","time":"2026-03-01 10:15:00Z"}
{"type":"join","partner":"p1","time":"2026-03-01T10:15:00"}
{"type":"join","partner":"p1","time":"2026-03-01"}
{"type":"join","partner":"p1","time":"2026-03-01 10:15:00"}
{"type":"join","partner":"p1","time":"soon"}
{"type":"join","partner":"p1","time":"2026-03-01T10:15:00+02:00"}
E
run run rules.ptag --events hints.jsonl
expect_status 0
expect_err "hints.jsonl:1: .*write a 'T' between the date and the time, as in 2026-03-01T10:15:00Z"
expect_err "hints.jsonl:2: .*add 'Z' for UTC or an offset such as \+02:00, as in 2026-03-01T10:15:00Z"
expect_err "hints.jsonl:3: .*a date alone is not a time: write 2026-03-01T00:00:00Z"
expect_err "hints.jsonl:4: .*write a 'T' between the date and the time and add 'Z'"
expect_err 'hints.jsonl:5: "time" is not an RFC 3339 time: "soon"$'
expect_out '"time":"2026-03-01T08:15:00Z"'

# 2. Amounts: negative ones and strings are bad, with reasons that say what to do.
cat >amounts.jsonl <<'E'
{"type":"sale","partner":"p1","time":"2026-03-01T10:00:00Z","data":{"amount":-50}}
{"type":"refund","partner":"p1","time":"2026-03-01T10:00:00Z","data":{"amount":-200}}
{"type":"sale","partner":"p1","time":"2026-03-01T10:00:00Z","data":{"amount":"129.90"}}
{"type":"commission","partner":"p1","time":"2026-03-01T10:00:00Z","data":{"amount":null}}
{"type":"sale","partner":"p1","time":"2026-03-01T10:00:00Z","data":{"amount":129.90}}
E
run run rules.ptag --events amounts.jsonl --tags-out tags.jsonl
expect_status 0
expect_err 'amounts.jsonl:1: "data.amount" is negative \(-50\); money taken back is a refund with a positive amount'
expect_err 'amounts.jsonl:2: "data.amount" is negative \(-200\)'
expect_err 'amounts.jsonl:3: "data.amount" is a string \("129.90"\); write a JSON number'
expect_err 'amounts.jsonl:4: "data.amount" is missing \(a commission needs a numeric amount\)'
expect_err '5 lines read: 1 event applied, 0 duplicates, 4 bad lines; 1 partner;'

# 3. Event types no rule uses: counted, warned about once each, with a suggestion.
cat >types.jsonl <<'E'
{"type":"join","partner":"p1","time":"2026-03-01T10:00:00Z"}
{"type":"Sale","partner":"p1","time":"2026-03-01T10:00:00Z","data":{"amount":5}}
{"type":"Sale","partner":"p1","time":"2026-03-01T10:00:01Z","data":{"amount":5}}
{"type":"sign_up","partner":"p1","time":"2026-03-01T10:00:02Z"}
{"type":"purchase","partner":"p1","time":"2026-03-01T10:00:03Z"}
{"type":"contract.signed","partner":"p1","time":"2026-03-01T10:00:04Z"}
E
run run rules.ptag --events types.jsonl
expect_status 0
expect_err 'events by type: join 1, "Sale" 2, "sign_up" 1, "purchase" 1, "contract.signed" 1'
expect_err 'warning: 2 events of type "Sale" that no rule uses; did you mean "sale"\?'
expect_err 'warning: 1 event of type "sign_up" that no rule uses; did you mean "signup"\?'
expect_err 'warning: 1 event of type "purchase" that no rule uses$'
expect_no_err 'contract.signed" that no rule uses'
[ "$(grep -c 'of type "Sale"' <<<"$err")" = 1 ] || fail "one warning per type"

# 4. Late events: counted with the largest lateness, and a pointer at --sort.
cat >late.jsonl <<'E'
{"type":"join","partner":"p1","time":"2026-03-01T00:00:00Z"}
{"type":"join","partner":"p2","time":"2026-03-05T00:00:00Z"}
{"type":"click","partner":"p1","time":"2026-03-02T00:00:00Z"}
{"type":"click","partner":"p1","time":"2026-03-04T20:00:00Z"}
E
run run rules.ptag --events late.jsonl
expect_status 0
expect_err 'warning: 2 events arrived older than the clock \(the most by 3d\); timers may have fired between them\. If the input is not in time order, run with --sort'
expect_out '"partner":"p1","action":"add","tag":"Quiet"'
unsorted_records=$out
# --sort gives the records of the same events in time order, and no warning.
run run rules.ptag --events late.jsonl --sort
expect_status 0
expect_no_err 'older than the clock'
sorted_records=$out
sort -t'"' -k4,4 -s late.jsonl >/dev/null  # (the input itself is left as it is)
cat >in-order.jsonl <<'E'
{"type":"join","partner":"p1","time":"2026-03-01T00:00:00Z"}
{"type":"click","partner":"p1","time":"2026-03-02T00:00:00Z"}
{"type":"click","partner":"p1","time":"2026-03-04T20:00:00Z"}
{"type":"join","partner":"p2","time":"2026-03-05T00:00:00Z"}
E
run run rules.ptag --events in-order.jsonl
[ "$out" = "$sorted_records" ] || fail "--sort differs from the run on the input in time order"
[ "$out" != "$unsorted_records" ] || fail "the unsorted run should differ (a timer fired between)"
# Equal times keep their order in the file; bad lines keep their line numbers.
cat >ties.jsonl <<'E'
{"id":"b","type":"join","partner":"p2","time":"2026-03-02T00:00:00Z"}
{"id":"a","type":"join","partner":"p1","time":"2026-03-01T00:00:00Z"}
not json
{"id":"c","type":"join","partner":"p3","time":"2026-03-01T00:00:00Z"}
E
run run rules.ptag --events ties.jsonl --sort
expect_status 0
expect_err 'ties.jsonl:3: not valid JSON'
[ "$(grep -o '"partner":"p[0-9]"' <<<"$out" | head -n 3 | tr -d '\n')" = '"partner":"p1""partner":"p3""partner":"p2"' ] ||
  fail "--sort is a stable sort by time"
# --sort --strict: a bad line anywhere stops before anything is applied.
run run rules.ptag --events ties.jsonl --sort --strict
expect_status 1
[ -z "$out" ] || fail "--sort --strict applied events before the bad line"
# --sort needs a file.
run run rules.ptag --events - --sort </dev/null
expect_status 2
expect_err '--sort needs a file'
mkfifo fifo
run run rules.ptag --events fifo --sort
expect_status 2
expect_err "--sort needs a file: .*'fifo' is not a regular file"

# The progress line: forced with --progress, from a slow input (a FIFO fed
# in two parts); written in place (\r, erase to the end of the line) and
# cleared before the summary. Not a terminal here: no line by default.
"$3" events --partners 50 --events 3000 --seed 4 >slow.jsonl
head -n 1500 slow.jsonl >slow-a.jsonl
tail -n +1501 slow.jsonl >slow-b.jsonl
mkfifo slow
(cat slow-a.jsonl; sleep 1; cat slow-b.jsonl) >slow &
run run rules.ptag --events slow --progress --out /dev/null
wait
expect_status 0 "--progress:"
grep -q $'\rptag run: [0-9.]* [kMG]B read, [0-9,]* lines/s, [0-9,]* records\033\[K' <<<"$err" ||
  fail "no progress line: $(head -c 300 <<<"$err" | od -c | head -5)"
grep -q $'\r\033\[Kptag run: 3,000 lines read' <<<"$err" || fail "the progress line is not cleared before the summary"
run run rules.ptag --events slow.jsonl --out /dev/null
expect_status 0
[[ "$err" != *$'\r'* ]] || fail "a progress line without a terminal"
run run rules.ptag --events slow.jsonl --out /dev/null --no-progress
expect_status 0
[[ "$err" != *$'\r'* ]] || fail "--no-progress showed a line"
run run rules.ptag --events slow.jsonl --progress --no-progress
expect_status 2 "--progress with --no-progress:"
expect_err "excludes"

finish
