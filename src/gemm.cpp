// The dense kernel (gemm.hpp): one body (gemm_kernel.inc) compiled once per instruction set,
// chosen at run time on x86-64 so that a portable build still runs the widest vectors the
// processor has.

#include "minilm/detail/gemm.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstring>

#if defined(MINILM_GEMM_EMULATE_SIMD)
// Test builds only: the AVX2, AVX-512 and NEON code compiled over SIMDe's portable versions of
// the intrinsics (Debian package libsimde-dev), so that every path's logic (tiles, edges, masks,
// lane reductions) is tested on any x86-64 processor. SIMDe may round a fused multiply-add
// twice, so emulated results are only compared within the tolerance, never bitwise to hardware.
// See tests/test_gemm.cpp for the command.
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#include <simde/x86/avx512.h>
#define MINILM_GEMM_X86 1
#define MINILM_GEMM_NEON 1
#elif (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MINILM_GEMM_X86 1
#include <immintrin.h>
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define MINILM_GEMM_NEON 1
#include <arm_neon.h>
#endif

// Compiles the functions between PUSH and POP for an instruction set the build's baseline may
// lack (they only run after gemm_isa_supported() said yes).
#if defined(MINILM_GEMM_EMULATE_SIMD)
#define MINILM_TARGET_PUSH_AVX2
#define MINILM_TARGET_PUSH_AVX512
#define MINILM_TARGET_POP
#elif defined(__clang__)
#define MINILM_TARGET_PUSH_AVX2 _Pragma("clang attribute push(__attribute__((target(\"avx2,fma\"))), apply_to = function)")
#define MINILM_TARGET_PUSH_AVX512 \
  _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx2,fma\"))), apply_to = function)")
#define MINILM_TARGET_POP _Pragma("clang attribute pop")
#elif defined(__GNUC__)
#define MINILM_TARGET_PUSH_AVX2 _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")")
#define MINILM_TARGET_PUSH_AVX512 _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx2,fma\")")
#define MINILM_TARGET_POP _Pragma("GCC pop_options")
#endif

MINILM_BEGIN_NAMESPACE
namespace detail {

// What each V (the kernel's vector type) provides:
//   reg, width        a vector of `width` floats; the kernel's accumulators
//   mr, nr            the register tile: mr rows of x by nr (<= 4) rows of W
//   zero, load, load_part(p, n) (the first n floats, zeros after), fma(a, b, c) = a * b + c
//   reduce4(a, b, c, d)  a quad of the four vectors' lane sums, by a tree fixed per V
//   quad              four floats: one tile row of outputs, for the epilogue
//   q_set1, q_add, q_mul, q_fma, q_min, q_max, q_div, q_load(p, n), q_store(p, n, v) (n <= 4)
//   exact_erf, q_erf  whether GELU uses the C library's erf (the scalar code) or erf_rational

// ---- Scalar: one float per "vector"; the reference for targets without SIMD code.
namespace gemm_scalar {
struct V {
  using reg = float;
  static constexpr std::size_t width = 1;
  static constexpr int mr = 3, nr = 4;
  static constexpr bool exact_erf = true;
  static reg zero() { return 0.0f; }
  static reg load(const float* p) { return *p; }
  static reg load_part(const float* p, int) { return *p; }
  static reg fma(reg a, reg b, reg c) { return a * b + c; }
  static reg pin(reg a) { return a; }

