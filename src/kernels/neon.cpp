// src/kernels/neon.cpp: the NEON kernels (AArch64's baseline: no flags): dense (F32), the
// softmax, and dense_i8 without the dot product instructions.

#include "kernels/simd.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail::kernels {
namespace {  // see simd.hpp
#include "kernels/neon.inc"
#include "kernels/math.inc"
#include "kernels/dense.inc"
#include "kernels/softmax.inc"
namespace i8_neon {
#include "kernels/dense_i8.inc"
}  // namespace i8_neon

}  // namespace

const f32_entry neon_f32 = {block, softmax_columns, panel_rows, simd::accumulators};
const i8_entry neon_i8 = {i8_neon::block, i8_neon::i8_panel_rows, i8_neon::i8::accumulators};

}  // namespace detail::kernels
MINILM_END_NAMESPACE
