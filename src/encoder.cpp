#include "minilm/encoder.hpp"

#include <algorithm>
#include <thread>

#include "minilm/detail/bert.hpp"
#include "minilm/safetensors.hpp"
#include "minilm/weights.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// Everything load() reads; never modified afterwards.
struct encoder_model {
  model_folder folder;
  safetensors_file file;
  bert_weights weights;
  minilm::tokenizer tok;
  pooling_mode pooling;
  bool normalize;
  std::size_t n_threads;
};

struct workspace_state {
  forward_scratch scratch;
  std::unique_ptr<thread_pool> pool;
  std::vector<std::size_t> offsets;  // one pass's offsets, from 0
};

}  // namespace detail

namespace {

// At most this many tokens go through one forward pass: a long list of texts is cut into
// passes so that the activations stay bounded (about 100 KB per token for all-MiniLM-L6-v2).
// Results do not depend on the cut: rows are independent.
constexpr std::size_t max_tokens_per_pass = 4096;

}  // namespace

workspace::workspace() : state_(std::make_unique<detail::workspace_state>()) {}
workspace::~workspace() = default;
workspace::workspace(workspace&&) noexcept = default;
workspace& workspace::operator=(workspace&&) noexcept = default;

encoder encoder::load(const std::filesystem::path& path, const encoder_options& options) {
  model_folder folder = read_model_folder(path);
  if (options.max_seq_length != 0) {
    if (options.max_seq_length < 2 ||
        options.max_seq_length > static_cast<std::size_t>(folder.config.max_position_embeddings)) {
      throw error(errc::invalid_argument, "max_seq_length " + std::to_string(options.max_seq_length) +
                                              " is outside [2, max_position_embeddings = " +
                                              std::to_string(folder.config.max_position_embeddings) + "]");
    }
    folder.max_seq_length = static_cast<std::int64_t>(options.max_seq_length);
  }
  std::size_t n_threads = options.n_threads;
  if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
  if (n_threads > 1024) throw error(errc::invalid_argument, "n_threads " + std::to_string(n_threads) + " is above 1024");

  safetensors_file file = safetensors_file::open(folder.weights);
  bert_weights weights = bind_bert_weights(file, folder.config);
  minilm::tokenizer tok = tokenizer::load(folder);
  if (tok.vocab_size() > static_cast<std::size_t>(folder.config.vocab_size)) {
    throw error(errc::invalid_config, "'" + (folder.path / "config.json").string() + "': vocab_size (" +
                                          std::to_string(folder.config.vocab_size) + ") is smaller than the tokenizer's vocabulary (" +
                                          std::to_string(tok.vocab_size()) + " tokens)");
  }
  const pooling_mode pooling = options.pooling.value_or(folder.pooling.mode);
  const bool normalize = options.normalize.value_or(folder.normalize);
  return encoder(std::make_shared<const detail::encoder_model>(detail::encoder_model{
      std::move(folder), std::move(file), std::move(weights), std::move(tok), pooling, normalize, n_threads}));
}

embeddings encoder::encode(std::span<const std::string_view> texts, workspace& ws,
                           const encode_options& options) const {
  const packed_batch batch = model_->tok.encode_batch(texts);
  return run(batch.ids, batch.type_ids, batch.offsets, ws, options);
}

embeddings encoder::encode(std::span<const std::string_view> texts, const encode_options& options) const {
  workspace ws;
  return encode(texts, ws, options);
}

embeddings encoder::encode(const std::vector<std::string>& texts, const encode_options& options) const {
  const std::vector<std::string_view> views(texts.begin(), texts.end());
  return encode(views, options);
}

std::vector<float> encoder::encode_one(std::string_view text) const {
  return encode(std::span<const std::string_view>(&text, 1)).values;
}

embeddings encoder::encode_ids(std::span<const std::int32_t> ids, std::span<const std::size_t> offsets,
                               const encode_options& options) const {
  workspace ws;
  return run(ids, {}, offsets, ws, options);
}

embeddings encoder::encode_ids(const packed_batch& batch, workspace& ws, const encode_options& options) const {
  return run(batch.ids, batch.type_ids, batch.offsets, ws, options);
}

embeddings encoder::run(std::span<const std::int32_t> ids, std::span<const std::int32_t> type_ids,
                        std::span<const std::size_t> offsets, workspace& ws, const encode_options& options) const {
  const detail::encoder_model& m = *model_;
  const bert_config& config = m.folder.config;
  detail::check_token_batch({ids, type_ids, offsets}, config);

  const auto dim = static_cast<std::size_t>(config.hidden_size);
  const std::size_t n_sequences = offsets.size() - 1;
  embeddings out;
  out.dimension = dim;
  out.values.resize(n_sequences * dim);
  if (options.token_states) {
    out.token_states.resize(ids.size() * dim);
    out.token_offsets.assign(offsets.begin(), offsets.end());
  }

  detail::workspace_state& state = *ws.state_;
  if (!state.pool || state.pool->size() != m.n_threads) state.pool = std::make_unique<detail::thread_pool>(m.n_threads);

  // Whole sequences per pass, up to max_tokens_per_pass tokens (a longer sequence goes alone).
  for (std::size_t s0 = 0; s0 < n_sequences;) {
    std::size_t s1 = s0 + 1;
    while (s1 < n_sequences && offsets[s1 + 1] - offsets[s0] <= max_tokens_per_pass) ++s1;
    const std::size_t first = offsets[s0], last = offsets[s1];
    state.offsets.resize(s1 - s0 + 1);
    for (std::size_t s = s0; s <= s1; ++s) state.offsets[s - s0] = offsets[s] - first;
    const detail::token_batch pass{ids.subspan(first, last - first),
                                   type_ids.empty() ? type_ids : type_ids.subspan(first, last - first), state.offsets};

    detail::forward(config, m.weights, pass, state.scratch, *state.pool);  // scratch.x is (n_tokens, hidden)
    detail::pool(state.scratch.x.data(), config.hidden_size, state.offsets, m.pooling, out.values.data() + s0 * dim);
    if (options.token_states) {
      std::copy_n(state.scratch.x.data(), (last - first) * dim, out.token_states.data() + first * dim);
    }
    s0 = s1;
  }
  if (m.normalize) detail::normalize_rows(out.values.data(), n_sequences, config.hidden_size);
  return out;
}

std::size_t encoder::dimension() const noexcept { return static_cast<std::size_t>(model_->folder.config.hidden_size); }
pooling_mode encoder::pooling() const noexcept { return model_->pooling; }
bool encoder::normalize() const noexcept { return model_->normalize; }
std::size_t encoder::max_seq_length() const noexcept { return static_cast<std::size_t>(model_->folder.max_seq_length); }
std::size_t encoder::n_threads() const noexcept { return model_->n_threads; }
const model_folder& encoder::folder() const noexcept { return model_->folder; }
const minilm::tokenizer& encoder::tokenizer() const noexcept { return model_->tok; }

MINILM_END_NAMESPACE
