#include "minilm/encoder.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif

#include "bert.hpp"
#include "gemm.hpp"
#include "minilm/safetensors.hpp"
#include "minilm/weights.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

// What fork() must not break. A pool's threads exist only in the process that started them: a
// pool made before a fork (a model used in a Gunicorn --preload master, say) is dead in the
// child, which must neither wait for its threads nor join them; so forks are counted. And the
// lock of the encoders' idle workspaces is held across fork(), so that a child never inherits
// it taken by another thread of the parent.
struct fork_safety {
  std::mutex idle_workspaces;
  std::atomic<std::uint64_t> forks{0};  // since this process (or an ancestor) first used it

  static fork_safety& get() {
    static fork_safety f;
    return f;
  }

 private:
  fork_safety() {
#if defined(__unix__) || defined(__APPLE__)
    ::pthread_atfork([] { get().idle_workspaces.lock(); }, [] { get().idle_workspaces.unlock(); },
                     [] {
                       get().forks.fetch_add(1, std::memory_order_relaxed);
                       get().idle_workspaces.unlock();
                     });
#endif
  }
};

std::uint64_t fork_generation() { return fork_safety::get().forks.load(std::memory_order_relaxed); }

}  // namespace

struct workspace_state {
  forward_scratch scratch;
  std::unique_ptr<thread_pool> threads;
  std::uint64_t threads_generation = 0;  // fork_generation() when the threads were started
  std::vector<std::size_t> offsets;      // one pass's offsets, from 0

  workspace_state() = default;
  workspace_state(const workspace_state&) = delete;
  workspace_state& operator=(const workspace_state&) = delete;
  ~workspace_state() { drop_threads_of_parent(); }

  // The pool of n threads, started on first use and kept for later calls.
  thread_pool& pool(std::size_t n) {
    drop_threads_of_parent();
    if (!threads || threads->size() != n) {
      threads_generation = fork_generation();
      threads.reset();
      threads = std::make_unique<thread_pool>(n);
    }
    return *threads;
  }

  // After a fork the pool's threads are the parent's: its memory is left as it is (joining them
  // would wait forever).
  void drop_threads_of_parent() noexcept {
    if (threads && threads_generation != fork_generation()) (void)threads.release();
  }
};

// The workspaces of calls made without one: a call takes an idle one (or makes one) and gives it
// back when it returns, so that threads and scratch are made once, not per call. Calls that run
// at the same time each have their own; at most max_idle are kept between calls. (One lock for
// every encoder's idle list: it is held for a push or a pop.)
class workspace_pool {
 public:
  workspace_pool() { idle_.reserve(max_idle); }  // give_back() never allocates

  std::unique_ptr<workspace_state> take() {
    {
      std::lock_guard lock(fork_safety::get().idle_workspaces);
      if (!idle_.empty()) {
        std::unique_ptr<workspace_state> ws = std::move(idle_.back());
        idle_.pop_back();
        return ws;
      }
    }
    return std::make_unique<workspace_state>();
  }

  void give_back(std::unique_ptr<workspace_state> ws) noexcept {
    std::unique_lock lock(fork_safety::get().idle_workspaces);
    if (idle_.size() < max_idle) {
      idle_.push_back(std::move(ws));
    } else {
      lock.unlock();
      ws.reset();  // its threads are joined outside the lock
    }
  }

