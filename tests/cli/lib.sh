# Helpers for the command-line tests: run ptag, check its status and output.
# Each test script is run by ctest as `bash SCRIPT PTAG WORKDIR` and fails on
# the first broken expectation, printing what it got.
set -u
PTAG=$1
WORK=$2
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
failures=0

# run ARGS...: runs ptag (10 s at most), leaving $status, $out and $err.
run() {
  timeout 10 "$PTAG" "$@" >"$WORK/.out" 2>"$WORK/.err"
  status=$?
  out=$(cat "$WORK/.out")
  err=$(cat "$WORK/.err")
}

fail() {
  echo "FAILED: $*"
  echo "  status: $status"
  echo "  stdout: $out" | head -n 20
  echo "  stderr: $err" | head -n 20
  failures=$((failures + 1))
}

expect_status() { [ "$status" = "$1" ] || fail "${2:-} expected exit $1"; }
# expect_err REGEX / expect_out REGEX (grep -E, on the whole text)
expect_err() { grep -Eq -- "$1" <<<"$err" || fail "stderr does not match: $1"; }
expect_out() { grep -Eq -- "$1" <<<"$out" || fail "stdout does not match: $1"; }
expect_no_err() { ! grep -Eq -- "$1" <<<"$err" || fail "stderr should not match: $1"; }
expect_no_out() { ! grep -Eq -- "$1" <<<"$out" || fail "stdout should not match: $1"; }

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures expectation(s) failed"
    exit 1
  fi
  echo "all expectations held"
}
