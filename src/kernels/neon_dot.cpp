// src/kernels/neon_dot.cpp: dense_i8 with the dot product instructions, compiled with
// -march=armv8.2-a+dotprod (src/meson.build), a file of its own so that the other NEON kernels
// run on any AArch64 processor.

#include "kernels/simd.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail::kernels {
namespace {  // see simd.hpp
#include "kernels/neon.inc"
#include "kernels/math.inc"

// sdot (vdotq_s32): four signed products summed into each 32-bit lane; -128 * -127 and the like
// cannot overflow it. The NEON family's epilogue.
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
#include "kernels/dense_i8.inc"
}  // namespace i8_neon_dot

}  // namespace

const i8_entry neon_dot_i8 = {i8_neon_dot::block, i8_neon_dot::i8_panel_rows, i8_neon_dot::i8::accumulators};

}  // namespace detail::kernels
MINILM_END_NAMESPACE
