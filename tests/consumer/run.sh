#!/usr/bin/env bash
# Builds tests/consumer as a separate Meson project with this repository copied under its
# subprojects/minilm, then runs the program on the model folder.
#   usage: run.sh SOURCE_ROOT MODEL_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
model=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$src/tests/consumer/meson.build" "$src/tests/consumer/main.cpp" "$work/"
mkdir -p "$work/subprojects/minilm"
# The repository's own files (tracked or not yet, never ignored ones such as build dirs or models).
(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$src" && xargs -0 cp --parents -t "$work/subprojects/minilm" 2>/dev/null || true)
test -f "$work/subprojects/minilm/meson.build"

meson setup "$work/build" "$work" --wrap-mode=nodownload
meson compile -C "$work/build"
# Only the library was built for the subproject: no tests, benchmarks or tools.
if find "$work/build/subprojects/minilm" -name 'test_*' -type f | grep -q .; then
  echo "consumer: the subproject built its tests" >&2
  exit 1
fi
out=$("$work/build/consumer" "$model")
echo "$out"
grep -q "^consumer: " <<<"$out"
