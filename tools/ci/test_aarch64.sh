#!/usr/bin/env bash
# Cross-compiles minilm and its tests for 64-bit ARM Linux (tools/ci/cross/aarch64-linux-gnu.ini:
# Debian's g++-aarch64-linux-gnu, static executables) and runs them under qemu-aarch64, whose
# default processor has NEON and the dot product instructions: the test suite "aarch64" that
# tests/meson.build defines for such a build (the NEON kernels, the thread pool, the tokenizers,
# the loaders and a parity case per kernel; emulation is 40 to 100 times slower than the processor,
# so the slowest cases are left to the native runs). Ends with a line
# "aarch64: N passed, N failed, N skipped" over the tests it ran, which it also writes to
# $MINILM_AARCH64_BUILD/aarch64-results.json, one JSON line per test.
# Environment: MINILM_AARCH64_BUILD (default build-aarch64).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${MINILM_AARCH64_BUILD:-build-aarch64}
results=$build/aarch64-results.json

"$root/tools/setup/apt_install.sh" g++-aarch64-linux-gnu qemu-user

if [ ! -f "$build/build.ninja" ]; then
  # simdjson, doctest and zlib are built from subprojects/ for ARM; Eigen is headers only.
  meson setup "$build" --cross-file tools/ci/cross/aarch64-linux-gnu.ini \
    -Dtests=enabled -Dexamples=enabled -Dbenchmarks=disabled -Dpython=disabled -Dfuzzers=disabled \
    --force-fallback-for=simdjson,doctest,zlib
fi
# Only the executables the suite runs (and what they link): the other tests and the examples are
# compiled and run by the native and Windows stages.
mapfile -t targets < <(meson introspect "$build" --tests | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
exes = {t["cmd"][0] for t in json.load(sys.stdin) if "minilm:aarch64" in t["suite"]}
print("\n".join(sorted(os.path.relpath(e, build) for e in exes)))' "$build")
meson compile -C "$build" "${targets[@]}"

status=0
echo "== aarch64 (qemu-aarch64): $(meson test -C "$build" --list --no-rebuild --suite aarch64 2>/dev/null | tr '\n' ' ')"
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --suite aarch64 --logbase aarch64 || status=1

cp "$build/meson-logs/aarch64.json" "$results"
python3 "$root/tools/ci/count_results.py" aarch64 "$results"
exit $status