 private:
  const std::size_t max_idle = std::max(2u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<workspace_state>> idle_;
};

// A prompt ready to use: its text and how many tokens sentence-transformers counts as its own.
struct prompt_tokens {
  std::string text;     // "": no prompt
  std::size_t length;   // encoder::prompt_length()
};

// Everything load() reads; never modified afterwards, but for the pool of idle workspaces.
struct encoder_model {
  model_folder folder;
  safetensors_file file;
  bert_weights weights;
  minilm::tokenizer tok;
  pooling_mode pooling;
  bool normalize;
  std::size_t n_threads;
  // The folder's prompts by name, "query" and "document" included, measured at load.
  std::vector<std::pair<std::string, prompt_tokens>> prompts;
  mutable workspace_pool idle;
};

namespace {

// At most this many tokens go through one forward pass: a long list of texts is cut into
// passes so that the activations stay bounded (about 14 KB per token for all-MiniLM-L6-v2).
// Results do not depend on the cut: rows are independent.
constexpr std::size_t max_tokens_per_pass = 4096;

// Embeds a batch of token ids: pooled[i * hidden ...] gets sequence i's vector (normalized when
// the model says so) and, when token_states is not null, token_states[t * hidden ...] token t's
// last hidden state. Runs whole sequences per pass, up to max_tokens_per_pass tokens (a longer
// sequence goes alone).
void embed_batch(const encoder_model& m, const token_batch& batch, std::size_t n_skipped, workspace_state& ws,
                 float* pooled, float* token_states) {
  const bert_config& config = m.folder.config;
  check_token_batch(batch, config);
  const auto hidden = static_cast<std::size_t>(config.hidden_size);
  const std::size_t n_sequences = batch.n_sequences();
  thread_pool& threads = ws.pool(m.n_threads);

  for (std::size_t s0 = 0; s0 < n_sequences;) {
    std::size_t s1 = s0 + 1;
    while (s1 < n_sequences && batch.offsets[s1 + 1] - batch.offsets[s0] <= max_tokens_per_pass) ++s1;
    const std::size_t first = batch.offsets[s0], last = batch.offsets[s1];
    ws.offsets.resize(s1 - s0 + 1);
    for (std::size_t s = s0; s <= s1; ++s) ws.offsets[s - s0] = batch.offsets[s] - first;
    const token_batch pass{batch.ids.subspan(first, last - first),
                           batch.type_ids.empty() ? batch.type_ids : batch.type_ids.subspan(first, last - first),
                           ws.offsets};

    forward(config, m.weights, pass, ws.scratch, threads);  // scratch.x is (n_tokens, hidden)
    pool_sequences(ws.scratch.x.data(), config.hidden_size, ws.offsets, m.pooling, n_skipped, pooled + s0 * hidden);
    if (token_states) std::copy_n(ws.scratch.x.data(), (last - first) * hidden, token_states + first * hidden);
    s0 = s1;
  }
  if (m.normalize) normalize_rows(pooled, n_sequences, config.hidden_size);
}

// embed_batch into a new embeddings.
embeddings embed_batch(const encoder_model& m, const token_batch& batch, std::size_t n_skipped, workspace_state& ws,
                       const encode_options& options) {
  const auto hidden = static_cast<std::size_t>(m.folder.config.hidden_size);
  embeddings out;
  out.dimension = hidden;
  out.values.resize(batch.n_sequences() * hidden);
  if (options.token_states) {
    out.token_states.resize(batch.n_tokens() * hidden);
    out.token_offsets.assign(batch.offsets.begin(), batch.offsets.end());
  }
  embed_batch(m, batch, n_skipped, ws, out.values.data(), options.token_states ? out.token_states.data() : nullptr);
  return out;
}

// An idle workspace of the encoder's, for the length of one call.
class pooled_workspace {
 public:
  explicit pooled_workspace(const encoder_model& m) : m_(m), ws_(m.idle.take()) {}
  ~pooled_workspace() { m_.idle.give_back(std::move(ws_)); }
  pooled_workspace(const pooled_workspace&) = delete;
  pooled_workspace& operator=(const pooled_workspace&) = delete;
  workspace_state& operator*() const noexcept { return *ws_; }

