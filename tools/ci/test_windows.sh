#!/usr/bin/env bash
# Cross-compiles minilm, its tests and the minilm tool for 64-bit Windows with MinGW-w64
# (tools/ci/cross/x86_64-w64-mingw32.ini: static executables) and runs the tests under wine: every
# unit test a Windows build has (tests/meson.build leaves out what needs a shell or a native
# compiler), and the parity runs per dense kernel (<suite>_scalar, _avx2, _avx512) on the cases
# chosen below. Ends with a line "windows: N passed, N failed, N skipped" over the tests it ran,
# which it also writes to $MINILM_WINDOWS_BUILD/windows-results.json, one JSON line per test.
# Environment: MINILM_WINDOWS_BUILD (default build-windows).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${MINILM_WINDOWS_BUILD:-build-windows}
results=$build/windows-results.json

"$root/tools/setup/apt_install.sh" g++-mingw-w64-x86-64-posix wine wine64

if [ ! -f "$build/build.ninja" ]; then
  # simdjson, doctest and zlib are built from subprojects/ for Windows; Eigen is headers only.
  meson setup "$build" --cross-file tools/ci/cross/x86_64-w64-mingw32.ini \
    -Dtests=enabled -Dexamples=enabled -Dbenchmarks=disabled -Dpython=disabled -Dfuzzers=disabled \
    --force-fallback-for=simdjson,doctest,zlib
fi
meson compile -C "$build" -j "$(nproc)"

# wine keeps its state in the build folder, not in ~/.wine; it prints no debug messages and
# offers to install neither Mono nor Gecko (mscoree, mshtml), which the tests do not use.
export WINEPREFIX
WINEPREFIX=$(cd "$build" && pwd)/wine
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  wineboot -i >/dev/null 2>&1
  wineserver -w
fi

# What runs, and what does not (timings under wine 8 on two cores):
# - every unit test;
# - the parity runs on AVX2 and AVX-512 with their cases as tests/meson.build chooses them
#   (seconds each);
# - on the scalar kernel, which takes minutes on the full goldens (encoder_scalar 7 min,
#   multilingual_encoder_scalar 6 min): the shapes suite, and the encoder's case that tokenizes
#   the golden texts itself (228 texts) rather than the forward pass on all 2,028.
# The native stage runs them all on every kernel.
status=0
mapfile -t all_tests < <(meson test -C "$build" --list --no-rebuild 2>/dev/null)
tests=()
for t in "${all_tests[@]}"; do
  case "$t" in
    *_scalar) ;;
    *) tests+=("$t") ;;
  esac
done
tests+=(encoder_shapes_scalar)
echo "== windows (wine): ${tests[*]}"
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --logbase windows "${tests[@]}" || status=1
# doctest takes the last --test-case it is given: this one replaces the suite's.
echo "== windows (wine): encoder_scalar (texts?give*)"
meson test -C "$build" --no-rebuild --print-errorlogs --logbase windows-scalar \
  --test-args='--test-case=texts?give*' encoder_scalar || status=1

cat "$build/meson-logs/windows.json" "$build/meson-logs/windows-scalar.json" >"$results"
python3 "$root/tools/ci/count_results.py" windows "$results"
wineserver -k 2>/dev/null || true
exit $status
