// Prompts: measured as sentence-transformers measures them, chosen as it chooses them.

#include "prompts.hpp"

#include <algorithm>
#include <cstdint>

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

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

}  // namespace

prompt_table::prompt_table(const model_folder& folder, const minilm::tokenizer& tok)
    : default_name_(folder.default_prompt_name) {
  // sentence-transformers knows "query" and "document" (as "") beside the folder's prompts.
  for (const char* name : {"query", "document"}) prompts_.push_back({name, {"", 0}});
  for (const prompt& p : folder.prompts) {
    prompt_tokens measured{p.text, 0};
    try {
      measured.length = count_prompt_tokens(tok, p.text);
    } catch (const error& e) {
      throw error(e.code(), "'" + (folder.path / "config_sentence_transformers.json").string() + "': prompt '" +
                                p.name + "': " + std::string(e.what()).substr(8));  // without "minilm: "
    }
    auto same = std::find_if(prompts_.begin(), prompts_.end(), [&](const auto& q) { return q.first == p.name; });
    if (same != prompts_.end()) same->second = std::move(measured);
    else prompts_.push_back({p.name, std::move(measured)});
  }
}

prompt_tokens prompt_table::choose(const encode_options& options, const minilm::tokenizer& tok) const {
  if (options.prompt && options.prompt_name) {
    throw error(errc::invalid_argument, "give a prompt or a prompt name, not both (prompt_name '" +
                                            *options.prompt_name + "')");
  }
  if (options.prompt) {
    try {
      return {*options.prompt, count_prompt_tokens(tok, *options.prompt)};
    } catch (const error& e) {
      throw error(e.code(), "the prompt: " + std::string(e.what()).substr(8));  // without "minilm: "
    }
  }
  const std::optional<std::string>& name = options.prompt_name ? options.prompt_name : default_name_;
  if (!name) return {"", 0};
  for (const auto& [known, p] : prompts_) {
    if (known == *name) return p;
  }
  std::string names;
  for (const auto& [known, p] : prompts_) names += (names.empty() ? "'" : ", '") + known + "'";
  throw error(errc::invalid_argument, "no prompt named '" + *name + "' (the prompts are " + names + ")");
}

packed_batch tokenize_prompted(const minilm::tokenizer& tok, std::span<const std::string_view> texts,
                               std::string_view prompt) {
  if (prompt.empty()) return tok.encode_batch(texts);
  std::vector<std::string> prompted;
  prompted.reserve(texts.size());
  for (std::string_view text : texts) (prompted.emplace_back(prompt) += text);
  const std::vector<std::string_view> views(prompted.begin(), prompted.end());
  return tok.encode_batch(views);
}

}  // namespace detail
MINILM_END_NAMESPACE
