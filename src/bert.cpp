// The BERT forward pass (transformers' modeling_bert.py, eager path) over a packed batch: one
// function per step, each with the shapes it works on.

#include "bert.hpp"
#include "gemm.hpp"
#include "attention.hpp"
#include "linear.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <string>

#include "minilm/error.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

// Element-wise steps work on Eigen maps over the activations: coefficient-wise expressions are
// vectorised and compute every element the same way wherever it sits. Reductions (LayerNorm,
// softmax, pooling) are plain loops with a fixed order instead, since Eigen's vectorised sums
// change their order with the data's alignment. The matrix products are detail::dense().
using vector_map = Eigen::Map<Eigen::ArrayXf>;
using const_vector_map = Eigen::Map<const Eigen::ArrayXf>;

// Runs fn(r0, r1) over [0, n_rows) in chunks, on all threads: for cheap row-wise steps.
template <typename Fn>
void for_rows(std::size_t n_rows, thread_pool& pool, Fn&& fn) {
  constexpr std::size_t chunk = 32;
  const std::size_t n_chunks = (n_rows + chunk - 1) / chunk;
  pool.run(n_chunks, [&](std::size_t i, std::size_t) { fn(i * chunk, std::min(n_rows, (i + 1) * chunk)); });
}

// sum over j < n of f(j), in double: eight partial sums (j mod 8), added in a fixed tree. The
// order depends on n alone, and the partial sums are independent, so the loop vectorises.
template <typename F>
double sum8(std::int64_t n, F f) {
  double part[8] = {};
  std::int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int l = 0; l < 8; ++l) part[l] += f(j + l);
  }
  for (int l = 0; j < n; ++j, ++l) part[l] += f(j);
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

// x = LayerNorm(x) with the biased variance, row by row. x is (n_rows, n).
// Statistics in double, summed in an order fixed by n: the same for every row wherever it sits.
void layer_norm_row(float* x, const layer_norm_weights& norm, float eps) {
  const std::int64_t n = norm.n;
  const double mean = sum8(n, [&](std::int64_t j) { return double{x[j]}; }) / static_cast<double>(n);
  const double sum_sq = sum8(n, [&](std::int64_t j) {
    const double d = x[j] - mean;
    return d * d;
  });
  const auto mean_f = static_cast<float>(mean);
  const auto rstd = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
  for (std::int64_t j = 0; j < n; ++j) x[j] = (x[j] - mean_f) * rstd * norm.gamma[j] + norm.beta[j];
}

// x = LayerNorm(x), row by row. x is (n_rows, hidden).
void layer_norm(float* x, std::size_t n_rows, const layer_norm_weights& norm, float eps, thread_pool& pool) {
  for_rows(n_rows, pool, [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) layer_norm_row(x + r * norm.n, norm, eps);
  });
}

// The position id of every token of a packed batch, for rows [first, last) of one sequence:
// BERT counts from 0; the RoBERTa family from pad_token_id + 1, skipping tokens whose id is
// pad_token_id, which get pad_token_id itself (transformers' create_position_ids_from_input_ids:
// the batch has no padding, but a text may spell the pad token). check_batch() has bounded
// every id below max_position_embeddings.
std::size_t position_of(const bert_config& c, std::span<const std::int32_t> ids, std::size_t first, std::size_t t,
                        std::size_t& n_counted) {
  if (!c.roberta_family()) return t - first;
  if (ids[t] == c.pad_token_id) return static_cast<std::size_t>(c.pad_token_id);
  return static_cast<std::size_t>(c.position_offset) + n_counted++;
}

// x = LayerNorm(word[id] + token_type[type] + position[p]), p from position_of().
// x is (n_tokens, hidden); the embedding tables are (rows, hidden) in the mapping.
void embed_tokens(const bert_config& c, const bert_weights& w, const packed_batch& batch, float* x, thread_pool& pool) {
  const std::int64_t n = c.hidden_size;
  const float eps = static_cast<float>(c.layer_norm_eps);
  pool.run(batch.size(), [&](std::size_t s, std::size_t) {
    std::size_t n_counted = 0;  // tokens numbered so far (the RoBERTa family)
    for (std::size_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
      const std::size_t position = position_of(c, batch.ids, batch.offsets[s], t, n_counted);
      const float* word = w.word_embeddings + static_cast<std::size_t>(batch.ids[t]) * n;
      const std::int32_t type = batch.type_ids.empty() ? 0 : batch.type_ids[t];
      const float* token_type = w.token_type_embeddings + static_cast<std::size_t>(type) * n;
      const float* pos = w.position_embeddings + position * n;
      float* row = x + t * n;
      // BertEmbeddings (and XLMRobertaEmbeddings) add (inputs_embeds + token_type_embeddings)
      // first, then positions.
      vector_map(row, n) = (const_vector_map(word, n) + const_vector_map(token_type, n)) + const_vector_map(pos, n);
      layer_norm_row(row, w.embeddings_norm, eps);
    }
  });
}

