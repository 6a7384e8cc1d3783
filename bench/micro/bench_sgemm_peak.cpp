// The machine's measured sgemm peak, the yardstick for the dense layers' efficiency.
//
// How it is measured: the best GFLOP/s (2 m n k per second: CPU seconds of the benchmark
// thread on 1 thread, wall-clock seconds on 2) that any GEMM available
// to this build reaches, minilm's kernel or Eigen's, on large products where neither memory nor
// call overheads limit it: 4096 x 1536 x 384 (the intermediate layer of 32 x 128 tokens) and
// 1024 x 1024 x 1024, on 1 and 2 threads. Also reported: fma_peak, dependent-free fused
// multiply-adds on registers only with the widest vectors the build may use, the arithmetic
// ceiling no GEMM reaches, and int8_peak, its int8 counterpart (dense_i8's ceiling). OpenBLAS and
// MKL are not dependencies, so they are not measured here.
//
//   build-perf/bench/micro/bench_sgemm_peak --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

#include "gemm_common.hpp"

namespace {

using namespace bench_gemm;

// Arguments: m, n, k, threads, engine (0: minilm, 1: Eigen).
void bm_sgemm(benchmark::State& state) {
  const auto m = std::size_t(state.range(0)), n = std::size_t(state.range(1)), k = std::size_t(state.range(2));
  thread_pool& pool = pool_of(std::size_t(state.range(3)));
  const bool eigen = state.range(4) == 1;
  operands o(m, n, k);
  for (auto _ : state) {
    if (eigen) {
      run_eigen(o, pool);
    } else {
      run_minilm(o, pool, minilm::detail::best_gemm_isa());
    }
    benchmark::DoNotOptimize(o.y);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(o.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(eigen ? "eigen" : std::string("minilm-") + minilm::detail::gemm_isa_name(minilm::detail::best_gemm_isa()));
}
// One thread: rates per CPU second of the benchmark thread (time slicing on a shared machine
// does not inflate it); two threads: per wall-clock second.
BENCHMARK(bm_sgemm)
    ->ArgNames({"m", "n", "k", "threads", "engine"})
    ->ArgsProduct({{4096}, {1536}, {384}, {1}, {0, 1}})
    ->ArgsProduct({{1024}, {1024}, {1024}, {1}, {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_sgemm)
    ->ArgNames({"m", "n", "k", "threads", "engine"})
    ->ArgsProduct({{4096}, {1536}, {384}, {2}, {0, 1}})
    ->ArgsProduct({{1024}, {1024}, {1024}, {2}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// 12 independent chains of 8-float FMAs per thread: enough to cover the FMA latency on two pipes.
__attribute__((target("avx2,fma"))) float fma_loop_avx2(long iterations) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  return _mm256_cvtss_f32(s);
}

__attribute__((target("avx512f"))) float fma_loop_avx512(long iterations) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(float(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float lanes[16];  // not _mm512_reduce_add_ps: GCC 12's header warns (bug 105593)
  _mm512_store_ps(lanes, s);
  return lanes[0] + lanes[15];
}

// Arguments: threads.
void bm_fma_peak(benchmark::State& state) {
  const bool wide = __builtin_cpu_supports("avx512f");
  if (!wide && !__builtin_cpu_supports("fma")) {
    state.SkipWithError("no FMA");
    return;
  }
  const auto threads = std::size_t(state.range(0));
  constexpr long iterations = 1 << 22;
  thread_pool& pool = pool_of(threads);
  std::vector<float> sink(threads);
  for (auto _ : state) {
    pool.run(threads, [&](std::size_t t, std::size_t) {
      sink[t] = wide ? fma_loop_avx512(iterations) : fma_loop_avx2(iterations);
    });
    benchmark::DoNotOptimize(sink.data());
  }
  const double flops = double(threads) * iterations * 12 * (wide ? 16 : 8) * 2;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(wide ? "avx512 fma" : "avx2 fma");
}
BENCHMARK(bm_fma_peak)->ArgNames({"threads"})->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_fma_peak)->ArgNames({"threads"})->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// The int8 ceiling, for dense_i8: 12 independent chains of byte dot products on registers only,
// per instruction form. GOP/s counts 2 operations per multiply-add, as GFLOP/s does:
//   vpdpbusd zmm (AVX512-VNNI) 64 multiply-adds, vpdpbusd ymm (AVX-VNNI) 32, and the AVX2 pair
//   vpmaddubsw + vpmaddwd (32 multiply-adds into 8 sums; dense_i8's AVX2 kernel adds a vpsignb
//   and a vpaddd to each pair, which this does not count).
// `opaque` keeps the compiler from folding the constant operands.
template <typename V>
inline void opaque(V& v) {
  __asm__ volatile("" : "+v"(v));
}

__attribute__((target("avx512f,avx512vnni"))) int dpbusd_loop_zmm(long iterations) {
  __m512i acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(i);
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
  opaque(a);
  opaque(b);
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
  }
  __m512i s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_epi32(s, acc[i]);
  alignas(64) int lanes[16];
  _mm512_store_si512(lanes, s);
  return lanes[0] + lanes[15];
}

__attribute__((target("avx2,avxvnni"))) int dpbusd_loop_ymm(long iterations) {
  __m256i acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_epi32(i);
  __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-5);
  opaque(a);
  opaque(b);
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_dpbusd_avx_epi32(acc[i], a, b);
  }
  __m256i s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_epi32(s, acc[i]);
  return _mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7);
}

// Each chain feeds its own pairs back as the next bytes: the values are meaningless, the
// instructions are the ones that count.
__attribute__((target("avx2"))) int maddubs_loop_ymm(long iterations) {
  __m256i t[12];
  for (int i = 0; i < 12; ++i) t[i] = _mm256_set1_epi32(i);
  __m256i b = _mm256_set1_epi8(-5), ones = _mm256_set1_epi16(1);
  opaque(b);
  opaque(ones);
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) t[i] = _mm256_madd_epi16(_mm256_maddubs_epi16(t[i], b), ones);
  }
  __m256i s = t[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_epi32(s, t[i]);
  return _mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7);
}

