#!/usr/bin/env bash
# Builds the tests and the fuzz targets once with clang, ASan and UBSan (any
# report aborts), and runs the test suite in that build. The fuzz targets
# share the build: tests/fuzz/run.sh then only runs them.
# Usage: tests/sanitize.sh [--configure-only]; SANITIZE_BUILD_DIR (default
# build-asan/) chooses the build folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SANITIZE_BUILD_DIR:-$root/build-asan}
# -O1 and line tables only: quicker to build, and reports still give file:line.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DPTAG_WERROR=ON -DPTAG_SANITIZE=ON -DPTAG_BUILD_FUZZERS=ON >/dev/null
[ "${1:-}" != --configure-only ] || exit 0
nice cmake --build "$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The install test builds the examples against the installed libptag with the
# system compiler and no sanitizer runtime: it runs in the normal build only.
ctest --test-dir "$build" --output-on-failure -j2 -E "^install_and_embed$"
