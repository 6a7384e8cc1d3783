// minilm/encoder.hpp: sentence embeddings from a sentence-transformers model folder.
//
//   #include <minilm/encoder.hpp>
//
//   const minilm::encoder model = minilm::encoder::load("models/all-MiniLM-L6-v2");
//   const std::vector<std::string> texts = {"A man is eating food.", "A man is eating a piece of bread."};
//   const minilm::embeddings e = model.encode(texts);
//   // e.size() == 2, e.dimension == 384; e[i] is text i's vector (unit length: the folder
//   // asks for Normalize), e.values all of them, row-major.
//   float s = minilm::cosine(e[0], e[1]);   // <minilm/similarity.hpp>
//
//   std::vector<float> one = model.encode_one("How do I cook rice?");
//
//   minilm::encoder_options options;   // each option defaults to what the folder says
//   options.n_threads = 2;
//   options.pooling = minilm::pooling_mode::cls;
//   const minilm::encoder cls_model = minilm::encoder::load("models/all-MiniLM-L6-v2", options);
//
// An encoder is immutable after load(): it maps model.safetensors read-only and uses the
// weights in place (F32, or int8 from minilm::quantize_model: <minilm/quantize.hpp>), so
// copies are cheap and every const member may be called from many threads at once. What a
// call needs to compute (activations, threads) lives in a workspace. A call without one
// borrows one of the encoder's own (a small pool shared by its copies, one per call running
// at once), so repeated calls start no thread and touch no new memory; pass your own
// (encode_options::scratch) to control where that memory lives.
//
// A text's embedding is bitwise the same whatever batch it is in, wherever it sits in that
// batch, and whatever n_threads is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "modes.hpp"

MINILM_BEGIN_NAMESPACE

// Declared only: an application that uses them includes their headers, and one that embeds text
// reads none of the loader's or the tokenizer's.
struct model_folder;     // <minilm/model_folder.hpp>
class tokenizer;         // <minilm/tokenizer.hpp>
struct packed_batch;     // <minilm/tokenizer.hpp>
class workspace;         // below

// Choices made at load. Unset ones take the model folder's values.
struct encoder_options {
  std::optional<pooling_mode> pooling = {};  // default: 1_Pooling/config.json
  std::optional<bool> normalize = {};        // default: whether modules.json lists Normalize
  std::size_t max_seq_length = 0;            // tokens with [CLS] and [SEP]; 0: the folder's (model_folder.hpp)
  std::size_t n_threads = 1;                 // threads per call, the caller's included; 0: one per hardware thread
};

// Choices made per call. For a folder with prompts (config_sentence_transformers.json):
//
//   minilm::encode_options query;
//   query.prompt_name = "query";   // or query.prompt = "query: "
//   model.encode(texts, query);
//
// Every member has a default, so designated initializers name only what they set:
// model.encode(texts, {.scratch = &ws}).
struct encode_options {
  bool token_states = false;  // also return every token's last hidden state (before pooling)

  // The prompt put before every text, as sentence-transformers' encode(prompt_name=, prompt=):
  // a name from the folder's prompts (model_folder::prompts; "query" and "document" are always
  // known, as "" when the folder does not give them), or the prompt's text itself. With
  // neither, the folder's default_prompt_name applies, if it has one; prompt = "" asks for no
  // prompt at all. An unknown name, or both set, is errc::invalid_argument. When the folder's
  // pooling says include_prompt: false, the prompt's tokens (encoder::prompt_length()) are left
  // out of the pooling. Byte offsets in the errors about a text count from the prompt's start.
  std::optional<std::string> prompt_name = {};
  std::optional<std::string> prompt = {};

  // Where the call keeps its scratch memory and threads (minilm::workspace, below). Without one
  // it borrows one of the encoder's own.
  workspace* scratch = nullptr;
};

// The result of a call: one vector per text, and optionally every token's hidden state.
struct embeddings {
  std::size_t dimension = 0;
  std::vector<float> values;  // size() rows of `dimension` floats, row-major

  // Only when encode_options::token_states is set: the last layer's output for every token
  // ([CLS] and [SEP] included), `dimension` floats per token, the texts one after another.
  std::vector<float> token_states;
  std::vector<std::size_t> token_offsets;  // size() + 1 entries: text i has tokens [token_offsets[i], token_offsets[i+1])

