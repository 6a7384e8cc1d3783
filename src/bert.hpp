// src/bert.hpp: the BERT forward pass over a packed batch.
//
// A packed batch (minilm::packed_batch, as the tokenizer makes it) holds every sequence's tokens
// one after another (no padding): token t of the batch is row t of every activation matrix.
// Dense layers (the linears, LayerNorm, GELU) run on all rows at once; attention runs per
// sequence and head, as transformers' modeling_bert.py (BertEmbeddings, BertSelfAttention,
// BertLayer). The RoBERTa family (modeling_xlm_roberta.py)
// is the same encoder but for its position ids (embed_tokens in bert.cpp).
//
// Determinism: row t of every step depends only on row t of its inputs (or, for attention, on
// the rows of t's own sequence), with an order of operations that does not depend on where the
// row sits, how many rows there are, or how many threads run. So a text's embedding is bitwise
// the same in any batch. The linears keep that promise through detail::linear()
// (src/linear.hpp); the reductions (LayerNorm, softmax) are fixed-order loops.
#pragma once

#include <cstddef>
#include <vector>

#include "aligned_buffer.hpp"
#include "linear.hpp"
#include "minilm/model_folder.hpp"
#include "minilm/tokenizer.hpp"
#include "minilm/weights.hpp"
#include "thread_pool.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// The longest sequence the forward pass takes, whatever max_position_embeddings says: its
// attention scores take length^2 floats per thread (1 GiB at this length).
inline constexpr std::size_t max_sequence_tokens = 16384;

// Throws errc::invalid_argument when the batch does not fit the model: ids or type ids out of
// range (empty type_ids stand for all 0), a sequence longer than the position table takes
// (config.max_tokens()) or than max_sequence_tokens, or empty, offsets that do not tile the ids.
// An error about sequence s has text_index() s ("text s: ..."), and one about a token names its
// position in the sequence too.
void check_batch(const packed_batch& batch, const bert_config& config);

// The scratch one forward pass needs: activations for the whole packed batch, plus per-thread
// room for one attention head. Sized by forward() on first use and kept for later calls.
struct forward_scratch {
  float_buffer x;        // (n_tokens, hidden): the hidden states
  float_buffer q, k, v;  // (n_tokens, hidden)
  float_buffer context;  // (n_tokens, hidden): attention output before its projection
  float_buffer ffn;      // (n_tokens, intermediate)
  std::vector<float_buffer> scores;  // (length, length), one per thread
  linear_scratch linear;             // what the linear layers keep (src/linear.hpp)
};

// Runs the encoder over a checked batch. Afterwards scratch.x holds the last hidden states,
// (n_tokens, hidden), row t for token t.
void forward(const bert_config& config, const bert_weights& weights, const packed_batch& batch,
             forward_scratch& scratch, thread_pool& pool);

}  // namespace detail
MINILM_END_NAMESPACE
