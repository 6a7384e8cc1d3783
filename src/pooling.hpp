// src/pooling.hpp: the two modules sentence-transformers runs after the transformer, Pooling
// (sentence_transformers/models/Pooling.py) and Normalize, over the last hidden states of a
// packed batch.
//
// Both are fixed-order loops over one sequence's rows, so a text's vector does not depend on
// the batch it is in (src/bert.hpp says the same of the forward pass).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "minilm/model_folder.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// out is (n_sequences, hidden): one pooled vector per sequence from hidden (n_tokens, hidden),
// leaving out the first n_skipped tokens of every sequence (a prompt, when the pooling
// excludes it; 0 otherwise), as sentence-transformers' Pooling.
void pool_sequences(const float* hidden, std::int64_t n_hidden, std::span<const std::size_t> offsets, pooling_mode mode,
                    std::size_t n_skipped, float* out);

// Each row of v (n_rows, n) becomes v / max(||v||_2, 1e-12), as torch.nn.functional.normalize.
void normalize_rows(float* v, std::size_t n_rows, std::int64_t n);

}  // namespace detail
MINILM_END_NAMESPACE