  std::size_t size() const noexcept { return dimension == 0 ? 0 : values.size() / dimension; }
  std::span<const float> operator[](std::size_t i) const noexcept { return {values.data() + i * dimension, dimension}; }
  // Text i's token states: (n_tokens of text i) rows of `dimension` floats. Throws
  // errc::invalid_argument when i >= size() or the call did not ask for token states.
  std::span<const float> tokens(std::size_t i) const {
    if (token_offsets.size() != size() + 1 || i >= size()) {
      throw error(errc::invalid_argument, token_offsets.empty() ? "no token states: encode with encode_options::token_states"
                                                                : "text " + std::to_string(i) + " of " + std::to_string(size()) +
                                                                      " has no token states");
    }
    return {token_states.data() + token_offsets[i] * dimension, (token_offsets[i + 1] - token_offsets[i]) * dimension};
  }
};

namespace detail {
struct encoder_model;
struct workspace_state;
struct workspace_access;
}  // namespace detail

// Scratch memory and threads for encode calls, kept from call to call: a call given one in
// encode_options::scratch computes there. One workspace serves one call at a time. A workspace
// made before fork() may be used in the child: its threads are started again there.
class MINILM_API workspace {
 public:
  workspace();
  ~workspace();
  workspace(workspace&&) noexcept;
  workspace& operator=(workspace&&) noexcept;
  workspace(const workspace&) = delete;
  workspace& operator=(const workspace&) = delete;

 private:
  friend struct detail::workspace_access;
  std::unique_ptr<detail::workspace_state> state_;
};

class MINILM_API encoder {
 public:
  // Reads the folder (minilm/model_folder.hpp), maps and binds the weights, loads the
  // tokenizer. Throws minilm::error naming the file and what is wrong with it, or
  // errc::invalid_argument for options out of range.
  static encoder load(const std::filesystem::path& folder, const encoder_options& options = {});

  // Texts are UTF-8; invalid UTF-8 is errc::invalid_text, with the text's position in
  // error::text_index(). Texts longer than max_seq_length() tokens (the prompt's included) are
  // truncated, as sentence-transformers does.
  embeddings encode(std::span<const std::string_view> texts, const encode_options& options = {}) const;
  embeddings encode(const std::vector<std::string>& texts, const encode_options& options = {}) const;
  std::vector<float> encode_one(std::string_view text, const encode_options& options = {}) const;

  // The same into the caller's memory: out holds texts.size() rows of dimension() floats
  // (errc::invalid_argument otherwise), text i's vector at out[i * dimension()]. Of the
  // options, the prompt and the workspace apply.
  void encode(std::span<const std::string_view> texts, std::span<float> out, const encode_options& options = {}) const;

  // The same from token ids: sequence i is ids[offsets[i] .. offsets[i+1]), [CLS] ... [SEP]
  // included, type ids 0 (tokenize() and <minilm/tokenizer.hpp>'s packed_batch give both).
  // Ids out of range, empty sequences or sequences longer than the position table takes
  // (folder().config.max_tokens(); at most 16384 tokens, whatever the model allows) are
  // errc::invalid_argument, with the sequence's position in error::text_index(). No prompt
  // applies to ids: options naming one are errc::invalid_argument.
  embeddings encode_ids(std::span<const std::int32_t> ids, std::span<const std::size_t> offsets,
                        const encode_options& options = {}) const;

  // The ids encode() feeds the model for these texts and options: the prompt put before each
  // text, then tokenized and truncated to max_seq_length().
  packed_batch tokenize(std::span<const std::string_view> texts, const encode_options& options = {}) const;

  // How many tokens at the start of every sequence sentence-transformers counts as the prompt
  // these options select: the prompt tokenized alone, [CLS] / <s> included, its closing [SEP] /
  // </s> not (whether or not the text's first tokens merge with it); 0 without a prompt.
  // Pooling leaves them out when the folder's pooling says include_prompt: false.
  std::size_t prompt_length(const encode_options& options = {}) const;

  std::size_t dimension() const noexcept;       // hidden_size: 384 for all-MiniLM-L6-v2
  pooling_mode pooling() const noexcept;
  bool normalize() const noexcept;
  std::size_t max_seq_length() const noexcept;  // tokens, [CLS] and [SEP] included
  std::size_t n_threads() const noexcept;
  // How the folder stores the linear layers' weights: F32, or int8 (<minilm/quantize.hpp>).
  weight_precision precision() const noexcept;
  const model_folder& folder() const noexcept;
  const minilm::tokenizer& tokenizer() const noexcept;

 private:
  explicit encoder(std::shared_ptr<const detail::encoder_model> model) : model_(std::move(model)) {}

  std::shared_ptr<const detail::encoder_model> model_;
};

MINILM_END_NAMESPACE
