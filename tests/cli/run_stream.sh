# ptag run on a stream: records come out as events arrive, while the writer
# keeps the pipe open (tail -f events.jsonl | ptag run ... --events -).
source "$(dirname "$0")/lib.sh"

echo 'on join add "New"' >rules.ptag
line() { echo "{\"type\":\"join\",\"partner\":\"$1\",\"time\":\"2026-03-01T10:00:0${2}Z\"}"; }
# wait_for PATTERN FILE: up to 5 s.
wait_for() {
  for _ in $(seq 50); do
    grep -q "$1" "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

for how in fifo stdin; do
  rm -f in.fifo out.jsonl
  mkfifo in.fifo
  if [ $how = fifo ]; then
    timeout 20 "$PTAG" run rules.ptag --events in.fifo --out out.jsonl 2>err.txt &
  else
    timeout 20 "$PTAG" run rules.ptag --events - --out out.jsonl <in.fifo 2>err.txt &
  fi
  pid=$!
  exec 3>in.fifo
  line p1 1 >&3
  wait_for '"partner":"p1"' out.jsonl || { status=-; out=$(cat out.jsonl); err=$(cat err.txt); fail "$how: no record while the writer keeps the pipe open"; }
  line p2 2 >&3
  echo 'not json' >&3
  wait_for '"partner":"p2"' out.jsonl || { status=-; out=$(cat out.jsonl); err=$(cat err.txt); fail "$how: no record for the second event"; }
  wait_for ':3: not valid JSON' err.txt || { status=-; out=$(cat out.jsonl); err=$(cat err.txt); fail "$how: the bad line is not reported as it arrives"; }
  exec 3>&-
  wait $pid
  status=$?
  out=$(cat out.jsonl)
  err=$(cat err.txt)
  expect_status 0 "$how:"
  expect_err '3 lines read: 2 events applied, 0 duplicates, 1 bad line; 2 partners'
done

finish
