// The dense kernel (gemm.hpp): one body (gemm_kernel.inc) compiled once per instruction set,
// chosen at run time on x86-64 so that a portable build still runs the widest vectors the
// processor has.

#include "gemm.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "aligned_buffer.hpp"
#include "minilm/error.hpp"
#include "thread_exit.hpp"

#if defined(__aarch64__) && defined(__linux__) && !defined(MINILM_GEMM_EMULATE_SIMD)
#include <sys/auxv.h>  // getauxval: whether the processor has the dot product instructions
#endif

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
#include <cpuid.h>
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
// The int8 kernels' instruction sets, likewise.
#if defined(MINILM_GEMM_EMULATE_SIMD)
#define MINILM_TARGET_PUSH_AVX_VNNI
#define MINILM_TARGET_PUSH_AVX512_VNNI
#define MINILM_TARGET_PUSH_DOTPROD
#elif defined(__clang__)
#define MINILM_TARGET_PUSH_AVX_VNNI \
  _Pragma("clang attribute push(__attribute__((target(\"avxvnni,avx2,fma\"))), apply_to = function)")
#define MINILM_TARGET_PUSH_AVX512_VNNI \
  _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512bw,avx512vnni,avx2,fma\"))), apply_to = function)")
#define MINILM_TARGET_PUSH_DOTPROD _Pragma("clang attribute push(__attribute__((target(\"dotprod\"))), apply_to = function)")
#elif defined(__GNUC__)
#define MINILM_TARGET_PUSH_AVX_VNNI _Pragma("GCC push_options") _Pragma("GCC target(\"avxvnni,avx2,fma\")")
#define MINILM_TARGET_PUSH_AVX512_VNNI \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512bw,avx512vnni,avx2,fma\")")
#define MINILM_TARGET_PUSH_DOTPROD _Pragma("GCC push_options") _Pragma("GCC target(\"arch=armv8.2-a+dotprod\")")
#endif

// A hint to bring the cache line at p into every cache level, ahead of its reads.
#if defined(__GNUC__) || defined(__clang__)
#define MINILM_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define MINILM_PREFETCH(p) ((void)(p))
#endif

