#!/usr/bin/env bash
# Installs the dependencies and the model if needed, builds minilm with its tests, and runs
# every test. Ends with a line "N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/install_deps.sh

build=${MINILM_TEST_BUILD:-build-tests}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dtests=enabled -Dexamples=enabled -Dbenchmarks=enabled
fi
meson compile -C "$build"
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 || status=$?

python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
results = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
passed = sum(r["result"] == "OK" for r in results)
skipped = sum(r["result"] == "SKIP" for r in results)
failed = len(results) - passed - skipped
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
