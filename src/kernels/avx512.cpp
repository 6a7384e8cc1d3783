// src/kernels/avx512.cpp: dense (F32) and the softmax on AVX-512F, compiled with -mavx512f
// -mavx2 -mfma (src/meson.build).

#include "kernels/simd.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail::kernels {
namespace {  // see simd.hpp
#include "kernels/avx512.inc"
#include "kernels/math.inc"
#include "kernels/dense.inc"
#include "kernels/softmax.inc"

}  // namespace

const f32_entry avx512_f32 = {block, softmax_columns, panel_rows, simd::accumulators};

}  // namespace detail::kernels
MINILM_END_NAMESPACE
