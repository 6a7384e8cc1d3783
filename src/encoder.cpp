// The encoder: a text's way to its vector, as sentence-transformers' modules run it. Tokenize
// (with the prompt, src/prompts.hpp), pack the batch into forward passes, run the transformer
// (src/bert.hpp), pool and normalize (src/pooling.hpp); a call computes in a workspace
// (src/workspace.hpp).

#include "minilm/encoder.hpp"

#include <algorithm>
#include <thread>

#include "bert.hpp"
#include "gemm.hpp"
#include "minilm/safetensors.hpp"
#include "minilm/weights.hpp"
#include "pooling.hpp"
#include "prompts.hpp"
#include "workspace.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// Everything load() reads; never modified afterwards, but for the pool of idle workspaces.
struct encoder_model {
  model_folder folder;
  bert_weights weights;  // holding the file's mapping
  minilm::tokenizer tok;
  pooling_mode pooling;
  bool normalize;
  std::size_t n_threads;
  prompt_table prompts;
  mutable workspace_pool idle;
};

namespace {

// At most this many tokens go through one forward pass: a long list of texts is cut into
// passes so that the activations stay bounded (about 14 KB per token for all-MiniLM-L6-v2).
// Results do not depend on the cut: rows are independent.
constexpr std::size_t max_tokens_per_pass = 4096;

// Sequences [s0, s1) of batch into pass, their offsets counted from 0.
void cut_pass(const packed_batch& batch, std::size_t s0, std::size_t s1, packed_batch& pass) {
  const std::size_t first = batch.offsets[s0], last = batch.offsets[s1];
  pass.ids.assign(batch.ids.begin() + static_cast<std::ptrdiff_t>(first),
                  batch.ids.begin() + static_cast<std::ptrdiff_t>(last));
  if (batch.type_ids.empty()) {
    pass.type_ids.clear();
  } else {
    pass.type_ids.assign(batch.type_ids.begin() + static_cast<std::ptrdiff_t>(first),
                         batch.type_ids.begin() + static_cast<std::ptrdiff_t>(last));
  }
  pass.offsets.resize(s1 - s0 + 1);
  for (std::size_t s = s0; s <= s1; ++s) pass.offsets[s - s0] = batch.offsets[s] - first;
}

// Embeds a batch of token ids: pooled[i * hidden ...] gets sequence i's vector (normalized when
// the model says so) and, when token_states is not null, token_states[t * hidden ...] token t's
// last hidden state. Runs whole sequences per pass, up to max_tokens_per_pass tokens (a longer
// sequence goes alone).
void embed_batch(const encoder_model& m, const packed_batch& batch, std::size_t n_skipped, workspace_state& ws,
                 float* pooled, float* token_states) {
  const bert_config& config = m.folder.config;
  check_batch(batch, config);
  const auto hidden = static_cast<std::size_t>(config.hidden_size);
  const std::size_t n_sequences = batch.size();
  thread_pool& threads = ws.pool(m.n_threads);

  for (std::size_t s0 = 0; s0 < n_sequences;) {
    std::size_t s1 = s0 + 1;
    while (s1 < n_sequences && batch.offsets[s1 + 1] - batch.offsets[s0] <= max_tokens_per_pass) ++s1;
    cut_pass(batch, s0, s1, ws.pass);
    forward(config, m.weights, ws.pass, ws.scratch, threads);
    const float* states = ws.scratch.x.data();  // (n_tokens, hidden): the last hidden states
    pool_sequences(states, config.hidden_size, ws.pass.offsets, m.pooling, n_skipped, pooled + s0 * hidden);
    if (token_states) {
      std::copy_n(states, ws.pass.n_tokens() * hidden, token_states + batch.offsets[s0] * hidden);
    }
    s0 = s1;
  }
  if (m.normalize) normalize_rows(pooled, n_sequences, config.hidden_size);
}

// embed_batch into a new embeddings.
embeddings embed_batch(const encoder_model& m, const packed_batch& batch, std::size_t n_skipped, workspace_state& ws,
                       const encode_options& options) {
  const auto hidden = static_cast<std::size_t>(m.folder.config.hidden_size);
  embeddings out;
  out.dimension = hidden;
  out.values.resize(batch.size() * hidden);
  if (options.token_states) {
    out.token_states.resize(batch.n_tokens() * hidden);
    out.token_offsets.assign(batch.offsets.begin(), batch.offsets.end());
  }
  embed_batch(m, batch, n_skipped, ws, out.values.data(), options.token_states ? out.token_states.data() : nullptr);
  return out;
}

// How many tokens of every sequence the pooling leaves out for this prompt.
std::size_t skipped_by_pooling(const encoder_model& m, const prompt_tokens& prompt) {
  return m.folder.pooling.include_prompt ? 0 : prompt.length;
}

// The texts, tokenized as one batch with the options' prompt, through embed_batch.
embeddings embed_texts(const encoder_model& m, std::span<const std::string_view> texts, workspace_state& ws,
                       const encode_options& options) {
  const prompt_tokens prompt = m.prompts.choose(options, m.tok);
  const packed_batch batch = tokenize_prompted(m.tok, texts, prompt.text);
  return embed_batch(m, batch, skipped_by_pooling(m, prompt), ws, options);
}

// The same into out, which must hold texts.size() rows of hidden_size floats.
void embed_texts(const encoder_model& m, std::span<const std::string_view> texts, workspace_state& ws,
                 std::span<float> out, const encode_options& options) {
  const auto dim = static_cast<std::size_t>(m.folder.config.hidden_size);
  if (out.size() != texts.size() * dim) {
    throw error(errc::invalid_argument, "the output has room for " + std::to_string(out.size()) + " floats; " +
                                            std::to_string(texts.size()) + " texts of dimension " +
                                            std::to_string(dim) + " need " + std::to_string(texts.size() * dim));
  }
  const prompt_tokens prompt = m.prompts.choose(options, m.tok);
  const packed_batch batch = tokenize_prompted(m.tok, texts, prompt.text);
  embed_batch(m, batch, skipped_by_pooling(m, prompt), ws, out.data(), nullptr);
}

// encode_ids() takes ids as they are: options that ask for a prompt are a mistake.
void check_no_prompt(const encode_options& options) {
  if (options.prompt || options.prompt_name) {
    throw error(errc::invalid_argument, "encode_ids takes token ids: a prompt applies to texts only");
  }
}

}  // namespace

