// src/prompts.hpp: sentence-transformers' prompts, the text put before every text encoded
// (SentenceTransformer.encode(prompt_name=, prompt=)), and how many of their tokens it counts as
// the prompt's, which the pooling may leave out.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "minilm/encoder.hpp"
#include "minilm/model_folder.hpp"
#include "minilm/tokenizer.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// A prompt ready to use: its text and how many tokens sentence-transformers counts as its own.
struct prompt_tokens {
  std::string text;     // "": no prompt
  std::size_t length;   // encoder::prompt_length()
};

// The folder's prompts by name, "query" and "document" included, measured once at load.
class prompt_table {
 public:
  // Throws minilm::error naming config_sentence_transformers.json and the prompt when a prompt
  // cannot be tokenized.
  prompt_table(const model_folder& folder, const minilm::tokenizer& tok);

  // The prompt the options select, as sentence-transformers' _resolve_prompt: the literal prompt,
  // else the named one, else the folder's default. Literal prompts are measured here. An unknown
  // name, or both set, is errc::invalid_argument.
  prompt_tokens choose(const encode_options& options, const minilm::tokenizer& tok) const;

 private:
  std::vector<std::pair<std::string, prompt_tokens>> prompts_;
  std::optional<std::string> default_name_;
};

// The texts with the prompt before each, tokenized as one batch.
packed_batch tokenize_prompted(const minilm::tokenizer& tok, std::span<const std::string_view> texts,
                               std::string_view prompt);

}  // namespace detail
MINILM_END_NAMESPACE
