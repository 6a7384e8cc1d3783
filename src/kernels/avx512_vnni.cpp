// src/kernels/avx512_vnni.cpp: dense_i8 on AVX512-VNNI, compiled with -mavx512f -mavx512bw
// -mavx512vnni -mavx2 -mfma (src/meson.build), a file of its own so that the F32 kernels run on
// a processor with AVX-512F alone.

#include "kernels/simd.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail::kernels {
namespace {  // see simd.hpp
#include "kernels/avx512.inc"
#include "kernels/math.inc"

// AVX512-VNNI: as AVX-VNNI, on zmm. The AVX-512 family's epilogue.
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
#include "kernels/dense_i8.inc"
}  // namespace i8_avx512_vnni

}  // namespace

const i8_entry avx512_vnni_i8 = {i8_avx512_vnni::block, i8_avx512_vnni::i8_panel_rows, i8_avx512_vnni::i8::accumulators};

}  // namespace detail::kernels
MINILM_END_NAMESPACE
