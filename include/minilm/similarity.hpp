// minilm/similarity.hpp: cosine similarity between embeddings, as sentence-transformers'
// util.cos_sim computes it.
//
//   const minilm::embeddings e = model.encode(texts);
//   float s = minilm::cosine(e[0], e[1]);                    // one pair
//   minilm::similarity_matrix m = minilm::similarity(e, e);  // every pair
//   m(0, 1) == s;                                            // m.rows == m.cols == e.size()
//
// Both work on any vectors, unit length or not: a / max(|a|, 1e-12) . b / max(|b|, 1e-12), in
// double precision, so a zero vector has similarity 0 with everything.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "encoder.hpp"
#include "version.hpp"

MINILM_BEGIN_NAMESPACE

// Throws errc::invalid_argument when the sizes differ.
MINILM_API float cosine(std::span<const float> a, std::span<const float> b);

// Every text of a against every text of b: rows = a.size(), cols = b.size().
struct similarity_matrix {
  std::size_t rows = 0, cols = 0;
  std::vector<float> values;  // row-major
  float operator()(std::size_t i, std::size_t j) const noexcept { return values[i * cols + j]; }
};

// Throws errc::invalid_argument when the dimensions differ.
MINILM_API similarity_matrix similarity(const embeddings& a, const embeddings& b);

MINILM_END_NAMESPACE
