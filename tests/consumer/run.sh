#!/usr/bin/env bash
# The library as another project meets it, both ways:
#   1. tests/consumer built as a separate Meson project with this repository copied under its
#      subprojects/minilm (dependency('minilm') falls back to the subproject);
#   2. the same program built against minilm installed from BUILD_DIR (meson install into a
#      staging folder), found through its pkg-config file and linked to its libminilm.so,
#      whose exported symbols must all be the public API: minilm's own names, none of them
#      in detail:: and none of another library's.
#   usage: run.sh SOURCE_ROOT BUILD_DIR MODEL_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
model=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. As a subproject.
mkdir -p "$work/vendored/subprojects/minilm"
cp "$src/tests/consumer/meson.build" "$src/tests/consumer/main.cpp" "$work/vendored/"
# The repository's own files (tracked or not yet, never ignored ones such as build dirs or models).
(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$src" && xargs -0 cp --parents -t "$work/vendored/subprojects/minilm" 2>/dev/null || true)
test -f "$work/vendored/subprojects/minilm/meson.build"

meson setup "$work/vendored/build" "$work/vendored" --wrap-mode=nodownload
meson compile -C "$work/vendored/build"
# Only the library was built for the subproject: no tests, benchmarks or tools.
if find "$work/vendored/build/subprojects/minilm" -name 'test_*' -type f | grep -q .; then
  echo "consumer: the subproject built its tests" >&2
  exit 1
fi
out=$("$work/vendored/build/consumer" "$model")
echo "subproject: $out"
grep -q "^consumer: " <<<"$out"

# 2. Installed, through pkg-config. The staging folder stands in for the root: pkg-config
# prefixes the .pc file's paths with PKG_CONFIG_SYSROOT_DIR.
stage="$work/stage"
meson install -C "$build" --no-rebuild --quiet --destdir "$stage" >/dev/null
pc=$(find "$stage" -name minilm.pc)
lib=$(find "$stage" -name 'libminilm.so' | head -n 1)
test -n "$pc" && test -n "$lib"
if find "$stage" -path '*/include/minilm/detail*' | grep -q . ||
   find "$stage" -path '*/include/minilm/*.hpp' -print0 | xargs -0 -r grep -lE '#include [<"](Eigen|simdjson)' | grep -q .; then
  echo "consumer: an installed header is internal, or includes Eigen or simdjson" >&2
  exit 1
fi
if grep -q '^Requires:.*eigen' "$pc"; then
  echo "consumer: minilm.pc requires Eigen" >&2
  exit 1
fi
mkdir -p "$work/installed"
cp "$src/tests/consumer/meson.build" "$src/tests/consumer/main.cpp" "$work/installed/"
PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$stage" \
  meson setup "$work/installed/build" "$work/installed" --wrap-mode=nofallback
meson compile -C "$work/installed/build"
out=$(LD_LIBRARY_PATH=$(dirname "$lib") "$work/installed/build/consumer" "$model")
echo "installed: $out"
grep -q "^consumer: " <<<"$out"
LD_LIBRARY_PATH=$(dirname "$lib") ldd "$work/installed/build/consumer" | grep -q "libminilm.so.* => $stage"

# The exported symbols.
symbols=$(nm -DC --defined-only "$lib" | cut -d' ' -f3-)
echo "libminilm.so exports $(wc -l <<<"$symbols") symbols"
if grep -v -e '^minilm::v0::' -e '^typeinfo for minilm::v0::' -e '^typeinfo name for minilm::v0::' \
     -e '^vtable for minilm::v0::' <<<"$symbols"; then
  echo "consumer: libminilm.so exports the symbols above, outside minilm's public API" >&2
  exit 1
fi
if grep 'detail::' <<<"$symbols"; then
  echo "consumer: libminilm.so exports the internals above" >&2
  exit 1
fi
