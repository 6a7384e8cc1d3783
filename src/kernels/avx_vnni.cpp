// src/kernels/avx_vnni.cpp: dense_i8 on AVX-VNNI, compiled with -mavxvnni -mavx2 -mfma
// (src/meson.build), a file of its own so that no AVX-VNNI instruction reaches the AVX2 kernels.

#include "kernels/simd.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail::kernels {
namespace {  // see simd.hpp
#include "kernels/avx2.inc"
#include "kernels/math.inc"

// AVX-VNNI: vpdpbusd on ymm, the panel's bytes q xor 0x80 (q + 128, unsigned) times W's
// (signed, broadcast as they lie); the lane holds sum q w + 128 sum w, the second part (128 times
// the sum of the row of W, computed per tile from W as it is read) taken off at the end. The
// AVX2 family's epilogue.
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
#include "kernels/dense_i8.inc"
}  // namespace i8_avx_vnni

}  // namespace

const i8_entry avx_vnni_i8 = {i8_avx_vnni::block, i8_avx_vnni::i8_panel_rows, i8_avx_vnni::i8::accumulators};

}  // namespace detail::kernels
MINILM_END_NAMESPACE
