// src/tokenizer/tokenizer_json.hpp: the parts of tokenizer.json that every algorithm reads the
// same way: unknown keys, the post-processor's template, the normalizer and the added tokens.
//
// Internal to the library. Each reader knows every setting minilm implements; a model says
// which of them it runs, and the rest are errc::unsupported naming the file and the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "minilm/model_folder.hpp"
#include "model.hpp"
#include "precompiled.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

class json_value;

// A parsed tokenizer.json, as the factory hands it to the reader of its model.type.
struct tokenizer_json {
  const json_value& root;
  const std::string& source;  // "'<path>'", for messages
  const model_folder& folder;
};

// "<file>: field 'a.b'": where a value sits, for messages of helpers that take a `where`.
std::string where_of(const json_value& v);

// An object's keys must all be known: errc::unsupported naming the first other one.
void check_keys(const json_value& obj, std::initializer_list<std::string_view> known);

// The post-processor's single template (BertProcessing or TemplateProcessing) into m's prefix
// and suffix ids.
void read_template(tokenizer_model& m, const json_value& post_processor);

// One step of the normalizer (a "Sequence" keeps its order).
struct normalizer_step {
  enum kind_t : std::uint8_t {
    bert,            // BertNormalizer, uncased (clean text, CJK spacing, NFD, no accents, lowercase)
    precompiled,     // sentencepiece's charsmap (normalizer_spec::charsmap)
    replace_string,  // every occurrence of `pattern`, left to right, becomes `content`
    replace_run,     // every run of at least `min_run` copies of `pattern` (one character) becomes `content`
    strip,           // White_Space removed at the start (`left`) and/or the end (`right`)
  };
  kind_t kind = precompiled;
  std::string pattern;
  std::size_t min_run = 0;
  std::string content;
  bool left = false, right = false;
};

// What tokenizer.json's "normalizer" says: its steps in order, and the charsmap of its
// Precompiled step (one at most).
struct normalizer_spec {
  std::vector<normalizer_step> steps;
  precompiled_charsmap charsmap;
};

// The normalizer types a model runs ("Sequence" when it runs several steps); another is
// errc::unsupported "normalizer '<type>' is not supported<unsupported_suffix>".
struct normalizer_support {
  std::initializer_list<std::string_view> types;
  std::string_view unsupported_suffix;
};

// `n` must not be null.
normalizer_spec read_normalizer(const json_value& n, const normalizer_support& support);

// The added-token flags a model implements; a flag it does not is refused when set.
struct added_token_support {
  bool strip = false;       // lstrip, rstrip
  bool normalized = false;  // normalized (default: not special)
  std::int64_t max_id = 0;
};

// tokenizer.json's added_tokens, one per element of `list` and in its order, ids as written.
std::vector<added_token> read_added_tokens(const json_value& list, const added_token_support& support);

}  // namespace detail
MINILM_END_NAMESPACE
