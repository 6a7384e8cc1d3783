// Attention's softmax (attention.hpp): the vector code of each instruction set is in
// src/kernels/softmax.inc, compiled into each kernel file; this picks one.

#include "attention.hpp"

#include <cassert>

#include "kernels/kernels.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

void softmax_columns(float* s, std::size_t ld, std::size_t rows, std::size_t cols, float scale) {
  softmax_columns(s, ld, rows, cols, scale, best_gemm_isa());
}

void softmax_columns(float* s, std::size_t ld, std::size_t rows, std::size_t cols, float scale, gemm_isa isa) {
  assert(gemm_isa_supported(isa) && ld >= cols);
  if (rows == 0 || cols == 0) return;
  kernels::f32_kernel(isa).softmax(s, ld, rows, cols, scale);
}

}  // namespace detail
MINILM_END_NAMESPACE
