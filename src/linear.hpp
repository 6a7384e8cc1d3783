// src/linear.hpp: a linear layer over the rows of a packed batch, whatever the weights' precision.
//
// The forward pass (src/bert.cpp) calls linear() for every nn.Linear of the model; what the
// weights' storage asks for (int8's quantized activations and its outlier channels, the
// calibration hook of minilm::quantize_model) stays here, on top of the dense kernels of
// src/gemm.hpp.
#pragma once

#include <cstddef>
#include <functional>

#include "aligned_buffer.hpp"
#include "minilm/weights.hpp"
#include "thread_pool.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// What linear() keeps from call to call.
struct linear_scratch {
  float_buffer outliers;  // int8 weights: (n_rows, n_outliers), a layer's outlier inputs, grown on first use

  // When set, called with every linear layer's input (n_rows, n_in) just before the layer
  // runs: minilm::quantize_model measures the activations with it.
  std::function<void(const linear_weights&, const float* x, std::size_t n_rows)> observe_input;
};

// y = x * W^T + b, then GELU and a residual add when asked. x is (n_rows, n_in), W is
// (n_out, n_in) in the mapping, y is (n_rows, n_out), residual (n_rows, n_out) or null. x is
// left as it was (an int8 layer borrows its outlier channels and puts them back).
// detail::dense() and detail::dense_i8() (the latter for int8 weights, quantizing each row of x
// on the way) compute every output with a sequence of operations fixed by n_in alone, so a row's
// result does not depend on the other rows or the threads.
void linear(float* x, std::size_t n_rows, const linear_weights& w, float* y, linear_scratch& s, thread_pool& pool,
            const float* residual = nullptr, bool gelu = false);

}  // namespace detail
MINILM_END_NAMESPACE
