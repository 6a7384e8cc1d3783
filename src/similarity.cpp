#include "minilm/similarity.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "minilm/error.hpp"

MINILM_BEGIN_NAMESPACE
namespace {

double dot(std::span<const float> a, std::span<const float> b) {
  double sum = 0;
  for (std::size_t j = 0; j < a.size(); ++j) sum += static_cast<double>(a[j]) * b[j];
  return sum;
}

// 1 / max(|v|, 1e-12), torch.nn.functional.normalize's guard against zero vectors.
double inverse_norm(std::span<const float> v) { return 1.0 / std::max(std::sqrt(dot(v, v)), 1e-12); }

}  // namespace

float cosine(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) {
    throw error(errc::invalid_argument, "cosine of vectors of different sizes (" + std::to_string(a.size()) + " and " +
                                            std::to_string(b.size()) + ")");
  }
  return static_cast<float>(dot(a, b) * inverse_norm(a) * inverse_norm(b));
}

similarity_matrix similarity(const embeddings& a, const embeddings& b) {
  if (a.dimension != b.dimension && a.size() != 0 && b.size() != 0) {
    throw error(errc::invalid_argument, "similarity of embeddings of different dimensions (" +
                                            std::to_string(a.dimension) + " and " + std::to_string(b.dimension) + ")");
  }
  similarity_matrix m{a.size(), b.size(), {}};
  m.values.resize(m.rows * m.cols);
  std::vector<double> inverse_b(m.cols);
  for (std::size_t j = 0; j < m.cols; ++j) inverse_b[j] = inverse_norm(b[j]);
  for (std::size_t i = 0; i < m.rows; ++i) {
    const double inverse_a = inverse_norm(a[i]);
    for (std::size_t j = 0; j < m.cols; ++j) {
      m.values[i * m.cols + j] = static_cast<float>(dot(a[i], b[j]) * inverse_a * inverse_b[j]);
    }
  }
  return m;
}

MINILM_END_NAMESPACE