  struct quad {
    float v[4];
  };
  static quad reduce4(reg a, reg b, reg c, reg d) { return {{a, b, c, d}}; }
  static quad q_set1(float s) { return {{s, s, s, s}}; }
  template <typename F>
  static quad map(quad a, quad b, F f) {
    for (int l = 0; l < 4; ++l) a.v[l] = f(a.v[l], b.v[l]);
    return a;
  }
  static quad q_add(quad a, quad b) { return map(a, b, [](float s, float t) { return s + t; }); }
  static quad q_mul(quad a, quad b) { return map(a, b, [](float s, float t) { return s * t; }); }
  static quad q_min(quad a, quad b) { return map(a, b, [](float s, float t) { return std::min(s, t); }); }
  static quad q_max(quad a, quad b) { return map(a, b, [](float s, float t) { return std::max(s, t); }); }
  static quad q_div(quad a, quad b) { return map(a, b, [](float s, float t) { return s / t; }); }
  static quad q_fma(quad a, quad b, quad c) { return q_add(q_mul(a, b), c); }
  static quad q_erf(quad a) {
    for (float& s : a.v) s = std::erf(s);
    return a;
  }
  static quad q_load(const float* p, int n) {
    quad q{};
    std::memcpy(q.v, p, sizeof(float) * static_cast<std::size_t>(n));
    return q;
  }
  static void q_store(float* p, int n, quad q) { std::memcpy(p, q.v, sizeof(float) * static_cast<std::size_t>(n)); }
};
#include "gemm_kernel.inc"
}  // namespace gemm_scalar

#if MINILM_GEMM_X86
namespace {
// _mm256_maskload_ps masks: the first n of 8 lanes, read at tail_mask_bits + 8 - n.
alignas(64) const int tail_mask_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
}  // namespace

MINILM_TARGET_PUSH_AVX2
namespace gemm_avx2 {
// The epilogue's quad (one __m128) and the lane reduction, shared with AVX-512.
struct quad_ops {
  using quad = __m128;
  static constexpr bool exact_erf = false;
  static quad q_erf(quad a) { return a; }  // unused: exact_erf is false
  static quad q_set1(float s) { return _mm_set1_ps(s); }
  static quad q_add(quad a, quad b) { return _mm_add_ps(a, b); }
  static quad q_mul(quad a, quad b) { return _mm_mul_ps(a, b); }
  static quad q_fma(quad a, quad b, quad c) { return _mm_fmadd_ps(a, b, c); }
  static quad q_min(quad a, quad b) { return _mm_min_ps(a, b); }
  static quad q_max(quad a, quad b) { return _mm_max_ps(a, b); }
  static quad q_div(quad a, quad b) { return _mm_div_ps(a, b); }
  static quad q_load(const float* p, int n) {
    if (n == 4) return _mm_loadu_ps(p);
    alignas(16) float t[4] = {};
    std::memcpy(t, p, sizeof(float) * static_cast<std::size_t>(n));
    return _mm_load_ps(t);
  }
  static void q_store(float* p, int n, quad q) {
    if (n == 4) return _mm_storeu_ps(p, q);
    alignas(16) float t[4];
    _mm_store_ps(t, q);
    std::memcpy(p, t, sizeof(float) * static_cast<std::size_t>(n));
  }
  // Lane l of the result: ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])), v the
  // l-th argument (_mm256_hadd_ps adds neighbours within each 128-bit half).
  static quad reduce8x4(__m256 a, __m256 b, __m256 c, __m256 d) {
    const __m256 sums = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(sums), _mm256_extractf128_ps(sums, 1));
  }
};

struct V : quad_ops {
  using reg = __m256;
  static constexpr std::size_t width = 8;
  // 12 accumulators + 3 rows of x in 16 ymm registers; W comes in as a memory operand.
  static constexpr int mr = 3, nr = 4;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg load_part(const float* p, int n) {
    return _mm256_maskload_ps(p, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tail_mask_bits + 8 - n)));
  }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  // Keeps a loaded vector in a register for all its uses: tuned for some processors
  // (-march=znver3), GCC otherwise folds the load into every fused multiply-add that uses it,
  // which doubles the loads and halves the speed.
  static reg pin(reg a) {
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+x"(a));
#endif
    return a;
  }
  static quad reduce4(reg a, reg b, reg c, reg d) { return reduce8x4(a, b, c, d); }
};
#include "gemm_kernel.inc"
}  // namespace gemm_avx2
MINILM_TARGET_POP

