// minilm/detail/gemm.hpp: the dense layers' matrix product, y = x * W^T + b, with optional GELU
// and residual add fused into the store.
//
//   detail::dense_args a;
//   a.x = x; a.ldx = k;                // x is (m, k)
//   a.w = lw.weight; a.bias = lw.bias; // W is (n, k) row-major, PyTorch's nn.Linear layout
//   a.y = y; a.ldy = n;                // y is (m, n)
//   a.m = m; a.n = n; a.k = k;
//   detail::dense(a, pool);
//
// W is read in place (it may sit in a read-only mapping at any 4-byte alignment); nothing is
// copied or repacked, so mapped weights stay shared between processes.
//
// Why W is not packed: both operands of x * W^T are contiguous along k, so each output is a dot
// product of two contiguous rows. The kernel keeps a tile of mr rows of x by nr rows of W in
// vector registers, each accumulator summing the products whose index p falls in its lane
// (p mod the vector width), and reduces the lanes with one fixed tree at the end.
//
// Determinism: every output y[i, j] is computed by the same sequence of operations, fixed by k,
// the vector width and the instruction set alone: lane-wise fused multiply-adds over p in
// increasing order, the same lane-reduction tree, then + b[j], GELU, + residual[i, j]. The
// blocking, the tile an element lands in (full or edge), the thread that runs it and the split
// between threads change which elements are computed together, never how one is computed. So a
// row's result is bitwise the same whatever m is, wherever the row sits among the m rows, and
// whatever the thread count. (Different instruction sets may differ in the last bits.)
#pragma once

#include <cstddef>

#include "../version.hpp"
#include "thread_pool.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// The instruction sets the kernel is compiled for. x86-64 builds carry scalar, AVX2+FMA and
// AVX-512F code side by side and pick one at run time (no -march flag needed); AArch64 builds
// use NEON; other targets use the scalar code.
enum class gemm_isa { scalar, avx2, avx512, neon };

// What dense() computes: for i < m and j < n,
//   v = sum over p < k of x[i*ldx + p] * w[j*k + p]  (in the order described above)
//   v = v + bias[j]                 if bias
//   v = 0.5 v (1 + erf(v / sqrt 2)) if gelu (the SIMD code computes erf as Eigen's
//                                   generic_fast_erf_float does, the scalar code with std::erf;
//                                   either is within 1e-6 of the exact GELU: tests/test_gemm.cpp)
//   v = v + residual[i*ldr + j]     if residual
//   y[i*ldy + j] = v
// residual may be y itself (same pointer and stride); x must not overlap y.
struct dense_args {
  const float* x = nullptr;         // (m, k), row stride ldx
  const float* w = nullptr;         // (n, k), row stride k
  const float* bias = nullptr;      // (n) or nullptr
  const float* residual = nullptr;  // (m, n), row stride ldr, or nullptr
  float* y = nullptr;               // (m, n), row stride ldy
  std::size_t m = 0, n = 0, k = 0;
  std::size_t ldx = 0, ldr = 0, ldy = 0;
  bool gelu = false;
};

// Runs on every thread of pool (a pool of size 1 runs on the calling thread only): output
// features are split between threads when m is small (reading W dominates there), blocks of
// rows when m is large. Uses best_gemm_isa().
void dense(const dense_args& a, thread_pool& pool);

// The same with a chosen instruction set, which must be supported (for tests and benchmarks).
void dense(const dense_args& a, thread_pool& pool, gemm_isa isa);

// Whether this build carries isa and this processor runs it.
bool gemm_isa_supported(gemm_isa isa) noexcept;
// The fastest supported one (AVX-512F, then AVX2+FMA, then scalar, on x86-64).
gemm_isa best_gemm_isa() noexcept;
const char* gemm_isa_name(gemm_isa isa) noexcept;

}  // namespace detail
MINILM_END_NAMESPACE