// Scaled dot-product attention, per sequence and head:
//   context_h = softmax(Q_h K_h^T / sqrt(d)) V_h
// q, k, v and context are (n_tokens, hidden), head h being columns [h*d, (h+1)*d). A sequence
// only sees its own tokens, so there is no mask and nothing is computed for padding. Both
// products go through detail::dense (one thread each: the heads are the parallel work), which
// reads K_h and V_h in place through their strides; the scores are kept transposed (a column
// per query), which is how the kernel stores whole vectors of them and how detail::
// softmax_columns runs a vector of queries at a time. Every result depends only on the
// sequence's own tokens.
void attention(const bert_config& c, const packed_batch& batch, const float* q, const float* k, const float* v,
               float* context, forward_scratch& scratch, thread_pool& pool) {
  const auto hidden = static_cast<std::size_t>(c.hidden_size);
  const auto d = static_cast<std::size_t>(c.head_size());
  const auto n_heads = static_cast<std::size_t>(c.n_heads);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  thread_pool serial(1);  // runs on the calling thread; safe to share, it holds no state
  pool.run(batch.size() * n_heads, [&](std::size_t task, std::size_t thread) {
    const std::size_t s = task / n_heads, h = task % n_heads;
    const std::size_t first = batch.offsets[s];
    const std::size_t length = batch.offsets[s + 1] - first;
    const std::size_t head = first * hidden + h * d;  // where the head's first row starts
    float_buffer& buffer = scratch.scores[thread];
    buffer.reserve(length * length);
    float* scores_t = buffer.data();  // (length keys, length queries)

    // scores = q_h k_h^T, (length queries, length keys), stored transposed: x is q_h, W is k_h
    // (row j of W is key j), element (query i, key j) at scores_t[j*length + i].
    dense({.x = q + head, .w = k + head, .y = scores_t, .m = length, .n = length, .k = d,
           .ldx = hidden, .ldy = 1, .ldw = hidden, .incy = length},
          serial);
    // probs = softmax(scores / sqrt(d)), per query (a column of scores_t).
    softmax_columns(scores_t, length, length, length, scale);
    // context_h = probs v_h, (length, d): x is probs, (i, j) at scores_t[j*length + i]; W is
    // v_h^T, element (j, p) token p's value j.
    dense({.x = scores_t, .w = v + head, .y = context + head, .m = length, .n = d, .k = length,
           .ldx = 1, .ldy = hidden, .ldw = 1, .incw = hidden, .incx = length},
          serial);
  });
}

// One post-LayerNorm encoder layer. x is (n_tokens, hidden), updated in place.
void encoder_layer(const bert_config& c, const bert_layer_weights& w, const packed_batch& batch, forward_scratch& s,
                   thread_pool& pool) {
  const float eps = static_cast<float>(c.layer_norm_eps);
  const std::size_t n = batch.n_tokens();
  float* x = s.x.data();
  linear(x, n, w.query, s.q.data(), s.linear, pool);  // q, k, v are (n_tokens, hidden)
  linear(x, n, w.key, s.k.data(), s.linear, pool);
  linear(x, n, w.value, s.v.data(), s.linear, pool);
  attention(c, batch, s.q.data(), s.k.data(), s.v.data(), s.context.data(), s, pool);
  linear(s.context.data(), n, w.attention_output, x, s.linear, pool, /*residual=*/x);  // x = context W^T + b + x
  layer_norm(x, n, w.attention_norm, eps, pool);
  linear(x, n, w.intermediate, s.ffn.data(), s.linear, pool, nullptr, /*gelu=*/true);  // ffn: (n_tokens, intermediate)
  linear(s.ffn.data(), n, w.output, x, s.linear, pool, /*residual=*/x);                // x = ffn W^T + b + x
  layer_norm(x, n, w.output_norm, eps, pool);
}

}  // namespace