// The workspace a call computes in: the options' (encode_options::scratch) or one borrowed from
// the encoder's pool for the call.
struct workspace_access {
  static call_workspace of(const encoder_model& m, const encode_options& options) {
    return call_workspace(m.idle, options.scratch ? options.scratch->state_.get() : nullptr);
  }
};

}  // namespace detail

encoder encoder::load(const std::filesystem::path& path, const encoder_options& options) {
  detail::gemm_isa_override();  // a MINILM_ISA the processor cannot run is an error here, not a silent fallback
  model_folder folder = read_model_folder(path);
  if (options.max_seq_length != 0) {
    if (options.max_seq_length < 2 || options.max_seq_length > static_cast<std::size_t>(folder.config.max_tokens())) {
      throw error(errc::invalid_argument,
                  "max_seq_length " + std::to_string(options.max_seq_length) + " is outside [2, " +
                      std::to_string(folder.config.max_tokens()) + "], the tokens the position table takes (" +
                      (folder.config.roberta_family() ? "max_position_embeddings " +
                                                            std::to_string(folder.config.max_position_embeddings) +
                                                            " less pad_token_id + 1 = " +
                                                            std::to_string(folder.config.position_offset)
                                                      : "max_position_embeddings") +
                      ")");
    }
    folder.max_seq_length = static_cast<std::int64_t>(options.max_seq_length);
  }
  std::size_t n_threads = options.n_threads;
  if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
  if (n_threads > 1024) throw error(errc::invalid_argument, "n_threads " + std::to_string(n_threads) + " is above 1024");

  safetensors_file file = safetensors_file::open(folder.weights);
  bert_weights weights = bind_bert_weights(file, folder.config);
  // Every forward pass reads each layer's weights whole: their pages are mapped in now, in one
  // call, rather than in hundreds of page faults during the first pass. The word embeddings
  // (most of the file; a text reads a few rows) fault in as they are read.
  for (const tensor_view& t : file.tensors()) {
    if (t.name().find("word_embeddings") == std::string::npos) file.populate(t.bytes());
  }
  minilm::tokenizer tok = tokenizer::load(folder);
  if (tok.vocab_size() > static_cast<std::size_t>(folder.config.vocab_size)) {
    throw error(errc::invalid_config, "'" + (folder.path / "config.json").string() + "': vocab_size (" +
                                          std::to_string(folder.config.vocab_size) + ") is smaller than the tokenizer's vocabulary (" +
                                          std::to_string(tok.vocab_size()) + " tokens)");
  }
  detail::prompt_table prompts(folder, tok);
  const pooling_mode pooling = options.pooling.value_or(folder.pooling.mode);
  const bool normalize = options.normalize.value_or(folder.normalize);
  return encoder(std::make_shared<const detail::encoder_model>(detail::encoder_model{
      std::move(folder), std::move(weights), std::move(tok), pooling, normalize, n_threads,
      std::move(prompts), {}}));
}

