#!/usr/bin/env bash
# Builds minilm, its tests and the minilm tool the way macOS does, with clang and LLVM's libc++
# (Debian packages clang, libc++-dev, libc++abi-dev) instead of GCC and libstdc++, with the
# project's warnings (-Wall -Wextra -Wpedantic) as errors, and runs the unit tests: every test but
# the parity runs per dense kernel and the slowest parity suites, which the other builds run
# (this one is unoptimised, for a short compile). simdjson and doctest come from subprojects/, as
# Debian's libsimdjson is built against libstdc++. Ends with a line
# "libc++: N passed, N failed, N skipped" over the tests it ran, which it also writes to
# $MINILM_LIBCXX_BUILD/libcxx-results.json, one JSON line per test.
# Environment: MINILM_LIBCXX_BUILD (default build-libcxx).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${MINILM_LIBCXX_BUILD:-build-libcxx}
results=$build/libcxx-results.json

"$root/tools/setup/apt_install.sh" clang libc++-dev libc++abi-dev

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" -Dbuildtype=debug -Dwerror=true \
    -Dcpp_args=-stdlib=libc++ -Dcpp_link_args=-stdlib=libc++ \
    -Dtests=enabled -Dexamples=enabled -Dbenchmarks=disabled -Dpython=disabled -Dfuzzers=disabled \
    --force-fallback-for=simdjson,doctest
fi
meson compile -C "$build"

# Left out: the parity runs per kernel (<suite>_scalar, ...), the full-corpus parity suites and
# the consumer build (a second project); the optimised builds run them.
status=0
mapfile -t tests < <(meson test -C "$build" --list --no-rebuild 2>/dev/null |
  grep -vx -e consumer -e encoder -e encoder_shapes -e multilingual_encoder -e quantize |
  grep -vE '_(scalar|avx2|avx512|neon)$')
echo "== libc++: ${tests[*]}"
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --logbase libcxx "${tests[@]}" || status=1

cp "$build/meson-logs/libcxx.json" "$results"
python3 "$root/tools/ci/count_results.py" libc++ "$results"
exit $status