// Arguments: threads, form (0: vpdpbusd zmm, 1: vpdpbusd ymm, 2: vpmaddubsw + vpmaddwd ymm).
void bm_int8_peak(benchmark::State& state) {
  const auto threads = std::size_t(state.range(0));
  const auto form = state.range(1);
  static const char* const names[] = {"vpdpbusd zmm", "vpdpbusd ymm (AVX-VNNI)", "vpmaddubsw+vpmaddwd ymm"};
  const bool runs = form == 0   ? __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni")
                    : form == 1 ? __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni")
                                : __builtin_cpu_supports("avx2");
  if (!runs) {
    state.SkipWithError("instructions not supported here");
    return;
  }
  constexpr long iterations = 1 << 22;
  thread_pool& pool = pool_of(threads);
  std::vector<int> sink(threads);
  for (auto _ : state) {
    pool.run(threads, [&](std::size_t t, std::size_t) {
      sink[t] = form == 0 ? dpbusd_loop_zmm(iterations) : form == 1 ? dpbusd_loop_ymm(iterations) : maddubs_loop_ymm(iterations);
    });
    benchmark::DoNotOptimize(sink.data());
  }
  const double multiply_adds = form == 0 ? 64 : 32;
  const double ops = double(threads) * iterations * 12 * multiply_adds * 2;
  state.counters["GOP/s"] = benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(names[form]);
}
BENCHMARK(bm_int8_peak)->ArgNames({"threads", "form"})->ArgsProduct({{1}, {0, 1, 2}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_int8_peak)
    ->ArgNames({"threads", "form"})
    ->ArgsProduct({{2}, {0, 1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
#endif

}  // namespace

BENCHMARK_MAIN();