MINILM_BEGIN_NAMESPACE
namespace detail {

// Each instruction set's namespace defines `struct simd`, the kernel's vector type and its
// operations:
//   reg, width        a vector of `width` floats
//   nv                the widest panel of x, in vectors (panel_rows = nv * width rows)
//   accumulators      how many vector accumulators a tile keeps: nv vectors of x by
//                     accumulators / nv rows of W
//   zero, set1, load(p) (p 64-byte aligned), store(p, v) (any p), broadcast(p) (*p in every lane),
//   fma(a, b, c) = a * b + c (rounded once, but in the scalar code), add, sub, mul, min, max, div,
//   pin(v) (keeps a loaded vector in a register)
//   round (to nearest, ties to even), exp2i(n) = 2^n for whole n in [-126, 127]
//   exact_erf, erf    whether GELU uses the C library's erf (the scalar code) or erf_rational
//   exact_exp, exp    whether the softmax uses the C library's exp (the scalar code) or exp_poly
//   store_rows4       optional (gemm_kernel.inc uses it where it exists): four vectors (outputs
//                     j..j+3 of `width` rows) stored as `width` rows of four, plus the residual's
//                     when given

// 127 / amax, the factor that quantizes a row of x for dense_i8 (gemm.hpp); FLT_MAX where that
// overflows (amax < 3.7e-37), so that a zero in such a row is 0 and not 0 * inf.
inline float i8_inverse_scale(float amax) {
  const float inv = 127.0f / amax;
  return inv <= std::numeric_limits<float>::max() ? inv : std::numeric_limits<float>::max();
}

// v, as a value the compiler cannot fuse into a following addition (GCC contracts a * b + c
// into one fused multiply-add across statements when the target has one).
inline float unfused(float v) {
#if defined(MINILM_GEMM_EMULATE_SIMD)
#elif (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __asm__("" : "+x"(v));
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
  __asm__("" : "+w"(v));
#endif
  return v;
}

// ---- Scalar: one float per "vector"; the reference for targets without SIMD code.
namespace gemm_scalar {
struct simd {
  using reg = float;
  static constexpr std::size_t width = 1;
  static constexpr int nv = 4, accumulators = 16;
  static constexpr bool exact_erf = true, exact_exp = true;
  static reg zero() { return 0.0f; }
  static reg set1(float s) { return s; }
  static reg load(const float* p) { return *p; }
  static void store(float* p, reg a) { *p = a; }
  static reg broadcast(const float* p) { return *p; }
  static reg fma(reg a, reg b, reg c) { return a * b + c; }  // std::fma may be a slow library call
  static reg add(reg a, reg b) { return a + b; }
  static reg sub(reg a, reg b) { return a - b; }
  static reg mul(reg a, reg b) { return a * b; }
  static reg min(reg a, reg b) { return std::min(a, b); }
  static reg max(reg a, reg b) { return std::max(a, b); }
  static reg div(reg a, reg b) { return a / b; }
  static reg erf(reg a) { return std::erf(a); }
  static reg exp(reg a) { return std::exp(a); }
  static reg round(reg a) { return std::nearbyint(a); }
  static reg exp2i(reg n) { return std::ldexp(1.0f, static_cast<int>(n)); }
  static reg pin(reg a) { return a; }
};
#include "gemm_kernel.inc"

// The int8 reference (gemm.hpp, dense_i8), one row and one output at a time.
namespace i8_scalar {

constexpr std::size_t panel_rows = 1, w_rows = 1;

// Row x quantized into q (k bytes); returns sx.
inline float quantize_row(const float* x, std::size_t k, std::int8_t* q) {
  float amax = 0.0f;
  for (std::size_t p = 0; p < k; ++p) amax = std::max(amax, std::fabs(x[p]));
  if (amax == 0.0f) {
    std::fill_n(q, k, std::int8_t{0});
    return 0.0f;
  }
  const float inv = i8_inverse_scale(amax);
  for (std::size_t p = 0; p < k; ++p) {
    // As the SIMD code's max(v, -127) then min(.., 127): a NaN (from weights that overflow,
    // say) becomes -127, never an undefined conversion.
    const float v = std::nearbyint(x[p] * inv);
    q[p] = v >= 127.0f ? std::int8_t{127} : v > -127.0f ? static_cast<std::int8_t>(v) : std::int8_t{-127};
  }
  return amax / 127.0f;
}

void block(const dense_i8_args& a, std::size_t ldw, std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) {
  thread_local std::vector<std::int8_t> q;
  q.resize(a.k);
  for (std::size_t i = i0; i < i1; ++i) {
    const float sx = quantize_row(a.x + i * a.ldx, a.k, q.data());
    for (std::size_t j = j0; j < j1; ++j) {
      const std::int8_t* w = a.w + j * ldw;
      std::int32_t acc = 0;
      for (std::size_t p = 0; p < a.k; ++p) acc += std::int32_t{q[p]} * std::int32_t{w[p]};
      float v = unfused(static_cast<float>(acc) * (sx * a.w_scale[j]));
      if (a.n_outliers != 0) {
        float t = 0.0f;
        for (std::size_t o = 0; o < a.n_outliers; ++o) {
          t = simd::fma(a.outliers[i * a.n_outliers + o], a.outlier_w[j * a.n_outliers + o], t);
        }
        v = v + t;
      }
      if (a.bias) v = v + a.bias[j];
      if (a.gelu) v = gelu(v);
      if (a.residual) v = v + a.residual[i * a.ldr + j];
      a.y[i * a.ldy + j] = v;
    }
  }
}

}  // namespace i8_scalar
}  // namespace gemm_scalar

#if MINILM_GEMM_X86
MINILM_TARGET_PUSH_AVX2
namespace gemm_avx2 {
struct simd {
  using reg = __m256;
  static constexpr std::size_t width = 8;
  // 12 accumulators + 3 vectors of x + 1 broadcast of W in 16 ymm registers.
  static constexpr int nv = 2, accumulators = 12;
  static constexpr bool exact_erf = false, exact_exp = false;
  static reg erf(reg a) { return a; }  // unused: exact_erf is false
  static reg exp(reg a) { return a; }  // unused: exact_exp is false
  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float s) { return _mm256_set1_ps(s); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg a) { _mm256_storeu_ps(p, a); }
  static reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static reg round(reg a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static reg exp2i(reg n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  // An 8 x 4 transpose in registers: u[i] holds rows i and i + 4 of the four outputs.
  static void store_rows4(float* y, std::size_t ldy, const reg* r, const float* residual, std::size_t ldr) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 u[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xee), _mm256_shuffle_ps(t1, t3, 0x44),
                         _mm256_shuffle_ps(t1, t3, 0xee)};
    for (std::size_t i = 0; i < 4; ++i) {
      __m128 low = _mm256_castps256_ps128(u[i]), high = _mm256_extractf128_ps(u[i], 1);
      if (residual) {
        low = _mm_add_ps(low, _mm_loadu_ps(residual + i * ldr));
        high = _mm_add_ps(high, _mm_loadu_ps(residual + (i + 4) * ldr));
      }
      _mm_storeu_ps(y + i * ldy, low);
      _mm_storeu_ps(y + (i + 4) * ldy, high);
    }
  }
  // Keeps a loaded vector in a register for all its uses: tuned for some processors
  // (-march=znver3), GCC otherwise folds the load into every fused multiply-add that uses it,
  // which multiplies the loads.
  static reg pin(reg a) {
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+x"(a));
#endif
    return a;
  }
};
#include "gemm_kernel.inc"

// int8 without VNNI: |W| (unsigned, up to 128) times q with W's sign (|q| <= 127), by
// vpmaddubsw into 16-bit sums of two products (at most 2 * 128 * 127 = 32512: never saturated),
// then vpmaddwd against ones into 32 bits.
namespace i8_avx2 {
struct i8 {
  static constexpr std::size_t width = 8;
  // 8 accumulators + 2 vectors of x + W and |W| + ones + 2 temporaries, of 16 ymm registers.
  static constexpr int nv = 2, accumulators = 8;
  static constexpr bool offset = false;
  using acc = __m256i;
  using xreg = __m256i;
  struct wreg {
    __m256i w, magnitude;
  };
  static acc zero() { return _mm256_setzero_si256(); }
  static xreg load_x(const std::int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static wreg load_w(const std::int8_t* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    const __m256i w = _mm256_set1_epi32(v);
    return {w, _mm256_abs_epi8(w)};
  }
  static wreg load_w_tail(const std::int8_t* p, std::size_t n) {
    std::int32_t v = 0;
    std::memcpy(&v, p, n);
    const __m256i w = _mm256_set1_epi32(v);
    return {w, _mm256_abs_epi8(w)};
  }
  static acc dot(acc a, const wreg& w, xreg x) {
    const __m256i pairs = _mm256_maddubs_epi16(w.magnitude, _mm256_sign_epi8(x, w.w));
    return _mm256_add_epi32(a, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
  static xreg pin(xreg a) {  // as simd::pin
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+x"(a));
#endif
    return a;
  }
  static reg sum(acc a, const std::int32_t*) { return _mm256_cvtepi32_ps(a); }
  static void store_q(std::int8_t* p, reg v) {
    const __m256i n = _mm256_cvtps_epi32(v);
    const __m128i s16 = _mm_packs_epi32(_mm256_castsi256_si128(n), _mm256_extracti128_si256(n, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi16(s16, s16));
  }
  static void store_rows4(float* y, std::size_t ldy, const reg* r, const float* residual, std::size_t ldr) {
    simd::store_rows4(y, ldy, r, residual, ldr);
  }
};
#include "gemm_i8_kernel.inc"
}  // namespace i8_avx2
}  // namespace gemm_avx2
MINILM_TARGET_POP

// AVX-VNNI: vpdpbusd on ymm, the panel's bytes q xor 0x80 (q + 128, unsigned) times W's
// (signed, broadcast as they lie); the lane holds sum q w + 128 sum w, the second part (128 times
// the sum of the row of W, computed per tile from W as it is read) taken off at the end. The
// AVX2 family's epilogue.
MINILM_TARGET_PUSH_AVX_VNNI
namespace gemm_avx2 {
namespace i8_avx_vnni {
struct i8 {
  static constexpr std::size_t width = 8;
  // 12 accumulators + 2 vectors of x + 1 broadcast of W, of 16 ymm registers.
  static constexpr int nv = 2, accumulators = 12;
  static constexpr bool offset = true;
  using acc = __m256i;
  using xreg = __m256i;
  using wreg = __m256i;
  static acc zero() { return _mm256_setzero_si256(); }
  static xreg load_x(const std::int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static wreg load_w(const std::int8_t* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  }
  static wreg load_w_tail(const std::int8_t* p, std::size_t n) {
    std::int32_t v = 0;
    std::memcpy(&v, p, n);
    return _mm256_set1_epi32(v);
  }
#if defined(MINILM_GEMM_EMULATE_SIMD)
  static acc dot(acc a, wreg w, xreg x) { return _mm256_dpbusd_epi32(a, x, w); }
#else
  static acc dot(acc a, wreg w, xreg x) { return _mm256_dpbusd_avx_epi32(a, x, w); }
#endif
  static xreg pin(xreg a) {  // as simd::pin
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+x"(a));
#endif
    return a;
  }
  // sum w[p] over p < k: dot with bytes of 1, a whole vector at a time, then the rest.
  static std::int32_t row_sum(const std::int8_t* w, std::size_t k) {
    acc s = zero();
    std::size_t p = 0;
    for (; p + 32 <= k; p += 32) s = dot(s, load_x(w + p), _mm256_set1_epi8(1));
    alignas(32) std::int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
    std::int32_t total = 0;
    for (int l = 0; l < 8; ++l) total += lanes[l];
    for (; p < k; ++p) total += w[p];
    return total;
  }
  static reg sum(acc a, const std::int32_t* offset) {
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(a, _mm256_set1_epi32(*offset)));
  }
  static void store_q(std::int8_t* p, reg v) {
    i8_avx2::i8::store_q(p, v);
    std::uint64_t bytes;
    std::memcpy(&bytes, p, 8);
    bytes ^= 0x8080808080808080u;
    std::memcpy(p, &bytes, 8);
  }
  static void store_rows4(float* y, std::size_t ldy, const reg* r, const float* residual, std::size_t ldr) {
    simd::store_rows4(y, ldy, r, residual, ldr);
  }
};
#include "gemm_i8_kernel.inc"
}  // namespace i8_avx_vnni
}  // namespace gemm_avx2
MINILM_TARGET_POP

MINILM_TARGET_PUSH_AVX512
namespace gemm_avx512 {
struct simd {
  using reg = __m512;
  static constexpr std::size_t width = 16;
  // 24 accumulators + 2 vectors of x + 1 broadcast of W, of 32 zmm registers.
  static constexpr int nv = 2, accumulators = 24;
  static constexpr bool exact_erf = false, exact_exp = false;
  static reg erf(reg a) { return a; }  // unused: exact_erf is false
  static reg exp(reg a) { return a; }  // unused: exact_exp is false
  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float s) { return _mm512_set1_ps(s); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg a) { _mm512_storeu_ps(p, a); }
  static reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  // Not _mm512_min_ps, _mm512_roundscale_ps and the like: GCC 12's header makes every use of
  // those warn (-Wmaybe-uninitialized on _mm512_undefined_ps, GCC bug 105593); their zero-masked
  // forms with every lane set instead.
  static constexpr __mmask16 all = 0xffff;
  static reg min(reg a, reg b) { return _mm512_maskz_min_ps(all, a, b); }
  static reg max(reg a, reg b) { return _mm512_maskz_max_ps(all, a, b); }
  static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static reg round(reg a) { return _mm512_maskz_roundscale_ps(all, a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static reg exp2i(reg n) { return _mm512_maskz_scalef_ps(all, _mm512_set1_ps(1.0f), n); }  // 1 * 2^n
  static reg pin(reg a) {  // as in gemm_avx2
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+v"(a));
#endif
    return a;
  }
};
#include "gemm_kernel.inc"
}  // namespace gemm_avx512
MINILM_TARGET_POP

// AVX512-VNNI: as AVX-VNNI, on zmm. The AVX-512 family's epilogue.
MINILM_TARGET_PUSH_AVX512_VNNI
namespace gemm_avx512 {
namespace i8_avx512_vnni {
struct i8 {
  static constexpr std::size_t width = 16;
  // 20 accumulators + 2 vectors of x + 1 broadcast of W, of 32 zmm registers.
  static constexpr int nv = 2, accumulators = 20;
  static constexpr bool offset = true;
  static constexpr __mmask16 all = 0xffff;
  using acc = __m512i;
  using xreg = __m512i;
  using wreg = __m512i;
  static acc zero() { return _mm512_setzero_si512(); }
  static xreg load_x(const std::int8_t* p) { return _mm512_loadu_si512(p); }
  static wreg load_w(const std::int8_t* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  static wreg load_w_tail(const std::int8_t* p, std::size_t n) {
    std::int32_t v = 0;
    std::memcpy(&v, p, n);
    return _mm512_set1_epi32(v);
  }
  static acc dot(acc a, wreg w, xreg x) { return _mm512_dpbusd_epi32(a, x, w); }
  // sum w[p] over p < k, as in AVX-VNNI.
  static std::int32_t row_sum(const std::int8_t* w, std::size_t k) {
    acc s = zero();
    std::size_t p = 0;
    for (; p + 64 <= k; p += 64) s = dot(s, load_x(w + p), _mm512_set1_epi8(1));
    alignas(64) std::int32_t lanes[16];
    _mm512_storeu_si512(lanes, s);
    std::int32_t total = 0;
    for (int l = 0; l < 16; ++l) total += lanes[l];
    for (; p < k; ++p) total += w[p];
    return total;
  }
  static xreg pin(xreg a) {  // as gemm_avx512::simd::pin
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+v"(a));
#endif
    return a;
  }
#if defined(MINILM_GEMM_EMULATE_SIMD)
  // SIMDe 0.7 lacks the conversions and the zero-masked shuffles: plain code and the unmasked
  // forms instead.
  static reg sum(acc a, const std::int32_t* offset) {
    alignas(64) std::int32_t s[16];
    alignas(64) float f[16];
    _mm512_storeu_si512(s, _mm512_sub_epi32(a, _mm512_set1_epi32(*offset)));
    for (int l = 0; l < 16; ++l) f[l] = static_cast<float>(s[l]);
    return _mm512_loadu_ps(f);
  }
  static void store_q(std::int8_t* p, reg v) {
    alignas(64) float f[16];
    _mm512_storeu_ps(f, v);
    for (int l = 0; l < 16; ++l) p[l] = static_cast<std::int8_t>(static_cast<int>(f[l]) ^ 0x80);
  }
  static __m512 unpacklo(__m512 a, __m512 b) { return _mm512_unpacklo_ps(a, b); }
  static __m512 unpackhi(__m512 a, __m512 b) { return _mm512_unpackhi_ps(a, b); }
  template <int imm>
  static __m512 shuffle(__m512 a, __m512 b) { return _mm512_shuffle_ps(a, b, imm); }
  template <int imm>
  static __m128 extract(__m512 a) { return _mm512_extractf32x4_ps(a, imm); }
#else
  // The zero-masked forms with every lane set, as in gemm_avx512::simd (GCC bug 105593).
  static reg sum(acc a, const std::int32_t* offset) {
    return _mm512_maskz_cvtepi32_ps(all, _mm512_sub_epi32(a, _mm512_set1_epi32(*offset)));
  }
  static void store_q(std::int8_t* p, reg v) {
    const __m512i q = _mm512_maskz_cvtps_epi32(all, v);  // q + 128 in each lane's low byte: q xor 0x80
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_maskz_cvtepi32_epi8(all, _mm512_add_epi32(q, _mm512_set1_epi32(128))));
  }
  static __m512 unpacklo(__m512 a, __m512 b) { return _mm512_maskz_unpacklo_ps(all, a, b); }
  static __m512 unpackhi(__m512 a, __m512 b) { return _mm512_maskz_unpackhi_ps(all, a, b); }
  template <int imm>
  static __m512 shuffle(__m512 a, __m512 b) { return _mm512_maskz_shuffle_ps(all, a, b, imm); }
  template <int imm>
  static __m128 extract(__m512 a) { return _mm512_maskz_extractf32x4_ps(0xf, a, imm); }
#endif
  // A 16 x 4 transpose in registers: u[i] holds rows i, i + 4, i + 8, i + 12 of the four
  // outputs, one per 128-bit lane.
  static void store_rows4(float* y, std::size_t ldy, const reg* r, const float* residual, std::size_t ldr) {
    const __m512 t0 = unpacklo(r[0], r[1]), t1 = unpackhi(r[0], r[1]);
    const __m512 t2 = unpacklo(r[2], r[3]), t3 = unpackhi(r[2], r[3]);
    const __m512 u[4] = {shuffle<0x44>(t0, t2), shuffle<0xee>(t0, t2), shuffle<0x44>(t1, t3), shuffle<0xee>(t1, t3)};
    for (std::size_t i = 0; i < 4; ++i) {
      const __m128 part[4] = {extract<0>(u[i]), extract<1>(u[i]), extract<2>(u[i]), extract<3>(u[i])};
      for (std::size_t b = 0; b < 4; ++b) {
        const std::size_t row = i + 4 * b;
        __m128 v = part[b];
        if (residual) v = _mm_add_ps(v, _mm_loadu_ps(residual + row * ldr));
        _mm_storeu_ps(y + row * ldy, v);
      }
    }
  }
};
#include "gemm_i8_kernel.inc"
}  // namespace i8_avx512_vnni
}  // namespace gemm_avx512
MINILM_TARGET_POP
#endif  // MINILM_GEMM_X86

#if MINILM_GEMM_NEON
namespace gemm_neon {
struct simd {
  using reg = float32x4_t;
  static constexpr std::size_t width = 4;
  // 24 accumulators + 4 vectors of x + 1 broadcast of W, of 32 q registers.
  static constexpr int nv = 4, accumulators = 24;
  static constexpr bool exact_erf = false, exact_exp = false;
  static reg erf(reg a) { return a; }  // unused: exact_erf is false
  static reg exp(reg a) { return a; }  // unused: exact_exp is false
  static reg zero() { return vdupq_n_f32(0.0f); }
  static reg set1(float s) { return vdupq_n_f32(s); }
  static reg load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, reg a) { vst1q_f32(p, a); }
  static reg broadcast(const float* p) { return vld1q_dup_f32(p); }
  static reg fma(reg a, reg b, reg c) { return vfmaq_f32(c, a, b); }
  static reg add(reg a, reg b) { return vaddq_f32(a, b); }
  static reg sub(reg a, reg b) { return vsubq_f32(a, b); }
  static reg mul(reg a, reg b) { return vmulq_f32(a, b); }
  static reg min(reg a, reg b) { return vminq_f32(a, b); }
  static reg max(reg a, reg b) { return vmaxq_f32(a, b); }
#if defined(MINILM_GEMM_EMULATE_SIMD)  // SIMDe 0.7 has no vdivq_f32
  static reg div(reg a, reg b) {
    float s[4], t[4];
    vst1q_f32(s, a);
    vst1q_f32(t, b);
    for (int l = 0; l < 4; ++l) s[l] /= t[l];
    return vld1q_f32(s);
  }
#else
  static reg div(reg a, reg b) { return vdivq_f32(a, b); }
#endif
  static reg round(reg a) { return vrndnq_f32(a); }
  static reg exp2i(reg n) { return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23)); }
  static reg pin(reg a) {  // as in gemm_avx2
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+w"(a));
#endif
    return a;
  }
};
#include "gemm_kernel.inc"

// int8 on NEON: vmull_s8 (16-bit products, at most 128 * 127) and vpadalq_s16 (pairs added
// into 32 bits) per half of the panel's vector; the two halves' pairs added at the end.
namespace i8_neon {
struct i8 {
  static constexpr std::size_t width = 4;
  // 24 accumulators (12 pairs) + 2 vectors of x + 1 broadcast of W + 2 products, of 32 q
  // registers.
  static constexpr int nv = 2, accumulators = 12;
  static constexpr bool offset = false;
  struct acc {
    int32x4_t low, high;  // rows 0, 1 and rows 2, 3: two partial sums per row
  };
  using xreg = int8x16_t;
  using wreg = int8x16_t;
  static acc zero() { return {vdupq_n_s32(0), vdupq_n_s32(0)}; }
  static xreg load_x(const std::int8_t* p) { return vld1q_s8(p); }
  static wreg load_w(const std::int8_t* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return vreinterpretq_s8_s32(vdupq_n_s32(v));
  }
  static wreg load_w_tail(const std::int8_t* p, std::size_t n) {
    std::int32_t v = 0;
    std::memcpy(&v, p, n);
    return vreinterpretq_s8_s32(vdupq_n_s32(v));
  }
  static acc dot(acc a, wreg w, xreg x) {
    a.low = vpadalq_s16(a.low, vmull_s8(vget_low_s8(x), vget_low_s8(w)));
    a.high = vpadalq_s16(a.high, vmull_s8(vget_high_s8(x), vget_high_s8(w)));
    return a;
  }
  static reg sum(acc a, const std::int32_t*) { return vcvtq_f32_s32(vpaddq_s32(a.low, a.high)); }
  static xreg pin(xreg a) {  // as simd::pin
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+w"(a));
#endif
    return a;
  }
  static void store_q(std::int8_t* p, reg v) {
    const int16x4_t s16 = vmovn_s32(vcvtq_s32_f32(v));
    const int8x8_t s8 = vmovn_s16(vcombine_s16(s16, s16));
    std::int8_t bytes[8];
    vst1_s8(bytes, s8);
    std::memcpy(p, bytes, 4);
  }
};
#include "gemm_i8_kernel.inc"
}  // namespace i8_neon
}  // namespace gemm_neon

// sdot (vdotq_s32): four signed products summed into each 32-bit lane; -128 * -127 and the like
// cannot overflow it. The NEON family's epilogue.
MINILM_TARGET_PUSH_DOTPROD
namespace gemm_neon {
namespace i8_neon_dot {
struct i8 {
  static constexpr std::size_t width = 4;
  // 24 accumulators + 4 vectors of x + 1 broadcast of W, of 32 q registers.
  static constexpr int nv = 4, accumulators = 24;
  static constexpr bool offset = false;
  using acc = int32x4_t;
  using xreg = int8x16_t;
  using wreg = int8x16_t;
  static acc zero() { return vdupq_n_s32(0); }
  static xreg load_x(const std::int8_t* p) { return vld1q_s8(p); }
  static wreg load_w(const std::int8_t* p) { return i8_neon::i8::load_w(p); }
  static wreg load_w_tail(const std::int8_t* p, std::size_t n) { return i8_neon::i8::load_w_tail(p, n); }
  static acc dot(acc a, wreg w, xreg x) { return vdotq_s32(a, x, w); }
  static xreg pin(xreg a) {  // as simd::pin
#if !defined(MINILM_GEMM_EMULATE_SIMD)
    __asm__("" : "+w"(a));
#endif
    return a;
  }
  static reg sum(acc a, const std::int32_t*) { return vcvtq_f32_s32(a); }
  static void store_q(std::int8_t* p, reg v) { i8_neon::i8::store_q(p, v); }
};
#include "gemm_i8_kernel.inc"
}  // namespace i8_neon_dot
}  // namespace gemm_neon
MINILM_TARGET_POP
#endif

namespace {

using block_fn = void (*)(const dense_args&, std::size_t, std::size_t, std::size_t, std::size_t, std::size_t);
using softmax_fn = void (*)(float*, std::size_t, std::size_t, std::size_t, float);

struct isa_kernel {
  block_fn block;
  softmax_fn softmax;
  std::size_t panel_rows;  // rows of x per panel
  std::size_t w_rows;      // a multiple of every tile's rows of W
};

template <typename simd, block_fn block, softmax_fn softmax>
constexpr isa_kernel kernel_of() {
  return {block, softmax, simd::nv * simd::width, static_cast<std::size_t>(simd::accumulators)};
}

isa_kernel kernel_for(gemm_isa isa) {
  switch (isa) {
#if MINILM_GEMM_X86
    case gemm_isa::avx2:
      return kernel_of<gemm_avx2::simd, gemm_avx2::block, gemm_avx2::softmax_columns>();
    case gemm_isa::avx512:
      return kernel_of<gemm_avx512::simd, gemm_avx512::block, gemm_avx512::softmax_columns>();
#endif
#if MINILM_GEMM_NEON
    case gemm_isa::neon:
      return kernel_of<gemm_neon::simd, gemm_neon::block, gemm_neon::softmax_columns>();
#endif
    default:
      return kernel_of<gemm_scalar::simd, gemm_scalar::block, gemm_scalar::softmax_columns>();
  }
}

std::size_t round_up(std::size_t v, std::size_t to) { return (v + to - 1) / to * to; }

// The split of an (m rows, n outputs) product between pool's threads, the same for dense() and
// dense_i8(); block(i0, i1, j0, j1) computes rows [i0, i1) of outputs [j0, j1).
//
// Row blocks: as many rows of x as fit in about 384 KiB (row_bytes each, as packed: a share of
// L2, where the block's panels stay), in whole panels, then evened out so that the last block
// is not a sliver. With several threads, at least two tasks per thread (so that a thread slowed
// down by other load hands work over; more would each start on a tile of W that is not in cache
// yet); when there are too few row blocks for that, output features are split too, in multiples
// of w_rows: for a handful of rows that is the only parallelism, and each thread then reads its
// own part of W, the part of the work that dominates. How the work is split never changes how
// an output is computed.
template <typename Block>
void run_blocks(std::size_t m, std::size_t n, std::size_t row_bytes, std::size_t panel_rows, std::size_t w_rows,
                thread_pool& pool, Block&& block) {
  std::size_t rows = std::max(panel_rows, (std::size_t{384} << 10) / row_bytes / panel_rows * panel_rows);
  const std::size_t n_row_blocks = (m + rows - 1) / rows;
  rows = std::min(rows, round_up((m + n_row_blocks - 1) / n_row_blocks, panel_rows));
  const std::size_t n_threads = pool.size();
  std::size_t cols = n;
  if (n_threads > 1 && n_row_blocks < 2 * n_threads) {
    const std::size_t n_col_blocks = (2 * n_threads + n_row_blocks - 1) / n_row_blocks;
    cols = std::max(w_rows, round_up((n + n_col_blocks - 1) / n_col_blocks, w_rows));
  }
  const std::size_t n_col_blocks = (n + cols - 1) / cols;
  const std::size_t n_rb = (m + rows - 1) / rows;
  pool.run(n_rb * n_col_blocks, [&](std::size_t task, std::size_t) {
    const std::size_t rb = task / n_col_blocks, cb = task % n_col_blocks;
    block(rb * rows, std::min(m, (rb + 1) * rows), cb * cols, std::min(n, (cb + 1) * cols));
  });
}

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
    try {
      if (const auto chosen = gemm_isa_override()) return *chosen;
    } catch (const error&) {
      // encoder::load() reports a bad MINILM_ISA; here the best kernel stands.
    }
    for (gemm_isa isa : {gemm_isa::avx512, gemm_isa::avx2, gemm_isa::neon}) {
      if (gemm_isa_supported(isa)) return isa;
    }
    return gemm_isa::scalar;
  }();
  return best;
}

std::optional<gemm_isa> gemm_isa_named(std::string_view name) noexcept {
  for (gemm_isa isa : {gemm_isa::scalar, gemm_isa::avx2, gemm_isa::avx512, gemm_isa::neon}) {
    if (name == gemm_isa_name(isa)) return isa;
  }
  return std::nullopt;
}

std::optional<gemm_isa> gemm_isa_override() {
  const char* value = std::getenv("MINILM_ISA");
  if (value == nullptr || *value == '\0') return std::nullopt;
  std::string runnable;
  for (gemm_isa isa : {gemm_isa::scalar, gemm_isa::avx2, gemm_isa::avx512, gemm_isa::neon}) {
    if (gemm_isa_supported(isa)) runnable += std::string(runnable.empty() ? "" : ", ") + gemm_isa_name(isa);
  }
  const auto isa = gemm_isa_named(value);
  if (!isa) {
    throw error(errc::invalid_argument, std::string("MINILM_ISA=") + value +
                                            ": not a kernel name (scalar, avx2, avx512, neon); this processor runs " + runnable);
  }
  if (!gemm_isa_supported(*isa)) {
    throw error(errc::invalid_argument, std::string("MINILM_ISA=") + value +
                                            ": this build or processor cannot run that kernel; it runs " + runnable);
  }
  return isa;
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
  const std::size_t ldw = a.ldw != 0 ? a.ldw : a.k;
  assert(gemm_isa_supported(isa));
  assert((a.incx != 1 || a.ldx >= a.k) && (a.incy != 1 || a.ldy >= a.n) && (!a.residual || a.ldr >= a.n));
  if (a.m == 0 || a.n == 0) return;
  const isa_kernel kernel = kernel_for(isa);

  run_blocks(a.m, a.n, std::max<std::size_t>(a.k, 1) * sizeof(float), kernel.panel_rows, kernel.w_rows, pool,
             [&](std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) { kernel.block(a, ldw, i0, i1, j0, j1); });
}

namespace {

using i8_block_fn = void (*)(const dense_i8_args&, std::size_t, std::size_t, std::size_t, std::size_t, std::size_t);

struct i8_kernel_fns {
  i8_block_fn block;
  std::size_t panel_rows;  // rows of x per panel
  std::size_t w_rows;      // a multiple of every tile's rows of W
};

template <typename ns_i8, i8_block_fn block>
constexpr i8_kernel_fns i8_kernel_of() {
  return {block, ns_i8::nv * ns_i8::width, static_cast<std::size_t>(ns_i8::accumulators)};
}

i8_kernel_fns i8_kernel_for(i8_kernel kernel) {
  switch (kernel) {
#if MINILM_GEMM_X86
    case i8_kernel::avx2:
      return i8_kernel_of<gemm_avx2::i8_avx2::i8, gemm_avx2::i8_avx2::block>();
    case i8_kernel::avx_vnni:
      return i8_kernel_of<gemm_avx2::i8_avx_vnni::i8, gemm_avx2::i8_avx_vnni::block>();
    case i8_kernel::avx512_vnni:
      return i8_kernel_of<gemm_avx512::i8_avx512_vnni::i8, gemm_avx512::i8_avx512_vnni::block>();
#endif
#if MINILM_GEMM_NEON
    case i8_kernel::neon:
      return i8_kernel_of<gemm_neon::i8_neon::i8, gemm_neon::i8_neon::block>();
    case i8_kernel::neon_dot:
      return i8_kernel_of<gemm_neon::i8_neon_dot::i8, gemm_neon::i8_neon_dot::block>();
#endif
    default:
      return {gemm_scalar::i8_scalar::block, gemm_scalar::i8_scalar::panel_rows, gemm_scalar::i8_scalar::w_rows};
  }
}

}  // namespace

#if MINILM_GEMM_X86 && !defined(MINILM_GEMM_EMULATE_SIMD)
namespace {
// AVX-VNNI: CPUID leaf 7, subleaf 1, EAX bit 4 (not every compiler's __builtin_cpu_supports
// knows the name). AVX2's support already says the operating system saves the ymm registers.
bool has_avx_vnni() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid_count(7, 1, &a, &b, &c, &d) != 0 && (a & (1u << 4)) != 0;
}
}  // namespace
#endif

