// src/kernels/scalar.cpp: the scalar kernels, for every architecture (no flags): dense (F32),
// the softmax, and the int8 reference.

#include <vector>

#include "kernels/simd.hpp"
#include "thread_exit.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail::kernels {
namespace {  // see simd.hpp

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

// One float per "vector": the reference for targets without SIMD code.
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
#include "kernels/math.inc"
#include "kernels/dense.inc"
#include "kernels/softmax.inc"

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

}  // namespace

const f32_entry scalar_f32 = {block, softmax_columns, panel_rows, simd::accumulators};
const i8_entry scalar_i8 = {i8_scalar::block, i8_scalar::panel_rows, i8_scalar::w_rows};

}  // namespace detail::kernels
MINILM_END_NAMESPACE
