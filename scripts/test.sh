#!/usr/bin/env bash
# Sets up, builds, and runs every test: unit tests (GoogleTest via ctest), a short run of each
# libFuzzer target, and the integration tests (pytest against the real binary and real origins).
# FUZZ_SECONDS (default 20) sets each fuzzer's run time; 0 skips fuzzing. Then the integration
# tests run again against a build with AddressSanitizer, UndefinedBehaviorSanitizer and
# LeakSanitizer (build-asan/); SANITIZE=0 skips that.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/build.sh

echo "== unit tests"
ctest --test-dir build --output-on-failure -j2

fuzz_seconds=${FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ]; then
  echo "== fuzzing (${fuzz_seconds}s per target)"
  cmake -S . -B build-fuzz -G Ninja -DSTAVKA_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null
  ninja -C build-fuzz
  for bin in build-fuzz/tests/fuzz/fuzz_*; do
    name=$(basename "$bin"); name=${name#fuzz_}
    corpus=build-fuzz/corpus/$name
    mkdir -p "$corpus"
    [ -d "tests/fuzz/corpus/$name" ] && cp -n tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
    echo "-- $name"
    "$bin" -max_total_time="$fuzz_seconds" -print_final_stats=0 "$corpus" 2>&1 | tail -n 2
  done
fi

echo "== integration tests"
.venv/bin/pytest -q tests/integration

if [ "${SANITIZE:-1}" != 0 ]; then
  echo "== integration tests on the sanitizer build"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTAVKA_TESTS=OFF \
    -DCMAKE_CXX_FLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer' \
    -DCMAKE_EXE_LINKER_FLAGS='-fsanitize=address,undefined' >/dev/null
  ninja -C build-asan stavka
  # A report ends the server with a non-zero status, which fails the test that started it.
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 STAVKA_BIN="$root/build-asan/stavka" \
    .venv/bin/pytest -q tests/integration
fi
