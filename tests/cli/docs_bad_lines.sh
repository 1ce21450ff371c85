# Every row of the bad-line table in docs/events.md ("Every reason, with a
# line that draws it") is run through ptag: the documented reason must be
# the one reported. Usage: docs_bad_lines.sh PTAG WORK EVENTS_MD
source "$(dirname "$0")/lib.sh"
doc=$3
echo 'on join add "New"' >rules.ptag
rows=0
while IFS= read -r row; do
  # | `LINE` | `REASON` |
  line=$(sed -E 's/^\| `(.*)` \| `(.*)` \|$/\1/' <<<"$row")
  reason=$(sed -E 's/^\| `(.*)` \| `(.*)` \|$/\2/' <<<"$row")
  printf '%s\n' "$line" >one.jsonl
  run run rules.ptag --events one.jsonl
  [ "$err" != "${err#one.jsonl:1: $reason
}" ] || fail "docs say '$reason' for: $line"
  rows=$((rows + 1))
done < <(sed -n '/^Every reason, with a line that draws it:/,/^$/p; /^| line | reason |/,/^$/p' "$doc" |
  grep -E '^\| `.*` \| `.*` \|$' | sort -u)
[ "$rows" -ge 20 ] || fail "only $rows rows found in $doc"
echo "$rows documented reasons checked"
finish
