#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, ASan and UBSan, and runs each for a
# bounded time on its seed corpus (tests/fuzz/corpus/<target>/, written by
# tests/fuzz/make_corpus.py) plus what earlier runs found (kept in the build folder).
#
#   usage: tools/ci/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, every target)
#
# Inputs are capped with -max_len, memory with -rss_limit_mb and -malloc_limit_mb, and each
# input's time with -timeout, so an unbounded allocation or a hang is a finding like a crash.
# A finding is saved as <build>/findings/<target>/crash-* (or oom-*, timeout-*, leak-*),
# and the script exits non-zero. Ends with one line per target: time, executions, findings
# (and writes <build>/fuzz-results.json, one line per target, OK or FAIL).
# Targets run side by side, MINILM_FUZZ_JOBS at a time (default: one per core).
# Environment: MINILM_FUZZ_BUILD (default build-fuzz), MINILM_FUZZ_NICE (default 19),
# MINILM_FUZZ_JOBS.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
seconds=${1:-60}
shift || true
build=${MINILM_FUZZ_BUILD:-build-fuzz}
nice_level=${MINILM_FUZZ_NICE:-19}

# clang, its sanitizer and libFuzzer runtimes, and llvm-symbolizer for readable reports.
packages=(clang libclang-rt-14-dev llvm)
"$root/tools/setup/apt_install.sh" "${packages[@]}"

# -O1 with line tables only, as tools/ci/sanitize.sh builds (and for its reason: at -O2 -g the
# instrumented kernels' files compile for minutes); reports still name file and line.
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" -Dfuzzers=enabled -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=plain -Dcpp_args="-O1 -gline-tables-only -fno-omit-frame-pointer" \
    -Dtests=disabled -Dexamples=disabled -Dbenchmarks=disabled
fi

# target: max_len in bytes
declare -A max_len=(
  [safetensors]=16384
  [safetensors_header]=8192
  [model_config]=4096
  [tokenizer_json]=16384
  [vocab_txt]=4096
  [tokenize]=4096
  [encode]=1024
  [unigram]=16384
  [int8_weights]=16384
)
declare -A exists=()
for t in $(cd tests/fuzz && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//'); do exists[$t]=1; done
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(printf '%s\n' "${!max_len[@]}" | sort))
fi

export TMPDIR="$root/$build/tmp"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
# One JSON line per target in the layout of meson's testlog.json, for tools/test.sh's count.
results="$build/fuzz-results.json"
: >"$results"
for t in "${targets[@]}"; do
  if [ -z "${exists[$t]:-}" ] || [ -z "${max_len[$t]:-}" ]; then
    echo "fuzz.sh: unknown target '$t' (known: ${!max_len[*]})" >&2
    exit 2
  fi
done

# Only the targets: the library itself (built by default) is not what they link, as they link
# its copy compiled with the fuzzer's coverage instrumentation (tests/fuzz/meson.build).
fuzz_exes=()
for t in "${targets[@]}"; do fuzz_exes+=("tests/fuzz/fuzz_$t"); done
meson compile -C "$build" "${fuzz_exes[@]}"

# fuzz_one TARGET: runs one target for its time and writes its summary line to
# $build/fuzz-TARGET.summary; returns libFuzzer's exit code.
fuzz_one() {
  local t=$1 work="$build/corpus/$1" findings="$build/findings/$1" log="$build/fuzz-$1.log" rc=0
  mkdir -p "$work" "$findings" "$TMPDIR"
  local dirs=("$work" "tests/fuzz/corpus/$t")
  if [ -d "tests/fuzz/regressions/$t" ]; then dirs+=("tests/fuzz/regressions/$t"); fi
  echo "== fuzz $t: ${seconds}s, max_len ${max_len[$t]} (log: $log)"
  nice -n "$nice_level" "$build/tests/fuzz/fuzz_$t" \
    -max_total_time="$seconds" -max_len="${max_len[$t]}" -rss_limit_mb=1024 -malloc_limit_mb=256 -timeout=10 \
    -dict=tests/fuzz/minilm.dict -artifact_prefix="$findings/" -print_final_stats=1 -print_pcs=0 \
    "${dirs[@]}" >"$log" 2>&1 || rc=$?
  local runs elapsed n_findings
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  elapsed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
  n_findings=$(find "$findings" -type f | wc -l)
  echo "fuzz $t: ${elapsed:-?} s, ${runs:-?} executions, exit $rc, $n_findings finding(s) in $findings" >"$build/fuzz-$t.summary"
  return $rc
}

# The targets run side by side, one per core (each is one process with its own corpus folder),
# so every target still gets its full time.
jobs=${MINILM_FUZZ_JOBS:-$(nproc)}
declare -A pid_of=()
for t in "${targets[@]}"; do
  while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$t" &
  pid_of[$t]=$!
done
summary=()
for t in "${targets[@]}"; do
  rc=0
  wait "${pid_of[$t]}" || rc=$?
  if [ "$rc" != 0 ]; then
    status=1
    tail -n 60 "$build/fuzz-$t.log" >&2
  fi
  summary+=("$(cat "$build/fuzz-$t.summary")")
  printf '{"name": "fuzz_%s", "result": "%s"}\n' "$t" "$([ "$rc" = 0 ] && echo OK || echo FAIL)" >>"$results"
done
rm -rf "$TMPDIR"
printf '%s\n' "${summary[@]}"
exit $status
