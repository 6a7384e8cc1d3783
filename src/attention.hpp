// src/attention.hpp: attention's softmax (bert.cpp, attention()), on the dense kernels'
// instruction sets (gemm.hpp, gemm_isa).
#pragma once

#include <cstddef>

#include "gemm.hpp"
#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// For each column c < cols of s (rows, cols), row stride ld, with x_j = scale * s[j*ld + c]:
//   s[j*ld + c] = exp(x_j - max_j x_j) / sum_j exp(x_j - max_j x_j)
// the sum taken over j in order. exp is Cephes' expf in the SIMD code (within 2 ulp of e^x;
// tests/test_gemm.cpp), the C library's in the scalar code. Every column takes the same
// operations wherever it sits, so a column's result depends on its own values alone. The scores
// are kept a column per query so that a vector holds several queries (bert.cpp). Uses
// best_gemm_isa().
void softmax_columns(float* s, std::size_t ld, std::size_t rows, std::size_t cols, float scale);
// The same with a chosen instruction set, which must be supported (for tests).
void softmax_columns(float* s, std::size_t ld, std::size_t rows, std::size_t cols, float scale, gemm_isa isa);

}  // namespace detail
MINILM_END_NAMESPACE
