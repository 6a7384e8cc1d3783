#!/usr/bin/env bash
# Runs the test suite under sanitizers, each in its own build folder:
#   asan  every test (but the consumer build) with AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan  the concurrency tests (sharing, concurrency) with ThreadSanitizer
#
#   usage: tools/ci/sanitize.sh [asan|tsan|all]     (default: all)
#
# Built with the system compiler (GCC 12 on Debian 12, whose sanitizer runtimes libasan8,
# libubsan1 and libtsan2 come with g++) at -O1 -g1: the forward pass is too slow unoptimised,
# and at -O2 -g the kernels' files (their micro-kernels unrolled for every tile shape, each
# access instrumented) take 5 to 6 times longer to compile, mostly in the optimiser and in
# variable tracking. -g1 keeps the line tables, so reports still name file and line.
# Any sanitizer report fails the test that made it. Ends with a line
# "sanitizers: N passed, N failed, N skipped" over the tests it ran, which it also writes to
# MINILM_SANITIZE_RESULTS (default build-asan/sanitize-results.json), one JSON line per test.
# Environment: MINILM_ASAN_BUILD (default build-asan), MINILM_TSAN_BUILD (default build-tsan).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
what=${1:-all}
case "$what" in
  asan | tsan | all) ;;
  *)
    echo "usage: tools/ci/sanitize.sh [asan|tsan|all] (got '$what')" >&2
    exit 2
    ;;
esac
asan_build=${MINILM_ASAN_BUILD:-build-asan}
tsan_build=${MINILM_TSAN_BUILD:-build-tsan}
results=${MINILM_SANITIZE_RESULTS:-$asan_build/sanitize-results.json}

packages=(g++ libasan8 libubsan1 libtsan2)
"$root/tools/setup/apt_install.sh" "${packages[@]}"

# Reports go to stderr (the test log) and fail the test; leaks count too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# die_after_fork=0: test_sharing checks that an encoder whose threads ran before fork() starts
# threads of its own in the child (the Gunicorn --preload case), which TSan refuses by default.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:die_after_fork=0}

logs=()
status=0

# setup BUILD SANITIZERS
setup() {
  if [ ! -f "$1/build.ninja" ]; then
    meson setup "$1" -Dtests=enabled -Dexamples=enabled -Dbenchmarks=disabled -Dbuildtype=plain \
      -Dcpp_args="-O1 -g1 -fno-omit-frame-pointer" -Db_sanitize="$2" -Db_lundef=false
  fi
}

# The parity cases (tests/meson.build's parity_cases) run the real model over every golden text
# (2,000 of them): under ASan they alone take longer than the whole stage may, and the normal
# build runs them in full, on every kernel. Every other case of these suites runs here, on the
# sample of the corpus the parity runs per kernel use (MINILM_PARITY_SAMPLE: the edge cases, the
# lengths across the range, the longest texts), so that the cases that reuse the corpus (the
# bitwise invariance over batches and threads) look for memory errors on every shape class without
# 2,000 texts' worth of instrumented forward passes. (doctest filters; no spaces, as meson splits
# --test-args at them: '?' matches one character.)
declare -A parity_exclude=(
  [encoder]='*sentence-transformers*,texts?give*'
  [multilingual_encoder]='multilingual?folders?match*'
  [quantize]='*accuracy?gate*,*bitwise*'
)

if [ "$what" = asan ] || [ "$what" = all ]; then
  setup "$asan_build" address,undefined
  meson compile -C "$asan_build"
  # Every test but 'consumer', which builds a separate project without sanitizers, and the parity
  # runs per dense kernel (<suite>_scalar, _avx2, ...), too slow here; test_gemm runs every kernel.
  available=$(meson test -C "$asan_build" --list --no-rebuild 2>/dev/null)
  skip=(-e consumer)
  for suite in "${!parity_exclude[@]}"; do skip+=(-e "$suite"); done
  mapfile -t tests < <(echo "$available" | grep -vx "${skip[@]}" | grep -vE '_(scalar|avx2|avx512|neon)$')
  echo "== asan+ubsan: ${tests[*]}"
  meson test -C "$asan_build" --no-rebuild --print-errorlogs --num-processes 2 --logbase sanitize "${tests[@]}" || status=1
  logs+=("$asan_build/meson-logs/sanitize.json")
  # Side by side: each is one process.
  pids=()
  for suite in "${!parity_exclude[@]}"; do
    echo "$available" | grep -qx "$suite" || continue
    echo "== asan+ubsan: $suite (without ${parity_exclude[$suite]})"
    MINILM_PARITY_SAMPLE=1 meson test -C "$asan_build" --no-rebuild --print-errorlogs --logbase "sanitize-$suite" \
      --test-args="--test-case-exclude=${parity_exclude[$suite]}" "$suite" &
    pids+=($!)
    logs+=("$asan_build/meson-logs/sanitize-$suite.json")
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
fi

if [ "$what" = tsan ] || [ "$what" = all ]; then
  setup "$tsan_build" thread
  tests=()
  for t in sharing concurrency; do
    if meson test -C "$tsan_build" --list --no-rebuild 2>/dev/null | grep -qx "$t"; then tests+=("$t"); fi
  done
  targets=()
  for t in "${tests[@]}"; do targets+=("tests/test_$t"); done
  meson compile -C "$tsan_build" "${targets[@]}"
  echo "== tsan: ${tests[*]}"
  meson test -C "$tsan_build" --no-rebuild --print-errorlogs --num-processes 1 --logbase sanitize "${tests[@]}" || status=1
  logs+=("$tsan_build/meson-logs/sanitize.json")
fi

# Every result in one file (meson's testlog.json layout), for tools/test.sh's count.
cat "${logs[@]}" >"$results"
python3 "$root/tools/ci/count_results.py" sanitizers "$results"
exit $status
