// src/tokenizer/wordpiece.hpp: BERT's WordPiece tokenizer as Hugging Face tokenizers runs it for
// sentence-transformers: the model and its readers.
//
// Internal to the library. src/tokenizer/wordpiece_files.cpp reads it from tokenizer.json or
// vocab.txt and checks it once; src/tokenizer/wordpiece.cpp is the hot path over it.
//
// Pipeline per text: str.strip() -> split out the added tokens ("[SEP]", "[MASK]" in the raw
// text) -> for each remaining segment: [lowercase, when sentence_bert_config says
// do_lower_case] -> BertNormalizer -> BertPreTokenizer -> WordPiece.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "minilm/model_folder.hpp"
#include "model.hpp"
#include "tables.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

struct tokenizer_json;

// How the fused pass treats an ASCII byte.
enum ascii_class : std::uint8_t { ascii_word, ascii_space, ascii_punct, ascii_remove };

class wordpiece_model final : public tokenizer_model {
 public:
  void tokenize(std::string_view text, std::vector<std::int32_t>& ids) const override;
  std::int32_t token_to_id(std::string_view token) const noexcept override;

  vocab_trie vocab;
  std::uint32_t continuation_root = vocab_trie::none;  // the node of the prefix ("##")
  string_table words;          // whole entries
  string_table continuations;  // entries that start with the prefix, without it
  std::int32_t unk_id = -1;
  std::size_t max_input_chars_per_word = 100;
  // Single ASCII punctuation characters are words of their own: their ids, looked up once.
  std::int32_t ascii_punct_id[128];
  std::uint8_t ascii_class_of[128];
  bool lowercase_first = false;  // sentence-transformers' do_lower_case

  // After a reader has filled the fields above: the ASCII tables, the added tokens' order
  // (src/tokenizer/wordpiece_files.cpp).
  void finish();

  // The hot path, in the order it runs (src/tokenizer/wordpiece.cpp). `word` is a reused buffer
  // for the word being built; word pieces are appended to `pieces`.
  std::string_view strip(std::string_view text, std::size_t& offset) const;
  void tokenize_segment(const unsigned char* begin, const unsigned char* end, std::size_t base_offset,
                        std::vector<std::int32_t>& pieces, std::string& word) const;
  void lowercase(const unsigned char* begin, const unsigned char* end, std::size_t base_offset,
                 std::string& lowered) const;
  void word_piece(const std::string& word, std::size_t n_chars, std::vector<std::int32_t>& pieces) const;
};

// Readers (src/tokenizer/wordpiece_files.cpp): a checked model, or minilm::error naming the
// file and the field or line.
std::shared_ptr<tokenizer_model> read_wordpiece_json(const tokenizer_json& json);
// vocab.txt + tokenizer_config.json (optional), as transformers' slow-to-fast conversion reads
// them.
std::shared_ptr<tokenizer_model> read_vocab_txt(const model_folder& folder);

}  // namespace detail
MINILM_END_NAMESPACE
