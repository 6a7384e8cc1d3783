// src/kernels/avx2.cpp: the AVX2 + FMA kernels, compiled with -mavx2 -mfma (src/meson.build):
// dense (F32), the softmax, and dense_i8 without VNNI.

#include "kernels/simd.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail::kernels {
namespace {  // see simd.hpp
#include "kernels/avx2.inc"
#include "kernels/math.inc"
#include "kernels/dense.inc"
#include "kernels/softmax.inc"
namespace i8_avx2 {
#include "kernels/dense_i8.inc"
}  // namespace i8_avx2

}  // namespace

const f32_entry avx2_f32 = {block, softmax_columns, panel_rows, simd::accumulators};
const i8_entry avx2_i8 = {i8_avx2::block, i8_avx2::i8_panel_rows, i8_avx2::i8::accumulators};

}  // namespace detail::kernels
MINILM_END_NAMESPACE