void check_batch(const packed_batch& batch, const bert_config& c) {
  auto fail = [](const std::string& what) { throw error(errc::invalid_argument, "token batch: " + what); };
  // A failure about one sequence names it as the error's text index: "text <s>: ...".
  auto fail_in = [](std::size_t s, const std::string& what) {
    throw error(errc::invalid_argument, "token batch: " + what).in_text(s);
  };
  if (batch.offsets.empty() || batch.offsets.front() != 0 || batch.offsets.back() != batch.ids.size()) {
    fail("offsets must start at 0 and end at the number of ids (" + std::to_string(batch.ids.size()) + ")");
  }
  if (!batch.type_ids.empty() && batch.type_ids.size() != batch.ids.size()) {
    fail("type_ids has " + std::to_string(batch.type_ids.size()) + " entries for " + std::to_string(batch.ids.size()) +
         " ids");
  }
  for (std::size_t s = 0; s < batch.size(); ++s) {
    const std::size_t first = batch.offsets[s], last = batch.offsets[s + 1];
    const std::string sequence = "sequence " + std::to_string(s);
    if (last < first) fail_in(s, "offsets decrease at " + sequence);
    if (last == first) fail_in(s, sequence + " is empty");
    const std::size_t length = last - first;
    auto longer_than = [&](const std::string& limit) {
      fail_in(s, sequence + " has " + std::to_string(length) + " tokens, more than " + limit);
    };
    if (length > static_cast<std::size_t>(c.max_tokens())) {
      longer_than(c.roberta_family() ? "the " + std::to_string(c.max_tokens()) + " positions from pad_token_id + 1 (" +
                                           std::to_string(c.position_offset) + ") to max_position_embeddings (" +
                                           std::to_string(c.max_position_embeddings) + ")"
                                     : "max_position_embeddings (" + std::to_string(c.max_position_embeddings) + ")");
    }
    if (length > max_sequence_tokens) {
      longer_than("the " + std::to_string(max_sequence_tokens) +
                  " the forward pass takes (its attention scores would need " +
                  std::to_string(length * length * sizeof(float) >> 20) + " MiB per thread)");
    }
  }
  // The offsets tile the ids now. Token t of sequence s is position t - offsets[s] in it.
  auto outside = [&](std::size_t s, std::size_t t, const std::string& what, std::int32_t value,
                     const std::string& range) {
    fail_in(s, what + " " + std::to_string(value) + " at position " + std::to_string(t - batch.offsets[s]) +
                   " of sequence " + std::to_string(s) + " (token " + std::to_string(t) + " of the batch) is outside " +
                   range);
  };
  for (std::size_t s = 0; s < batch.size(); ++s) {
    for (std::size_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
      if (batch.ids[t] < 0 || batch.ids[t] >= c.vocab_size) {
        outside(s, t, "id", batch.ids[t], "the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
      }
      if (!batch.type_ids.empty() && (batch.type_ids[t] < 0 || batch.type_ids[t] >= c.type_vocab_size)) {
        outside(s, t, "type id", batch.type_ids[t], "[0, " + std::to_string(c.type_vocab_size) + ")");
      }
    }
  }
}

void forward(const bert_config& c, const bert_weights& w, const packed_batch& batch, forward_scratch& s,
             thread_pool& pool) {
  const std::size_t n_tokens = batch.n_tokens();
  const auto hidden = static_cast<std::size_t>(c.hidden_size);
  for (float_buffer* b : {&s.x, &s.q, &s.k, &s.v, &s.context}) b->reserve(n_tokens * hidden);
  s.ffn.reserve(n_tokens * static_cast<std::size_t>(c.intermediate_size));
  if (s.scores.size() < pool.size()) s.scores.resize(pool.size());

  // Where the time goes (perf, 32 texts of 128 tokens, one thread): detail::dense 93% (the
  // linears and attention's two products), the softmax 2%, LayerNorm 1% (bench/README.md).
  embed_tokens(c, w, batch, s.x.data(), pool);  // x is (n_tokens, hidden)
  for (const bert_layer_weights& layer : w.layers) encoder_layer(c, layer, batch, s, pool);
}

}  // namespace detail
MINILM_END_NAMESPACE
