# ptag diff: the counts agree with two separate runs' final tags.
# Usage: diff.sh PTAG WORK SOURCE_DIR
source "$(dirname "$0")/lib.sh"
SRC=$3
EV=$SRC/examples/events.jsonl
sed 's/let vip_threshold = 5000/let vip_threshold = 3000/; s/add "Featured"/add "Spotlight"/' \
  "$SRC/examples/tiers.ptag" >new.ptag
cp "$SRC/examples/tiers.ptag" old.ptag
run run old.ptag --events "$EV" --until 2027-01-01 --tags-out old-tags.jsonl
run run new.ptag --events "$EV" --until 2027-01-01 --tags-out new-tags.jsonl
holders() { grep "\"$2\"" "$1" | sed -E 's/^\{"partner":"([^"]*)".*/\1/'; }
run diff old.ptag new.ptag --events "$EV" --until 2027-01-01 --format json
expect_status 0
for tag in VIP Featured Spotlight Gold; do
  line=$(grep "^{\"tag\":\"$tag\"" <<<"$out")
  [ -n "$line" ] || { fail "no line for $tag"; continue; }
  old=$(holders old-tags.jsonl "$tag" | wc -l)
  new=$(holders new-tags.jsonl "$tag" | wc -l)
  gained=$(comm -13 <(holders old-tags.jsonl "$tag" | sort) <(holders new-tags.jsonl "$tag" | sort) | wc -l)
  lost=$(comm -23 <(holders old-tags.jsonl "$tag" | sort) <(holders new-tags.jsonl "$tag" | sort) | wc -l)
  grep -q "\"old\":$old,\"new\":$new,\"gained\":$gained,\"lost\":$lost," <<<"$line" ||
    fail "$tag: $line, but the runs give old $old new $new gained $gained lost $lost"
done
grep -q '"tag":"VIP","old":[0-9]*,"new":[0-9]*,"gained":[1-9]' <<<"$out" || fail "a lower VIP threshold gains partners"
grep -q '"tag":"Featured".*"lost":[1-9]' <<<"$out" || fail "a renamed tag is lost"
first_gained=$(grep '^{"tag":"VIP"' <<<"$out" | sed -E 's/.*"sample_gained":\["([^"]*)".*/\1/')
holders new-tags.jsonl VIP | grep -qx "$first_gained" || fail "sample $first_gained does not hold VIP"
run diff old.ptag new.ptag --events "$EV" --until 2027-01-01
expect_out '^tag +old +new +gained +lost$'
expect_out '^"VIP" .* gained: '
run diff old.ptag no-such.ptag --events "$EV"
expect_status 2
finish