MINILM_TARGET_PUSH_AVX512
namespace gemm_avx512 {
struct V : gemm_avx2::quad_ops {
  using reg = __m512;
  static constexpr std::size_t width = 16;
  // 16 accumulators + 4 rows of x, of 32 zmm registers.
  static constexpr int mr = 4, nr = 4;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg load_part(const float* p, int n) {
#if defined(MINILM_GEMM_EMULATE_SIMD)  // SIMDe 0.7 has no _mm512_maskz_loadu_ps
    alignas(64) float t[16] = {};
    std::memcpy(t, p, sizeof(float) * static_cast<std::size_t>(n));
    return _mm512_load_ps(t);
#else
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
#endif
  }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg pin(reg a) {  // as in gemm_avx2
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+v"(a));
#endif
    return a;
  }
  static __m256 halves(reg a) {
    // Not _mm512_castps512_ps256 / _mm512_extractf64x4_pd: GCC 12's header makes every use of
    // those warn (-Wmaybe-uninitialized, GCC bug 105593).
#if defined(MINILM_GEMM_EMULATE_SIMD)
    alignas(64) float t[16];
    _mm512_store_ps(t, a);
    const __m256 low = _mm256_load_ps(t), high = _mm256_load_ps(t + 8);
#else
    const __m256 low = __builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 high = __builtin_shufflevector(a, a, 8, 9, 10, 11, 12, 13, 14, 15);
#endif
    return _mm256_add_ps(low, high);
  }
  // v[i] + v[i + 8] first, then the AVX2 tree.
  static quad reduce4(reg a, reg b, reg c, reg d) { return reduce8x4(halves(a), halves(b), halves(c), halves(d)); }
};
#include "gemm_kernel.inc"
}  // namespace gemm_avx512
MINILM_TARGET_POP
#endif  // MINILM_GEMM_X86

#if MINILM_GEMM_NEON
namespace gemm_neon {
struct V {
  using reg = float32x4_t;
  using quad = float32x4_t;
  static constexpr std::size_t width = 4;
  // 16 accumulators + 4 rows of x, of 32 q registers.
  static constexpr int mr = 4, nr = 4;
  static constexpr bool exact_erf = false;
  static reg zero() { return vdupq_n_f32(0.0f); }
  static reg load(const float* p) { return vld1q_f32(p); }
  static reg load_part(const float* p, int n) {
    float t[4] = {};
    std::memcpy(t, p, sizeof(float) * static_cast<std::size_t>(n));
    return vld1q_f32(t);
  }
  static reg fma(reg a, reg b, reg c) { return vfmaq_f32(c, a, b); }
  static reg pin(reg a) {  // as in gemm_avx2
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+w"(a));
#endif
    return a;
  }
  // Lane l of the result: (v[0] + v[1]) + (v[2] + v[3]), v the l-th argument.
  static quad reduce4(reg a, reg b, reg c, reg d) { return vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d)); }
  static quad q_erf(quad a) { return a; }  // unused: exact_erf is false
  static quad q_set1(float s) { return vdupq_n_f32(s); }
  static quad q_add(quad a, quad b) { return vaddq_f32(a, b); }
  static quad q_mul(quad a, quad b) { return vmulq_f32(a, b); }
  static quad q_fma(quad a, quad b, quad c) { return vfmaq_f32(c, a, b); }
  static quad q_min(quad a, quad b) { return vminq_f32(a, b); }
  static quad q_max(quad a, quad b) { return vmaxq_f32(a, b); }
#if defined(MINILM_GEMM_EMULATE_SIMD)  // SIMDe 0.7 has no vdivq_f32
  static quad q_div(quad a, quad b) {
    float s[4], t[4];
    vst1q_f32(s, a);
    vst1q_f32(t, b);
    for (int l = 0; l < 4; ++l) s[l] /= t[l];
    return vld1q_f32(s);
  }
#else
  static quad q_div(quad a, quad b) { return vdivq_f32(a, b); }
#endif
  static quad q_load(const float* p, int n) { return load_part(p, n); }
  static void q_store(float* p, int n, quad q) {
    float t[4];
    vst1q_f32(t, q);
    std::memcpy(p, t, sizeof(float) * static_cast<std::size_t>(n));
  }
};
#include "gemm_kernel.inc"
}  // namespace gemm_neon
#endif

