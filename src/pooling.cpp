// Pooling and Normalize, as sentence-transformers computes them: sums in double, in token order.

#include "pooling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

MINILM_BEGIN_NAMESPACE
namespace detail {

void pool_sequences(const float* hidden, std::int64_t n, std::span<const std::size_t> offsets, pooling_mode mode,
                    std::size_t n_skipped, float* out) {
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    const std::size_t first = offsets[s], length = offsets[s + 1] - first;
    // The tokens pooled: [skip, length). sentence-transformers zeroes the attention mask of the
    // first n_skipped positions; a sequence no longer than that pools an all-zero mask.
    const std::size_t skip = std::min(n_skipped, length);
    float* o = out + s * n;
    const float* rows = hidden + first * n;
    switch (mode) {
      case pooling_mode::cls:
        // The first token the mask keeps (argmax of the mask: token 0 when it keeps none).
        std::copy_n(rows + (skip < length ? skip : 0) * n, n, o);
        break;
      case pooling_mode::max:
        if (skip == length) {  // every token masked: sentence-transformers' -inf
          std::fill_n(o, n, -std::numeric_limits<float>::infinity());
          break;
        }
        std::copy_n(rows + skip * n, n, o);
        for (std::size_t i = skip + 1; i < length; ++i) {
          for (std::int64_t j = 0; j < n; ++j) o[j] = std::max(o[j], rows[i * n + j]);
        }
        break;
      case pooling_mode::mean:
      case pooling_mode::mean_sqrt_len: {
        // sentence-transformers: sum(h * mask) / max(sum(mask), 1e-9), or / sqrt of that.
        const double count = std::max(static_cast<double>(length - skip), 1e-9);
        const double divisor = mode == pooling_mode::mean ? count : std::sqrt(count);
        for (std::int64_t j = 0; j < n; ++j) {
          double sum = 0;
          for (std::size_t i = skip; i < length; ++i) sum += rows[i * n + j];
          o[j] = static_cast<float>(sum / divisor);
        }
        break;
      }
    }
  }
}

void normalize_rows(float* v, std::size_t n_rows, std::int64_t n) {
  for (std::size_t r = 0; r < n_rows; ++r) {
    float* row = v + r * n;
    double sum_sq = 0;
    for (std::int64_t j = 0; j < n; ++j) sum_sq += static_cast<double>(row[j]) * row[j];
    const float norm = std::max(static_cast<float>(std::sqrt(sum_sq)), 1e-12f);
    for (std::int64_t j = 0; j < n; ++j) row[j] /= norm;
  }
}

}  // namespace detail
MINILM_END_NAMESPACE
