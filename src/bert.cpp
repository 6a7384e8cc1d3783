// The BERT forward pass (SPEC.md section 3; transformers' modeling_bert.py, eager path), over a
// packed batch: one function per step, each with the shapes it works on.

#include "minilm/detail/bert.hpp"
#include "minilm/detail/gemm.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <new>
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

// A linear layer over all rows of a packed batch: y = x * W^T + b, then GELU and a residual
// add when asked. x is (n_rows, n_in), W is (n_out, n_in) in the mapping, y is (n_rows, n_out).
// detail::dense() (minilm/detail/gemm.hpp) computes every output with a sequence of operations
// fixed by n_in alone, so a row's result does not depend on the other rows or the threads.
void linear(const float* x, std::size_t n_rows, const linear_weights& w, float* y, thread_pool& pool,
            const float* residual = nullptr, bool gelu = false) {
  dense_args a;
  a.x = x;
  a.ldx = static_cast<std::size_t>(w.n_in);
  a.w = w.weight;
  a.bias = w.bias;
  a.y = y;
  a.ldy = static_cast<std::size_t>(w.n_out);
  a.residual = residual;
  a.ldr = a.ldy;
  a.m = n_rows;
  a.n = static_cast<std::size_t>(w.n_out);
  a.k = static_cast<std::size_t>(w.n_in);
  a.gelu = gelu;
  dense(a, pool);
}

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