bool i8_kernel_supported(i8_kernel kernel) noexcept {
#if defined(MINILM_GEMM_EMULATE_SIMD)
  (void)kernel;
  return true;
#else
  switch (kernel) {
    case i8_kernel::scalar:
      return true;
#if MINILM_GEMM_X86
    case i8_kernel::avx2:
      return gemm_isa_supported(gemm_isa::avx2);
    case i8_kernel::avx_vnni:
      return gemm_isa_supported(gemm_isa::avx2) && has_avx_vnni();
    case i8_kernel::avx512_vnni:
      return gemm_isa_supported(gemm_isa::avx512) && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vnni");
#endif
#if MINILM_GEMM_NEON
    case i8_kernel::neon:
      return true;
    case i8_kernel::neon_dot:
#if defined(__linux__)
      return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__ARM_FEATURE_DOTPROD)
      return true;
#else
      return false;
#endif
#endif
    default:
      return false;
  }
#endif
}

i8_kernel best_i8_kernel() noexcept {
  static const i8_kernel best = [] {
    switch (best_gemm_isa()) {
      case gemm_isa::avx512:
        if (i8_kernel_supported(i8_kernel::avx512_vnni)) return i8_kernel::avx512_vnni;
        [[fallthrough]];
      case gemm_isa::avx2:
        return i8_kernel_supported(i8_kernel::avx_vnni) ? i8_kernel::avx_vnni : i8_kernel::avx2;
      case gemm_isa::neon:
        return i8_kernel_supported(i8_kernel::neon_dot) ? i8_kernel::neon_dot : i8_kernel::neon;
      case gemm_isa::scalar:
        break;
    }
    return i8_kernel::scalar;
  }();
  return best;
}

