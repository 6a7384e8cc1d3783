// src/bert.hpp: the BERT forward pass over a packed batch, and sentence pooling.
//
// A packed batch holds every sequence's tokens one after another (no padding): token t of the
// batch is row t of every activation matrix. Dense layers (the linears, LayerNorm, GELU) run on
// all rows at once; attention runs per sequence and head, as transformers' modeling_bert.py
// (BertEmbeddings, BertSelfAttention, BertLayer). The RoBERTa family (modeling_xlm_roberta.py)
// is the same encoder but for its position ids (embed_tokens in bert.cpp).
//
// Determinism: row t of every step depends only on row t of its inputs (or, for attention, on
// the rows of t's own sequence), with an order of operations that does not depend on where the
// row sits, how many rows there are, or how many threads run. So a text's embedding is bitwise
// the same in any batch. The linears keep that promise through detail::dense()
// (src/gemm.hpp); the reductions (LayerNorm, softmax, pooling) are fixed-order loops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "aligned_buffer.hpp"
#include "minilm/model_folder.hpp"
#include "minilm/weights.hpp"
#include "thread_pool.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// A packed batch of token ids. Sequence s is rows [offsets[s], offsets[s + 1]).
struct token_batch {
  std::span<const std::int32_t> ids;
  std::span<const std::int32_t> type_ids;  // empty: all 0
  std::span<const std::size_t> offsets;    // n_sequences + 1 entries, offsets[0] == 0

  std::size_t n_sequences() const noexcept { return offsets.empty() ? 0 : offsets.size() - 1; }
  std::size_t n_tokens() const noexcept { return ids.size(); }
};

// The longest sequence the forward pass takes, whatever max_position_embeddings says: its
// attention scores take length^2 floats per thread (1 GiB at this length).
inline constexpr std::size_t max_sequence_tokens = 16384;

// Throws errc::invalid_argument when the batch does not fit the model: ids or type ids out of
// range, a sequence longer than the position table takes (config.max_tokens()) or than
// max_sequence_tokens, or empty,
// offsets that do not tile the ids. An error about sequence s has text_index() s ("text s: ..."),
// and one about a token names its position in the sequence too.
void check_token_batch(const token_batch& batch, const bert_config& config);

// The scratch one forward pass needs: activations for the whole packed batch, plus per-thread
// room for one attention head. Sized by forward() on first use and kept for later calls.
struct forward_scratch {
  float_buffer x;        // (n_tokens, hidden): the hidden states
  float_buffer q, k, v;  // (n_tokens, hidden)
  float_buffer context;  // (n_tokens, hidden): attention output before its projection
  float_buffer ffn;      // (n_tokens, intermediate)
  std::vector<float_buffer> scores;  // (length, length), one per thread
  float_buffer outliers;  // int8 weights: (n_tokens, n_outliers), a layer's outlier inputs

  // When set, called with every linear layer's input (n_rows, n_in) just before the layer
  // runs: minilm::quantize_model measures the activations with it.
  std::function<void(const linear_weights&, const float* x, std::size_t n_rows)> observe_input;
};

// Runs the encoder over a checked batch. Afterwards scratch.x holds the last hidden states,
// (n_tokens, hidden), row t for token t.
void forward(const bert_config& config, const bert_weights& weights, const token_batch& batch,
             forward_scratch& scratch, thread_pool& pool);

// out is (n_sequences, hidden): one pooled vector per sequence from hidden (n_tokens, hidden),
// leaving out the first n_skipped tokens of every sequence (a prompt, when the pooling
// excludes it; 0 otherwise), as sentence-transformers' Pooling.
void pool_sequences(const float* hidden, std::int64_t n_hidden, std::span<const std::size_t> offsets, pooling_mode mode,
                    std::size_t n_skipped, float* out);

// Each row of v (n_rows, n) becomes v / max(||v||_2, 1e-12), as torch.nn.functional.normalize.
void normalize_rows(float* v, std::size_t n_rows, std::int64_t n);

}  // namespace detail
MINILM_END_NAMESPACE