// x = LayerNorm(word[id] + token_type[type] + position[i]), i counted from 0 in each sequence.
// x is (n_tokens, hidden); the embedding tables are (rows, hidden) in the mapping.
void embeddings(const bert_config& c, const bert_weights& w, const token_batch& batch, float* x, thread_pool& pool) {
  const std::int64_t n = c.hidden_size;
  const float eps = static_cast<float>(c.layer_norm_eps);
  pool.run(batch.n_sequences(), [&](std::size_t s, std::size_t) {
    for (std::size_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
      const std::size_t position = t - batch.offsets[s];
      const float* word = w.word_embeddings + static_cast<std::size_t>(batch.ids[t]) * n;
      const std::int32_t type = batch.type_ids.empty() ? 0 : batch.type_ids[t];
      const float* token_type = w.token_type_embeddings + static_cast<std::size_t>(type) * n;
      const float* pos = w.position_embeddings + position * n;
      float* row = x + t * n;
      // BertEmbeddings adds (inputs_embeds + token_type_embeddings) first, then positions.
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
void attention(const bert_config& c, const token_batch& batch, const float* q, const float* k, const float* v,
               float* context, forward_scratch& scratch, thread_pool& pool) {
  const auto hidden = static_cast<std::size_t>(c.hidden_size);
  const auto d = static_cast<std::size_t>(c.head_size());
  const auto n_heads = static_cast<std::size_t>(c.n_heads);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  thread_pool serial(1);  // runs on the calling thread; safe to share, it holds no state
  pool.run(batch.n_sequences() * n_heads, [&](std::size_t task, std::size_t thread) {
    const std::size_t s = task / n_heads, h = task % n_heads;
    const std::size_t first = batch.offsets[s];
    const std::size_t length = batch.offsets[s + 1] - first;
    const std::size_t head = first * hidden + h * d;  // where the head's first row starts
    float_buffer& buffer = scratch.scores[thread];
    buffer.reserve(length * length);
    float* scores_t = buffer.data();  // (length keys, length queries)

    dense_args qk;  // scores^T: element (query i, key j) at scores_t[j*length + i]
    qk.x = q + head;
    qk.ldx = hidden;
    qk.w = k + head;  // k_h: row j of W is key j
    qk.ldw = hidden;
    qk.y = scores_t;
    qk.ldy = 1;
    qk.incy = length;
    qk.m = length;
    qk.n = length;
    qk.k = d;
    dense(qk, serial);
    softmax_columns(scores_t, length, length, length, scale);  // probs = softmax(q_h k_h^T / sqrt(d)), per query

    dense_args pv;  // context_h = probs v_h, (length, d); probs (i, j) at scores_t[j*length + i]
    pv.x = scores_t;
    pv.ldx = 1;
    pv.incx = length;
    pv.w = v + head;  // v_h^T: element (j, p) is token p's value j
    pv.ldw = 1;
    pv.incw = hidden;
    pv.y = context + head;
    pv.ldy = hidden;
    pv.m = length;
    pv.n = d;
    pv.k = length;
    dense(pv, serial);
  });
}

// One post-LayerNorm encoder layer. x is (n_tokens, hidden), updated in place.
void encoder_layer(const bert_config& c, const bert_layer_weights& w, const token_batch& batch, forward_scratch& s,
                   thread_pool& pool) {
  const float eps = static_cast<float>(c.layer_norm_eps);
  const std::size_t n = batch.n_tokens();
  float* x = s.x.data();
  linear(x, n, w.query, s.q.data(), pool);  // q, k, v are (n_tokens, hidden)
  linear(x, n, w.key, s.k.data(), pool);
  linear(x, n, w.value, s.v.data(), pool);
  attention(c, batch, s.q.data(), s.k.data(), s.v.data(), s.context.data(), s, pool);
  linear(s.context.data(), n, w.attention_output, x, pool, /*residual=*/x);  // x = context W^T + b + x
  layer_norm(x, n, w.attention_norm, eps, pool);
  linear(x, n, w.intermediate, s.ffn.data(), pool, nullptr, /*gelu=*/true);  // ffn is (n_tokens, intermediate)
  linear(s.ffn.data(), n, w.output, x, pool, /*residual=*/x);                // x = ffn W^T + b + x
  layer_norm(x, n, w.output_norm, eps, pool);
}

}  // namespace

void float_buffer::deleter::operator()(float* p) const noexcept { std::free(p); }

void float_buffer::reserve(std::size_t n) {
  if (n <= capacity_) return;
  const std::size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (p == nullptr) throw std::bad_alloc();
  data_.reset(p);
  capacity_ = bytes / sizeof(float);
}

void check_token_batch(const token_batch& batch, const bert_config& c) {
  auto fail = [](const std::string& what) { throw error(errc::invalid_argument, "token batch: " + what); };
  if (batch.offsets.empty() || batch.offsets.front() != 0 || batch.offsets.back() != batch.ids.size()) {
    fail("offsets must start at 0 and end at the number of ids (" + std::to_string(batch.ids.size()) + ")");
  }
  if (!batch.type_ids.empty() && batch.type_ids.size() != batch.ids.size()) {
    fail("type_ids has " + std::to_string(batch.type_ids.size()) + " entries for " + std::to_string(batch.ids.size()) +
         " ids");
  }
  for (std::size_t s = 0; s + 1 < batch.offsets.size(); ++s) {
    const std::size_t first = batch.offsets[s], last = batch.offsets[s + 1];
    if (last < first) fail("offsets decrease at sequence " + std::to_string(s));
    if (last == first) fail("sequence " + std::to_string(s) + " is empty");
    if (last - first > static_cast<std::size_t>(c.max_position_embeddings)) {
      fail("sequence " + std::to_string(s) + " has " + std::to_string(last - first) +
           " tokens, more than max_position_embeddings (" + std::to_string(c.max_position_embeddings) + ")");
    }
    if (last - first > max_sequence_tokens) {
      fail("sequence " + std::to_string(s) + " has " + std::to_string(last - first) + " tokens, more than the " +
           std::to_string(max_sequence_tokens) + " the forward pass takes (its attention scores would need " +
           std::to_string((last - first) * (last - first) * sizeof(float) >> 20) + " MiB per thread)");
    }
  }
  for (std::size_t t = 0; t < batch.ids.size(); ++t) {
    if (batch.ids[t] < 0 || batch.ids[t] >= c.vocab_size) {
      fail("id " + std::to_string(batch.ids[t]) + " at token " + std::to_string(t) + " is outside the vocabulary [0, " +
           std::to_string(c.vocab_size) + ")");
    }
    if (!batch.type_ids.empty() && (batch.type_ids[t] < 0 || batch.type_ids[t] >= c.type_vocab_size)) {
      fail("type id " + std::to_string(batch.type_ids[t]) + " at token " + std::to_string(t) + " is outside [0, " +
           std::to_string(c.type_vocab_size) + ")");
    }
  }
}

void forward(const bert_config& c, const bert_weights& w, const token_batch& batch, forward_scratch& s,
             thread_pool& pool) {
  const std::size_t n_tokens = batch.n_tokens();
  const auto hidden = static_cast<std::size_t>(c.hidden_size);
  for (float_buffer* b : {&s.x, &s.q, &s.k, &s.v, &s.context}) b->reserve(n_tokens * hidden);
  s.ffn.reserve(n_tokens * static_cast<std::size_t>(c.intermediate_size));
  if (s.scores.size() < pool.size()) s.scores.resize(pool.size());

  // Where the time goes (perf, 32 texts of 128 tokens, one thread): detail::dense 93% (the
  // linears and attention's two products), the softmax 2%, LayerNorm 1% (bench/README.md).
  embeddings(c, w, batch, s.x.data(), pool);  // x is (n_tokens, hidden)
  for (const bert_layer_weights& layer : w.layers) encoder_layer(c, layer, batch, s, pool);
}

void pool(const float* hidden, std::int64_t n, std::span<const std::size_t> offsets, pooling_mode mode, float* out) {
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    const std::size_t first = offsets[s], length = offsets[s + 1] - first;
    float* o = out + s * n;
    const float* rows = hidden + first * n;
    switch (mode) {
      case pooling_mode::cls:
        std::copy_n(rows, n, o);
        break;
      case pooling_mode::max:
        std::copy_n(rows, n, o);
        for (std::size_t i = 1; i < length; ++i) {
          for (std::int64_t j = 0; j < n; ++j) o[j] = std::max(o[j], rows[i * n + j]);
        }
        break;
      case pooling_mode::mean:
      case pooling_mode::mean_sqrt_len: {
        // sentence-transformers: sum(h * mask) / sum(mask), or / sqrt(sum(mask)).
        const double divisor = mode == pooling_mode::mean ? static_cast<double>(length)
                                                          : std::sqrt(static_cast<double>(length));
        for (std::int64_t j = 0; j < n; ++j) {
          double sum = 0;
          for (std::size_t i = 0; i < length; ++i) sum += rows[i * n + j];
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
