#!/usr/bin/env bash
# Builds the parser fuzzer with clang, ASan and UBSan, seeds it with every rule
# file of the repository, and runs it for SECONDS (default 60).
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -g -O1"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DPTAG_BUILD_TESTS=OFF -DPTAG_BUILD_FUZZERS=ON >/dev/null
cmake --build "$build" --target fuzz_parser
corpus="$build/corpus"
mkdir -p "$corpus"
find "$root/examples" "$root/stdlib" "$root/tests" -name '*.ptag' -exec cp {} "$corpus/" \;
mkdir -p "$build/findings"
"$build/tests/fuzz/fuzz_parser" "$corpus" -max_total_time="$seconds" -max_len=4096 \
  -artifact_prefix="$build/findings/" -print_final_stats=1 2>&1 | tail -n 25
