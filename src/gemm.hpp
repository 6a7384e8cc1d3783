// src/gemm.hpp: the dense layers' matrix product, y = x * W^T + b, with optional GELU
// and residual add fused into the store.
//
//   detail::dense_args a;
//   a.x = x; a.ldx = k;                // x is (m, k)
//   a.w = lw.weight; a.bias = lw.bias; // W is (n, k) row-major, PyTorch's nn.Linear layout
//   a.y = y; a.ldy = n;                // y is (m, n)
//   a.m = m; a.n = n; a.k = k;
//   detail::dense(a, pool);
//
// W is read in place (it may sit in a read-only mapping at any 4-byte alignment, and its rows
// and columns may have any stride, so a transposed matrix or one head's columns are used as they
// lie); nothing of W is copied or repacked, so mapped weights stay shared between processes.
//
// How: each output is a chain of fused multiply-adds over k. The kernel copies a block of rows
// of x, transposed, into a per-thread buffer (panels of a few vector widths of rows, each
// column p of the panel contiguous), then for a tile of a few rows of W, broadcasts W[j, p] and
// multiplies it into a vector of x[i.., p] for consecutive i: y[i.., j] += x[i.., p] * W[j, p]
// for p = 0, 1, ..., k - 1. The tile of W stays in L1 while it meets every panel of the block;
// the block stays in L2.
//
// Determinism: every output y[i, j] is computed by the same sequence of operations, fixed by k
// and the instruction set alone: v = 0, then v = fma(x[i, p], W[j, p], v) for p in increasing
// order, then + b[j], GELU, + residual[i, j]. The blocking, the tile and the lane an element lands
// in, the thread that runs it and the split between threads change which elements are computed
// together, never how one is computed. So a row's result is bitwise the same whatever m is,
// wherever the row sits among the m rows, and whatever the thread count. (Different
// instruction sets may differ in the last bits.)
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "minilm/version.hpp"
#include "thread_pool.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// The instruction sets the kernel is compiled for. x86-64 builds carry scalar, AVX2+FMA and
// AVX-512F code side by side and pick one at run time (no -march flag needed); AArch64 builds
// use NEON; other targets use the scalar code.
enum class gemm_isa { scalar, avx2, avx512, neon };

// What dense() computes: for i < m and j < n,
//   v = sum over p < k of x[i*ldx + p*incx] * w[j*ldw + p*incw]  (in the order described above)
//   v = v + bias[j]                 if bias
//   v = 0.5 v (1 + erf(v / sqrt 2)) if gelu (the SIMD code computes erf as Eigen's
//                                   generic_fast_erf_float does, the scalar code with std::erf;
//                                   either is within 1e-6 of the exact GELU: tests/test_gemm.cpp)
//   v = v + residual[i*ldr + j]     if residual
//   y[i*ldy + j*incy] = v
// residual may be y itself (same pointer and strides); x must not overlap y. With ldy = 1 (y
// column-major: a column of outputs contiguous) and no residual, whole vectors are stored.
struct dense_args {
  const float* x = nullptr;         // (m, k): element (i, p) at x[i*ldx + p*incx]
  const float* w = nullptr;         // (n, k): element (j, p) at w[j*ldw + p*incw]
  const float* bias = nullptr;      // (n) or nullptr
  const float* residual = nullptr;  // (m, n), row stride ldr, or nullptr
  float* y = nullptr;               // (m, n): element (i, j) at y[i*ldy + j*incy]
  std::size_t m = 0, n = 0, k = 0;
  std::size_t ldx = 0, ldr = 0, ldy = 0;
  std::size_t ldw = 0;   // 0: k (W's rows contiguous, one after the other)
  std::size_t incw = 1;  // 1: each row of W contiguous; hidden, say, for a transposed slice
  std::size_t incx = 1, incy = 1;
  bool gelu = false;
};

// Runs on every thread of pool (a pool of size 1 runs on the calling thread only): output
// features are split between threads when m is small (reading W dominates there), blocks of
// rows when m is large. Uses best_gemm_isa().
void dense(const dense_args& a, thread_pool& pool);

// The same with a chosen instruction set, which must be supported (for tests and benchmarks).
void dense(const dense_args& a, thread_pool& pool, gemm_isa isa);

// Attention's softmax, on the same instruction sets: for each column c < cols of s (rows, cols),
// row stride ld, with x_j = scale * s[j*ld + c]:
//   s[j*ld + c] = exp(x_j - max_j x_j) / sum_j exp(x_j - max_j x_j)
// the sum taken over j in order. exp is Cephes' expf in the SIMD code (within 2 ulp of e^x;
// tests/test_gemm.cpp), the C library's in the scalar code. Every column takes the same
// operations wherever it sits, so a column's result depends on its own values alone.
void softmax_columns(float* s, std::size_t ld, std::size_t rows, std::size_t cols, float scale);
void softmax_columns(float* s, std::size_t ld, std::size_t rows, std::size_t cols, float scale, gemm_isa isa);

// Whether this build carries isa and this processor runs it.
bool gemm_isa_supported(gemm_isa isa) noexcept;
// The one dense() uses: the kernel MINILM_ISA names, when it is set and supported (for tests
// and bug reports); else the fastest supported one (AVX-512F, then AVX2+FMA, then scalar, on
// x86-64). Read once.
gemm_isa best_gemm_isa() noexcept;
const char* gemm_isa_name(gemm_isa isa) noexcept;
// The instruction set called `name` ("scalar", "avx2", "avx512", "neon"), or nullopt.
std::optional<gemm_isa> gemm_isa_named(std::string_view name) noexcept;
// MINILM_ISA's kernel, nullopt when the variable is unset or empty. A name it does not know, or
// a kernel this build or processor cannot run, is errc::invalid_argument saying which ones it can.
std::optional<gemm_isa> gemm_isa_override();

}  // namespace detail
MINILM_END_NAMESPACE
