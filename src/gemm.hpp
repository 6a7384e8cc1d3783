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
#include <cstdint>
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

// ---- The int8 product: int8 weights with one scale per output channel, activations quantized
// per row (token) as they are read.
//
//   detail::dense_i8_args a;
//   a.x = x; a.ldx = k;                              // x is (m, k), F32
//   a.w = lw.weight_i8; a.w_scale = lw.weight_scale; // W is (n, k) int8, a scale per row of W
//   a.bias = lw.bias; a.y = y; a.ldy = n;            // y is (m, n)
//   a.m = m; a.n = n; a.k = k;
//   detail::dense_i8(a, pool);
//
// What it computes, exactly, for each row i of x and output j:
//   amax = max over p < k of |x[i*ldx + p]|
//   amax == 0: sx = 0 and q[p] = 0
//   else:      inv = 127.0f / amax (FLT_MAX if that overflows, which only a row with
//              amax < 3.7e-37 makes it), sx = amax / 127.0f,
//              q[p] = clamp(nearbyint(x[i*ldx + p] * inv), -127, 127)   (ties to even)
//   acc = sum over p < k of q[p] * w[j*ldw + p]   in integers, exact for every byte of W, -128
//                                                 included (k <= 131072 keeps it within int32)
//   v = float(acc) * (sx * w_scale[j])            (float operations, each rounded: never fused)
//   t = 0; t = fma(outliers[i*n_outliers + o], outlier_w[j*n_outliers + o], t) for o < n_outliers
//   v = v + t                       if n_outliers (F32 channels beside the int8 ones; fma as the
//                                   F32 kernel's of the same family: fused in the SIMD code)
//   v = v + bias[j]                 if bias
//   v = GELU(v)                     if gelu: the F32 kernel's GELU (dense_args) of the same
//                                   instruction-set family (scalar; AVX2 and AVX-VNNI; AVX-512;
//                                   NEON and its dot product)
//   v = v + residual[i*ldr + j]     if residual
//   y[i*ldy + j] = v
// Every step is exact or one rounded float operation fixed by the row and j alone, so every
// kernel gives the same bits when gelu is false (with gelu, the same bits as the F32 kernel's
// GELU of its family), and a row's result does not depend on m, on its place among the rows or
// on the thread count. For x that is not finite (weights that overflow) the result is not
// specified, but nothing undefined happens.
//
// W is read in place, at any alignment and row stride, and nothing is computed from it ahead
// of the call: the weights stay shared between processes. How: each thread quantizes a block of rows of x
// into a buffer, in panels of a few vectors of rows with four consecutive bytes of a row in each
// 32-bit lane (the layout of the dot-product instructions); a tile of W's rows stays in L1 while
// it meets every panel: four bytes of a row of W are broadcast and multiplied into the panel's
// lanes, four products summed into each lane. With AVX-VNNI / AVX512-VNNI (vpdpbusd: unsigned
// bytes times signed bytes) the unsigned operand is the panel's q + 128, and 128 * (the sum of
// W's row, computed per call for each tile) is subtracted from the lane at the end; AVX2 without VNNI multiplies |W| by q with W's sign
// (vpsignb, vpmaddubsw: two products of at most 128 * 127 per 16-bit sum, which cannot
// saturate, then vpmaddwd into 32 bits); NEON multiplies with vmull_s8 and adds pairs with
// vpadalq_s16, or uses sdot (vdotq_s32) where the processor has it.

// The int8 kernels (a run-time choice, like gemm_isa).
enum class i8_kernel { scalar, avx2, avx_vnni, avx512_vnni, neon, neon_dot };

struct dense_i8_args {
  const float* x = nullptr;          // (m, k) F32: row i at x + i*ldx, contiguous along k
  const std::int8_t* w = nullptr;    // (n, k) int8: row j at w + j*ldw, contiguous; any alignment
  const float* w_scale = nullptr;    // (n) scale of each row of W
  const float* bias = nullptr;       // (n) or nullptr
  const float* residual = nullptr;   // (m, n), row stride ldr, or nullptr; may be y itself (ldr = ldy)
  float* y = nullptr;                // (m, n), row stride ldy; must not overlap x or W
  std::size_t m = 0, n = 0, k = 0;  // k <= 131072
  std::size_t ldx = 0;
  std::size_t ldw = 0;  // 0: k
  std::size_t ldr = 0, ldy = 0;
  bool gelu = false;
  const float* outliers = nullptr;   // (m, n_outliers), rows contiguous: input channels kept in F32
  const float* outlier_w = nullptr;  // (n, n_outliers), rows contiguous: their weights
  std::size_t n_outliers = 0;
};

// Runs on every thread of pool, split as dense() splits (output features for a few rows, blocks
// of rows for many). Uses best_i8_kernel().
void dense_i8(const dense_i8_args& a, thread_pool& pool);
// The same with a chosen kernel, which must be supported (for tests and benchmarks).
void dense_i8(const dense_i8_args& a, thread_pool& pool, i8_kernel kernel);

// Whether this build carries the kernel and this processor runs it.
bool i8_kernel_supported(i8_kernel kernel) noexcept;
// The one dense_i8() uses, in the family of best_gemm_isa() (so MINILM_ISA chooses it too):
// scalar: scalar; avx2: avx_vnni where the processor has AVX-VNNI, else avx2; avx512:
// avx512_vnni where it has AVX512-VNNI and AVX512-BW, else the avx2 family's; neon: neon_dot
// where it has the dot product instructions, else neon.
i8_kernel best_i8_kernel() noexcept;
const char* i8_kernel_name(i8_kernel kernel) noexcept;

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