embeddings encoder::encode(std::span<const std::string_view> texts, const encode_options& options) const {
  return detail::embed_texts(*model_, texts, *detail::workspace_access::of(*model_, options), options);
}

embeddings encoder::encode(const std::vector<std::string>& texts, const encode_options& options) const {
  const std::vector<std::string_view> views(texts.begin(), texts.end());
  return encode(views, options);
}

void encoder::encode(std::span<const std::string_view> texts, std::span<float> out,
                     const encode_options& options) const {
  detail::embed_texts(*model_, texts, *detail::workspace_access::of(*model_, options), out, options);
}

std::vector<float> encoder::encode_one(std::string_view text, const encode_options& options) const {
  const detail::prompt_tokens prompt = model_->prompts.choose(options, model_->tok);
  // A single text: its errors name no index.
  encoding e = prompt.text.empty() ? model_->tok.encode(text) : model_->tok.encode(prompt.text + std::string(text));
  const std::size_t n_tokens = e.ids.size();
  const packed_batch batch{std::move(e.ids), std::move(e.type_ids), {0, n_tokens}, {e.n_truncated}};
  std::vector<float> out(dimension());
  detail::embed_batch(*model_, batch, detail::skipped_by_pooling(*model_, prompt),
                      *detail::workspace_access::of(*model_, options), out.data(), nullptr);
  return out;
}

embeddings encoder::encode_ids(std::span<const std::int32_t> ids, std::span<const std::size_t> offsets,
                               const encode_options& options) const {
  detail::check_no_prompt(options);
  const packed_batch batch{{ids.begin(), ids.end()}, {}, {offsets.begin(), offsets.end()}, {}};
  return detail::embed_batch(*model_, batch, 0, *detail::workspace_access::of(*model_, options), options);
}

packed_batch encoder::tokenize(std::span<const std::string_view> texts, const encode_options& options) const {
  return detail::tokenize_prompted(model_->tok, texts, model_->prompts.choose(options, model_->tok).text);
}

std::size_t encoder::prompt_length(const encode_options& options) const {
  return model_->prompts.choose(options, model_->tok).length;
}

std::size_t encoder::dimension() const noexcept { return static_cast<std::size_t>(model_->folder.config.hidden_size); }
pooling_mode encoder::pooling() const noexcept { return model_->pooling; }
bool encoder::normalize() const noexcept { return model_->normalize; }
std::size_t encoder::max_seq_length() const noexcept { return static_cast<std::size_t>(model_->folder.max_seq_length); }
std::size_t encoder::n_threads() const noexcept { return model_->n_threads; }
weight_precision encoder::precision() const noexcept { return model_->weights.precision; }
const model_folder& encoder::folder() const noexcept { return model_->folder; }
const minilm::tokenizer& encoder::tokenizer() const noexcept { return model_->tok; }

MINILM_END_NAMESPACE