const char* i8_kernel_name(i8_kernel kernel) noexcept {
  switch (kernel) {
    case i8_kernel::scalar:
      return "scalar";
    case i8_kernel::avx2:
      return "avx2";
    case i8_kernel::avx_vnni:
      return "avx_vnni";
    case i8_kernel::avx512_vnni:
      return "avx512_vnni";
    case i8_kernel::neon:
      return "neon";
    case i8_kernel::neon_dot:
      return "neon_dot";
  }
  return "?";
}

void dense_i8(const dense_i8_args& a, thread_pool& pool) { dense_i8(a, pool, best_i8_kernel()); }

void dense_i8(const dense_i8_args& a, thread_pool& pool, i8_kernel kernel) {
  const std::size_t ldw = a.ldw != 0 ? a.ldw : a.k;
  assert(i8_kernel_supported(kernel));
  assert(a.ldx >= a.k && ldw >= a.k && a.ldy >= a.n && (!a.residual || a.ldr >= a.n) &&
         a.k <= (std::size_t{1} << 17));
  if (a.m == 0 || a.n == 0) return;
  const i8_kernel_fns fns = i8_kernel_for(kernel);

  run_blocks(a.m, a.n, std::max<std::size_t>(a.k, 4), fns.panel_rows, fns.w_rows, pool,
             [&](std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) { fns.block(a, ldw, i0, i1, j0, j1); });
}

void softmax_columns(float* s, std::size_t ld, std::size_t rows, std::size_t cols, float scale) {
  softmax_columns(s, ld, rows, cols, scale, best_gemm_isa());
}

void softmax_columns(float* s, std::size_t ld, std::size_t rows, std::size_t cols, float scale, gemm_isa isa) {
  assert(gemm_isa_supported(isa) && ld >= cols);
  if (rows == 0 || cols == 0) return;
  kernel_for(isa).softmax(s, ld, rows, cols, scale);
}

}  // namespace detail
MINILM_END_NAMESPACE
