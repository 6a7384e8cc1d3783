// The dense kernel (src/gemm.hpp) against Eigen's GEMM on the model's layer shapes, and the int8
// kernel (dense_i8) beside them:
// m tokens (12: one query; 512; 4096: 32 x 128) through [384 -> 384] (query, key, value, attention
// output), [384 -> 1536] (intermediate) and [1536 -> 384] (output), on 1 and 2 threads.
// Counter GFLOP/s = 2 m n k per second (bias included in the timing, not the count): CPU seconds
// of the benchmark thread on 1 thread, wall-clock seconds on 2.
//
//   build-perf/bench/micro/bench_gemm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>

#include "gemm_common.hpp"

namespace {

using namespace bench_gemm;

// Arguments: m, n (outputs), k (inputs), threads, engine (0: minilm's best ISA, 1: Eigen,
// 2: minilm's AVX2 code, 3: minilm's scalar code), gelu.
void bm_dense(benchmark::State& state) {
  const auto m = std::size_t(state.range(0)), n = std::size_t(state.range(1)), k = std::size_t(state.range(2));
  const auto threads = std::size_t(state.range(3));
  const auto engine = state.range(4);
  const bool gelu = state.range(5) != 0;
  auto isa = minilm::detail::best_gemm_isa();
  if (engine == 2) isa = minilm::detail::gemm_isa::avx2;
  if (engine == 3) isa = minilm::detail::gemm_isa::scalar;
  if (engine != 1 && !minilm::detail::gemm_isa_supported(isa)) {
    state.SkipWithError("instruction set not supported here");
    return;
  }
  operands o(m, n, k);
  thread_pool& pool = pool_of(threads);
  for (auto _ : state) {
    if (engine == 1) {
      run_eigen(o, pool);
    } else {
      run_minilm(o, pool, isa, gelu);
    }
    benchmark::DoNotOptimize(o.y);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(o.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(engine == 1 ? "eigen" : std::string("minilm-") + minilm::detail::gemm_isa_name(isa) + (gelu ? "+gelu" : ""));
}

template <long threads>
void layer_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n", "k", "threads", "engine", "gelu"});
  for (long m : {12, 512, 4096}) {
    for (auto [n, k] : {std::pair{384L, 384L}, {1536L, 384L}, {384L, 1536L}}) {
      for (long engine : {0, 1}) b->Args({m, n, k, threads, engine, 0});
    }
  }
  // The intermediate layer with GELU fused, to show what the epilogue costs.
  for (long m : {12, 4096}) b->Args({m, 1536, 384, threads, 0, 1});
}

// One thread: rates per CPU second of the benchmark thread, which time slicing on a shared
// machine does not inflate. Two threads: per wall-clock second.
BENCHMARK(bm_dense)->Apply(layer_shapes<1>)->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_dense)->Apply(layer_shapes<2>)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The int8 kernel (dense_i8) on the same shapes, each SIMD kernel this processor runs (the F32
// kernel's cases above are the yardstick). Counter GOP/s = 2 m n k per second, as GFLOP/s above;
// the quantization of x is in the timing.
// Arguments: m, n, k, threads, kernel (minilm::detail::i8_kernel: 1 avx2, 2 avx_vnni,
// 3 avx512_vnni, 4 neon, 5 neon_dot), gelu.
void bm_dense_i8(benchmark::State& state) {
  const auto m = std::size_t(state.range(0)), n = std::size_t(state.range(1)), k = std::size_t(state.range(2));
  const auto threads = std::size_t(state.range(3));
  const auto kernel = static_cast<minilm::detail::i8_kernel>(state.range(4));
  const bool gelu = state.range(5) != 0;
  if (!minilm::detail::i8_kernel_supported(kernel)) {
    state.SkipWithError("kernel not supported here");
    return;
  }
  operands_i8 o(m, n, k);
  thread_pool& pool = pool_of(threads);
  for (auto _ : state) {
    run_minilm_i8(o, pool, kernel, gelu);
    benchmark::DoNotOptimize(o.y);
    benchmark::ClobberMemory();
  }
  state.counters["GOP/s"] = benchmark::Counter(o.ops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string("minilm-i8-") + minilm::detail::i8_kernel_name(kernel) + (gelu ? "+gelu" : ""));
}

template <long threads>
void layer_shapes_i8(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n", "k", "threads", "kernel", "gelu"});
  for (long m : {12, 4096}) {
    for (auto [n, k] : {std::pair{384L, 384L}, {1536L, 384L}, {384L, 1536L}}) {
      for (auto kernel : {minilm::detail::i8_kernel::avx2, minilm::detail::i8_kernel::avx_vnni,
                          minilm::detail::i8_kernel::avx512_vnni, minilm::detail::i8_kernel::neon,
                          minilm::detail::i8_kernel::neon_dot}) {
        if (minilm::detail::i8_kernel_supported(kernel)) b->Args({m, n, k, threads, long(kernel), 0});
      }
    }
  }
  for (long m : {12, 4096}) b->Args({m, 1536, 384, threads, long(minilm::detail::best_i8_kernel()), 1});
}

BENCHMARK(bm_dense_i8)->Apply(layer_shapes_i8<1>)->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_dense_i8)->Apply(layer_shapes_i8<2>)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