 private:
  const encoder_model& m_;
  std::unique_ptr<workspace_state> ws_;
};

token_batch batch_of(const packed_batch& p) { return {p.ids, p.type_ids, p.offsets}; }

// The tokens sentence-transformers counts as the prompt's (Transformer._get_prompt_length): the
// prompt tokenized alone, truncated like any text, less its last token when that is a special
// token. Here: when it is the template's closing token, the last id the template puts around
// an empty text ([SEP], </s>).
std::size_t count_prompt_tokens(const minilm::tokenizer& tok, std::string_view prompt) {
  if (prompt.empty()) return 0;
  const std::vector<std::int32_t> ids = tok.encode(prompt).ids;
  const std::vector<std::int32_t> template_ids = tok.encode("").ids;
  std::size_t n = ids.size();
  if (n != 0 && !template_ids.empty() && ids.back() == template_ids.back()) --n;
  return n;
}

// The prompt the options select, as sentence-transformers' _resolve_prompt: the literal prompt,
// else the named one, else the folder's default. Literal prompts are measured here; named ones
// were measured at load.
prompt_tokens choose_prompt(const encoder_model& m, const encode_options& options) {
  if (options.prompt && options.prompt_name) {
    throw error(errc::invalid_argument, "give a prompt or a prompt name, not both (prompt_name '" +
                                            *options.prompt_name + "')");
  }
  if (options.prompt) {
    try {
      return {*options.prompt, count_prompt_tokens(m.tok, *options.prompt)};
    } catch (const error& e) {
      throw error(e.code(), "the prompt: " + std::string(e.what()).substr(8));  // without "minilm: "
    }
  }
  const std::optional<std::string>& name = options.prompt_name ? options.prompt_name : m.folder.default_prompt_name;
  if (!name) return {"", 0};
  for (const auto& [known, p] : m.prompts) {
    if (known == *name) return p;
  }
  std::string names;
  for (const auto& [known, p] : m.prompts) names += (names.empty() ? "'" : ", '") + known + "'";
  throw error(errc::invalid_argument, "no prompt named '" + *name + "' (the prompts are " + names + ")");
}

// The texts with the prompt before each, tokenized as one batch.
packed_batch tokenize_texts(const encoder_model& m, std::span<const std::string_view> texts, std::string_view prompt) {
  if (prompt.empty()) return m.tok.encode_batch(texts);
  std::vector<std::string> prompted;
  prompted.reserve(texts.size());
  for (std::string_view text : texts) (prompted.emplace_back(prompt) += text);
  const std::vector<std::string_view> views(prompted.begin(), prompted.end());
  return m.tok.encode_batch(views);
}

// How many tokens of every sequence the pooling leaves out for this prompt.
std::size_t skipped_by_pooling(const encoder_model& m, const prompt_tokens& prompt) {
  return m.folder.pooling.include_prompt ? 0 : prompt.length;
}

// The texts, tokenized as one batch with the options' prompt, through embed_batch.
embeddings embed_texts(const encoder_model& m, std::span<const std::string_view> texts, workspace_state& ws,
                       const encode_options& options) {
  const prompt_tokens prompt = choose_prompt(m, options);
  const packed_batch batch = tokenize_texts(m, texts, prompt.text);
  return embed_batch(m, batch_of(batch), skipped_by_pooling(m, prompt), ws, options);
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
  const prompt_tokens prompt = choose_prompt(m, options);
  const packed_batch batch = tokenize_texts(m, texts, prompt.text);
  embed_batch(m, batch_of(batch), skipped_by_pooling(m, prompt), ws, out.data(), nullptr);
}

// encode_ids() takes ids as they are: options that ask for a prompt are a mistake.
void check_no_prompt(const encode_options& options) {
  if (options.prompt || options.prompt_name) {
    throw error(errc::invalid_argument, "encode_ids takes token ids: a prompt applies to texts only");
  }
}

}  // namespace
}  // namespace detail

