// The linear layers, F32 or int8: the int8 layers' outlier channels go through F32 here, so that
// the forward pass sees one kind of layer.

#include "linear.hpp"

#include "gemm.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

// An int8 layer's outlier channels of x (n_rows, n_in): copied into outliers (n_rows,
// n_outliers) and zeroed in x, or (out_of_x false) copied back into x.
void swap_outliers(float* x, std::size_t n_rows, const linear_weights& w, float* outliers, bool out_of_x) {
  const auto n_in = static_cast<std::size_t>(w.n_in), n_outliers = static_cast<std::size_t>(w.n_outliers);
  for (std::size_t r = 0; r < n_rows; ++r) {
    for (std::size_t o = 0; o < n_outliers; ++o) {
      float& v = x[r * n_in + static_cast<std::size_t>(w.outlier_index[o])];
      float& kept = outliers[r * n_outliers + o];
      if (out_of_x) {
        kept = v;
        v = 0.0f;
      } else {
        v = kept;
      }
    }
  }
}

}  // namespace

void linear(float* x, std::size_t n_rows, const linear_weights& w, float* y, linear_scratch& s, thread_pool& pool,
            const float* residual, bool gelu) {
  if (s.observe_input) s.observe_input(w, x, n_rows);
  const auto n_in = static_cast<std::size_t>(w.n_in), n_out = static_cast<std::size_t>(w.n_out);
  if (w.weight_i8 == nullptr) {
    dense({.x = x, .w = w.weight, .bias = w.bias, .residual = residual, .y = y,
           .m = n_rows, .n = n_out, .k = n_in, .ldx = n_in, .ldr = n_out, .ldy = n_out, .gelu = gelu},
          pool);
    return;
  }
  dense_i8_args a{.x = x, .w = w.weight_i8, .w_scale = w.weight_scale, .bias = w.bias, .residual = residual, .y = y,
                  .m = n_rows, .n = n_out, .k = n_in, .ldx = n_in, .ldr = n_out, .ldy = n_out, .gelu = gelu};
  if (w.n_outliers == 0) {
    dense_i8(a, pool);
    return;
  }
  // The outlier channels go through F32: moved out of x (n_rows, n_outliers), so that the int8
  // product sees zeros there and each row's int8 scale fits the other channels; dense_i8 adds
  // their F32 product to each output ahead of the bias and GELU. x gets them back afterwards.
  const auto n_outliers = static_cast<std::size_t>(w.n_outliers);
  s.outliers.reserve(n_rows * n_outliers);
  float* outliers = s.outliers.data();  // (n_rows, n_outliers)
  swap_outliers(x, n_rows, w, outliers, /*out_of_x=*/true);
  a.outliers = outliers;
  a.outlier_w = w.outlier_weight;
  a.n_outliers = n_outliers;
  dense_i8(a, pool);
  swap_outliers(x, n_rows, w, outliers, /*out_of_x=*/false);
}

}  // namespace detail
MINILM_END_NAMESPACE