namespace {

using block_fn = void (*)(const dense_args&, std::size_t, std::size_t, std::size_t, std::size_t);

struct isa_kernel {
  block_fn block;
  std::size_t mr, nr;
};

isa_kernel kernel_for(gemm_isa isa) {
  switch (isa) {
#if MINILM_GEMM_X86
    case gemm_isa::avx2:
      return {gemm_avx2::block, gemm_avx2::V::mr, gemm_avx2::V::nr};
    case gemm_isa::avx512:
      return {gemm_avx512::block, gemm_avx512::V::mr, gemm_avx512::V::nr};
#endif
#if MINILM_GEMM_NEON
    case gemm_isa::neon:
      return {gemm_neon::block, gemm_neon::V::mr, gemm_neon::V::nr};
#endif
    default:
      return {gemm_scalar::block, gemm_scalar::V::mr, gemm_scalar::V::nr};
  }
}

std::size_t round_up(std::size_t v, std::size_t to) { return (v + to - 1) / to * to; }

}  // namespace

bool gemm_isa_supported(gemm_isa isa) noexcept {
#if defined(MINILM_GEMM_EMULATE_SIMD)
  return isa == gemm_isa::scalar || isa == gemm_isa::avx2 || isa == gemm_isa::avx512 || isa == gemm_isa::neon;
#endif
  switch (isa) {
    case gemm_isa::scalar:
      return true;
#if MINILM_GEMM_X86 && !defined(MINILM_GEMM_EMULATE_SIMD)
    case gemm_isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case gemm_isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#if MINILM_GEMM_NEON && !defined(MINILM_GEMM_EMULATE_SIMD)
    case gemm_isa::neon:
      return true;
#endif
    default:
      return false;
  }
}

gemm_isa best_gemm_isa() noexcept {
  static const gemm_isa best = [] {
    for (gemm_isa isa : {gemm_isa::avx512, gemm_isa::avx2, gemm_isa::neon}) {
      if (gemm_isa_supported(isa)) return isa;
    }
    return gemm_isa::scalar;
  }();
  return best;
}

const char* gemm_isa_name(gemm_isa isa) noexcept {
  switch (isa) {
    case gemm_isa::scalar:
      return "scalar";
    case gemm_isa::avx2:
      return "avx2";
    case gemm_isa::avx512:
      return "avx512";
    case gemm_isa::neon:
      return "neon";
  }
  return "?";
}

void dense(const dense_args& a, thread_pool& pool) { dense(a, pool, best_gemm_isa()); }

void dense(const dense_args& a, thread_pool& pool, gemm_isa isa) {
  assert(gemm_isa_supported(isa));
  assert(a.ldx >= a.k && a.ldy >= a.n && (!a.residual || a.ldr >= a.n));
  if (a.m == 0 || a.n == 0) return;
  const isa_kernel kernel = kernel_for(isa);

  // Row blocks: as many rows of x as fit in about 256 KiB (a share of L2), in whole register
  // tiles, then evened out so that the last block is not a sliver.
  const std::size_t row_bytes = std::max<std::size_t>(a.k, 1) * sizeof(float);
  std::size_t rows = std::max(kernel.mr, (std::size_t{256} << 10) / row_bytes / kernel.mr * kernel.mr);
  const std::size_t n_row_blocks = (a.m + rows - 1) / rows;
  rows = std::min(rows, round_up((a.m + n_row_blocks - 1) / n_row_blocks, kernel.mr));

  // With several threads, about four tasks per thread (so that a thread slowed down by other
  // load hands work over); when there are too few row blocks for that, output features are
  // split too: for a handful of rows that is the only parallelism, and each thread then reads
  // its own part of W, the part of the work that dominates.
  const std::size_t n_threads = pool.size();
  std::size_t cols = a.n;
  if (n_threads > 1 && n_row_blocks < 4 * n_threads) {
    const std::size_t n_col_blocks = (4 * n_threads + n_row_blocks - 1) / n_row_blocks;
    cols = std::max(kernel.nr, round_up((a.n + n_col_blocks - 1) / n_col_blocks, kernel.nr));
  }
  const std::size_t n_col_blocks = (a.n + cols - 1) / cols;
  const std::size_t n_rb = (a.m + rows - 1) / rows;

  pool.run(n_rb * n_col_blocks, [&](std::size_t task, std::size_t) {
    const std::size_t rb = task / n_col_blocks, cb = task % n_col_blocks;
    kernel.block(a, rb * rows, std::min(a.m, (rb + 1) * rows), cb * cols, std::min(a.n, (cb + 1) * cols));
  });
}

}  // namespace detail
MINILM_END_NAMESPACE
