// src/tokenizer/unigram.hpp: the SentencePiece Unigram tokenizer of XLM-RoBERTa and its kin, as
// Hugging Face tokenizers runs it: the model, its pipeline settings, and its readers.
//
// Internal to the library. The readers of src/tokenizer/unigram_files.cpp fill a unigram_model
// and check it once, from tokenizer.json or from a sentencepiece.bpe.model (read by
// src/tokenizer/sentencepiece_model.cpp); src/tokenizer/unigram.cpp tokenizes with it.
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
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "minilm/model_folder.hpp"
#include "model.hpp"
#include "precompiled.hpp"
#include "tables.hpp"
#include "tokenizer_json.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

enum class prepend_scheme : std::uint8_t { always, first, never };

class unigram_model final : public tokenizer_model {
 public:
  void tokenize(std::string_view text, std::vector<std::int32_t>& ids) const override;
  // The id of an added token's content or a piece; -1 when neither.
  std::int32_t token_to_id(std::string_view token) const noexcept override;

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

  added_token_set normalized_added;  // matched in the normalized text (`added` in the raw text)
  std::vector<std::pair<std::string, std::int32_t>> added_by_text;  // every added token as written

  std::size_t size() const noexcept { return scores.size(); }
  std::string_view piece(std::size_t id) const noexcept {
    return std::string_view(pool).substr(offsets[id], offsets[id + 1] - offsets[id]);
  }

  // Loading (src/tokenizer/unigram.cpp, as the rest of the members): append pieces, set the
  // charsmap, then build() the lookup tables: false when the trie would be too large; pieces
  // that repeat an earlier one are listed in `duplicates` as (index, the first one's index), and
  // the tables are then not usable.
  void add_piece(std::string_view piece, double score);
  bool build(std::vector<std::pair<std::size_t, std::size_t>>& duplicates);
  // Runs the normalizer steps over `text` (valid UTF-8) into `out`; `tmp` is scratch.
  void normalize(std::string_view text, std::string& out, std::string& tmp) const;
  // The charsmap step: appends the normalized form of `text` to `out`.
  void apply_charsmap(std::string_view text, std::string& out) const;
};

// Readers (src/tokenizer/unigram_files.cpp): a checked model, or minilm::error naming the file
// and the field or byte offset.
std::shared_ptr<tokenizer_model> read_unigram_json(const tokenizer_json& json);
// sentencepiece.bpe.model (or sentencepiece.model) + tokenizer_config.json, as
// XLMRobertaTokenizer reads them.
std::shared_ptr<unigram_model> read_sentencepiece_folder(const model_folder& folder);

}  // namespace detail
MINILM_END_NAMESPACE