workspace::workspace() : state_(std::make_unique<detail::workspace_state>()) {}
workspace::~workspace() = default;
workspace::workspace(workspace&&) noexcept = default;
workspace& workspace::operator=(workspace&&) noexcept = default;

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
  // sentence-transformers knows "query" and "document" (as "") beside the folder's prompts.
  std::vector<std::pair<std::string, detail::prompt_tokens>> prompts;
  for (const char* name : {"query", "document"}) prompts.push_back({name, {"", 0}});
  for (const prompt& p : folder.prompts) {
    detail::prompt_tokens measured{p.text, 0};
    try {
      measured.length = detail::count_prompt_tokens(tok, p.text);
    } catch (const error& e) {
      throw error(e.code(), "'" + (folder.path / "config_sentence_transformers.json").string() + "': prompt '" +
                                p.name + "': " + std::string(e.what()).substr(8));  // without "minilm: "
    }
    auto same = std::find_if(prompts.begin(), prompts.end(), [&](const auto& q) { return q.first == p.name; });
    if (same != prompts.end()) same->second = std::move(measured);
    else prompts.push_back({p.name, std::move(measured)});
  }
  const pooling_mode pooling = options.pooling.value_or(folder.pooling.mode);
  const bool normalize = options.normalize.value_or(folder.normalize);
  return encoder(std::make_shared<const detail::encoder_model>(detail::encoder_model{
      std::move(folder), std::move(file), std::move(weights), std::move(tok), pooling, normalize, n_threads,
      std::move(prompts), {}}));
}

embeddings encoder::encode(std::span<const std::string_view> texts, workspace& ws,
                           const encode_options& options) const {
  return detail::embed_texts(*model_, texts, *ws.state_, options);
}

embeddings encoder::encode(std::span<const std::string_view> texts, const encode_options& options) const {
  return detail::embed_texts(*model_, texts, *detail::pooled_workspace(*model_), options);
}

embeddings encoder::encode(const std::vector<std::string>& texts, const encode_options& options) const {
  const std::vector<std::string_view> views(texts.begin(), texts.end());
  return encode(views, options);
}

void encoder::encode(std::span<const std::string_view> texts, std::span<float> out, workspace& ws,
                     const encode_options& options) const {
  detail::embed_texts(*model_, texts, *ws.state_, out, options);
}

void encoder::encode(std::span<const std::string_view> texts, std::span<float> out,
                     const encode_options& options) const {
  detail::embed_texts(*model_, texts, *detail::pooled_workspace(*model_), out, options);
}

std::vector<float> encoder::encode_one(std::string_view text, const encode_options& options) const {
  const detail::prompt_tokens prompt = detail::choose_prompt(*model_, options);
  // A single text: its errors name no index.
  const encoding e = prompt.text.empty() ? model_->tok.encode(text)
                                         : model_->tok.encode(prompt.text + std::string(text));
  const std::size_t offsets[] = {0, e.ids.size()};
  std::vector<float> out(dimension());
  detail::embed_batch(*model_, {e.ids, e.type_ids, offsets}, detail::skipped_by_pooling(*model_, prompt),
                      *detail::pooled_workspace(*model_), out.data(), nullptr);
  return out;
}

embeddings encoder::encode_ids(std::span<const std::int32_t> ids, std::span<const std::size_t> offsets,
                               const encode_options& options) const {
  detail::check_no_prompt(options);
  return detail::embed_batch(*model_, {ids, {}, offsets}, 0, *detail::pooled_workspace(*model_), options);
}

embeddings encoder::encode_ids(const packed_batch& batch, workspace& ws, const encode_options& options) const {
  detail::check_no_prompt(options);
  return detail::embed_batch(*model_, detail::batch_of(batch), 0, *ws.state_, options);
}

packed_batch encoder::tokenize(std::span<const std::string_view> texts, const encode_options& options) const {
  return detail::tokenize_texts(*model_, texts, detail::choose_prompt(*model_, options).text);
}

std::size_t encoder::prompt_length(const encode_options& options) const {
  return detail::choose_prompt(*model_, options).length;
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
