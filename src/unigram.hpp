// src/unigram.hpp: the SentencePiece Unigram tokenizer of XLM-RoBERTa and its kin, as Hugging
// Face tokenizers runs it: the model, its pipeline settings, and the hot path.
//
// Internal to the library. The loaders of src/unigram_files.cpp fill a unigram_model and check
// it once, from tokenizer.json or from a sentencepiece.bpe.model (read by
// src/sentencepiece_model.cpp); src/unigram.cpp tokenizes with it. After load it is immutable
// and shared between threads.
//
// Pipeline per text (tokenizers' order):
//   split out the added tokens written in the raw text ("<s>", "<mask>"; lstrip / rstrip take
//   the White_Space beside them) -> per remaining segment: normalizer steps (the precompiled
//   charsmap, Replace, Strip) -> split out the added tokens matched in normalized text ->
//   [WhitespaceSplit] -> Metaspace (" " -> "▁", a "▁" put in front, a word starting at each "▁")
//   -> Viterbi over the vocabulary per word (Unigram::encode_optimized).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "minilm/model_folder.hpp"
#include "minilm/tokenizer.hpp"
#include "precompiled.hpp"
#include "tokenizer_model.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// A token matched in the text before the model sees it (tokenizers' AddedToken).
struct unigram_added_token {
  std::string content;      // what is matched: the raw text, or the normalized form (normalized)
  std::int32_t id = 0;
  bool lstrip = false;      // also takes the White_Space just before it
  bool rstrip = false;      // also takes the White_Space just after it
  bool normalized = false;  // matched in normalized text rather than in the raw text
};

// Added tokens of one kind (raw or normalized), longest first so that the first match at a
// position is the leftmost-longest one (tokenizers' Aho-Corasick, MatchKind::LeftmostLongest).
struct added_token_set {
  std::vector<unigram_added_token> tokens;
  bool first_byte[256] = {};
  void finish();
  bool empty() const noexcept { return tokens.empty(); }
};

// One step of the normalizer (a tokenizer.json "Sequence" keeps its order).
struct normalizer_step {
  enum kind_t : std::uint8_t {
    precompiled,     // the model's charsmap (unigram_model::charsmap)
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

class json_value;

enum class prepend_scheme : std::uint8_t { always, first, never };

struct unigram_model {
  // The vocabulary: piece i is pool[offsets[i] .. offsets[i + 1]) with scores[i].
  std::string pool;
  std::vector<std::uint32_t> offsets;
  std::vector<double> scores;
  vocab_trie trie;        // every piece, special ones included, for the Viterbi's prefix search
  string_table by_piece;  // piece -> id, for fused unknown runs and token_to_id()
  std::int32_t unk_id = 0;
  double unk_score = 0;   // min score - 10, tokenizers' K_UNK_PENALTY

  // Normalizer and pre-tokenizer.
  precompiled_charsmap charsmap;
  bool ascii_kept[128] = {};      // ASCII characters the charsmap leaves as they are (build())
  std::vector<normalizer_step> normalizers;
  bool whitespace_split = false;  // WhitespaceSplit before Metaspace
  std::string replacement = "\xE2\x96\x81";  // U+2581 "▁"
  prepend_scheme prepend = prepend_scheme::always;
  bool split = true;              // Metaspace cuts a word before each replacement character

  added_token_set raw_added;         // matched in the raw text
  added_token_set normalized_added;  // matched in the normalized text
  std::vector<std::pair<std::string, std::int32_t>> added_by_text;  // every added token as written
  invalid_utf8 on_invalid = invalid_utf8::error;

  std::size_t size() const noexcept { return scores.size(); }
  std::string_view piece(std::size_t id) const noexcept {
    return std::string_view(pool).substr(offsets[id], offsets[id + 1] - offsets[id]);
  }

  // Loading: append pieces, set the charsmap, then build() the lookup tables: false when the
  // trie would be too large; pieces that repeat an earlier one are listed in `duplicates` as
  // (index, the first one's index), and the tables are then not usable.
  void add_piece(std::string_view piece, double score);
  bool build(std::vector<std::pair<std::size_t, std::size_t>>& duplicates);
  // Runs the normalizer steps over `text` (valid UTF-8) into `out`; `tmp` is scratch.
  void normalize(std::string_view text, std::string& out, std::string& tmp) const;
  // The charsmap step: appends the normalized form of `text` to `out`.
  void apply_charsmap(std::string_view text, std::string& out) const;
  // The id of an added token's content or a piece; -1 when neither.
  std::int32_t token_to_id(std::string_view token) const noexcept;

  // The hot path (src/unigram.cpp): the text's pieces, appended to `ids`.
  void tokenize(std::string_view text, std::vector<std::int32_t>& ids) const;
};

// Shared with the WordPiece loader (src/tokenizer_files.cpp): an object's keys must all be
// known (errc::unsupported naming the first other one); the post-processor's single template.
void check_keys(const json_value& obj, std::initializer_list<std::string_view> known);
void read_template(tokenizer_model& m, const json_value& post_processor);

// Loaders (src/unigram_files.cpp). Both fill m.unigram (and the template, pad id and vocabulary
// size of m) or throw minilm::error naming the file and the field or byte offset.
void load_unigram_json(tokenizer_model& m, const json_value& root, const std::string& source,
                       const model_folder& folder);
void load_sentencepiece_folder(tokenizer_model& m, const model_folder& folder);

// The parsed sentencepiece ModelProto, as far as minilm reads it (src/sentencepiece_model.cpp).
struct sentencepiece_proto {
  enum piece_type : std::int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };
  struct piece {
    std::string text;
    float score = 0;
    std::int32_t type = normal;
  };
  std::vector<piece> pieces;
  std::int32_t model_type = 1;  // TrainerSpec.ModelType: 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR
  std::int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  bool byte_fallback = false;
  std::string normalizer_name;
  std::string precompiled_charsmap;
  bool add_dummy_prefix = true, remove_extra_whitespaces = true, escape_whitespaces = true;

  // Parses the protobuf wire format; `source` names the file in errors, which give the byte
  // offset. Allocation is bounded by the input's size.
  static sentencepiece_proto parse(std::string_view bytes, const std::string& source);
};

// Unicode White_Space (Rust's char::is_whitespace, the regex class \s of tokenizers).
constexpr bool is_white_space(char32_t c) noexcept {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace detail
MINILM_END_NAMESPACE
