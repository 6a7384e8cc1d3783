// minilm/tokenizer.hpp: BERT WordPiece and XLM-R SentencePiece Unigram tokenization, id for id
// the same as Hugging Face's.
//
//   minilm::tokenizer tok = minilm::tokenizer::load(minilm::read_model_folder("models/all-MiniLM-L6-v2"));
//   minilm::encoding e = tok.encode("Hello, world!");
//   e.ids;             // {101, 7592, 1010, 2088, 999, 102}: [CLS] hello , world ! [SEP]
//   e.n_truncated;     // 0: word pieces beyond max_length() - 2 that were dropped
//
//   std::vector<std::string_view> texts = {"a first text", "a second one"};
//   minilm::packed_batch p = tok.encode_batch(texts);          // ids concatenated + offsets
//   minilm::padded_batch q = tok.encode_batch_padded(texts);   // [n, max_len], right-padded
//
// The reference is the Rust `tokenizers` library as sentence-transformers drives it for a
// BERT model: the text is stripped (Python str.strip()), special tokens written in the text
// ("[SEP]", "[MASK]") are matched first, the rest goes through BertNormalizer (drop control
// characters, space around CJK ideographs, NFD, drop nonspacing marks, lowercase),
// BertPreTokenizer (split on White_Space, isolate punctuation) and WordPiece; the result is
// truncated to max_length() including [CLS] and [SEP]. The maximum length comes from
// sentence_bert_config.json, not from tokenizer.json's own truncation block.
//
// XLM-R folders (multilingual-e5, paraphrase-multilingual-*: a tokenizer.json whose model is
// "Unigram", or a sentencepiece.bpe.model) give the ids transformers 5 gives, which depend on the
// tokenizer class the folder names. XLMRobertaTokenizer (every XLM-R folder on the hub): the
// text as it is (no strip), special tokens ("<s>", "<mask>") matched first, then the
// precompiled sentencepiece charsmap (NFKC-like, per grapheme cluster), a split on
// White_Space, "▁" put before each word, and the Viterbi best path over the piece scores; the
// ids are <s> ... </s>, with a .model's pieces one id up (<pad> takes id 1). With
// PreTrainedTokenizerFast, or no class, tokenizer.json is followed as written (its Replace
// normalizers, Metaspace settings and template), as the tokenizers library runs it.
// do_lower_case is not supported with these.
//
// A tokenizer is immutable after load(): every const member may be called from many
// threads at once. Copies are cheap (they share the vocabulary).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "model_folder.hpp"

MINILM_BEGIN_NAMESPACE

// One text, ready for the encoder.
struct encoding {
  std::vector<std::int32_t> ids;             // [CLS] ... [SEP]
  std::vector<std::int32_t> type_ids;        // all 0 for a single text
  std::vector<std::int32_t> attention_mask;  // all 1
  std::size_t n_truncated = 0;               // word pieces dropped by truncation
};

// Many texts without padding: sequence i is ids[offsets[i] .. offsets[i + 1]).
struct packed_batch {
  std::vector<std::int32_t> ids;             // every sequence's ids, concatenated
  std::vector<std::int32_t> type_ids;        // same length as ids
  std::vector<std::size_t> offsets;          // size() + 1 entries; sequence i is [offsets[i], offsets[i+1])
  std::vector<std::size_t> n_truncated;      // per sequence
  std::size_t size() const noexcept { return offsets.empty() ? 0 : offsets.size() - 1; }  // number of sequences
  std::size_t n_tokens() const noexcept { return ids.size(); }
  std::size_t length(std::size_t i) const noexcept { return offsets[i + 1] - offsets[i]; }
};

// Many texts padded on the right to the longest one: row-major [n_sequences, max_len].
struct padded_batch {
  std::size_t n_sequences = 0;
  std::size_t max_len = 0;                   // the longest sequence, [CLS] and [SEP] included
  std::vector<std::int32_t> ids;             // padding positions hold pad_id
  std::vector<std::int32_t> attention_mask;  // 1 for real tokens, 0 for padding
  std::vector<std::int32_t> type_ids;        // 0 for padding too
  std::vector<std::size_t> lengths;          // real tokens per sequence
  std::vector<std::size_t> n_truncated;      // per sequence
  std::int32_t pad_id = 0;
  std::int32_t at(std::size_t row, std::size_t col) const noexcept { return ids[row * max_len + col]; }
};

// What to do with bytes that are not UTF-8.
enum class invalid_utf8 {
  error,    // throw errc::invalid_text naming the byte offset (the default)
  replace,  // decode as U+FFFD like Python's errors="replace"; BertNormalizer then drops it,
            // so "a\xffb" tokenizes as "ab" (a Unigram tokenizer keeps the U+FFFD)
};

struct tokenizer_options {
  // Tokens per sequence with [CLS] and [SEP]; 0 takes the folder's max_seq_length
  // (sentence_bert_config.json), else tokenizer_config.json's model_max_length.
  std::size_t max_length = 0;
  invalid_utf8 on_invalid_utf8 = invalid_utf8::error;
};

namespace detail {
struct tokenizer_model;
}

class MINILM_API tokenizer {
 public:
  // Reads tokenizer.json when the folder has one, else vocab.txt + tokenizer_config.json, else
  // sentencepiece.bpe.model (or sentencepiece.model) + tokenizer_config.json.
  // Settings minilm does not implement are errc::unsupported naming the file and field;
  // malformed files are errc::invalid_tokenizer / errc::invalid_json.
  static tokenizer load(const model_folder& folder, const tokenizer_options& options = {});

  // Throws errc::invalid_text (with the byte offset) for invalid UTF-8 unless the options
  // say to replace it.
  encoding encode(std::string_view text) const;
  packed_batch encode_batch(std::span<const std::string_view> texts) const;
  padded_batch encode_batch_padded(std::span<const std::string_view> texts) const;

  // The word pieces of the text without special tokens and without truncation.
  std::vector<std::int32_t> word_pieces(std::string_view text) const;

  std::size_t max_length() const noexcept;  // 256 for all-MiniLM-L6-v2, counts [CLS] and [SEP]
  std::int32_t pad_id() const noexcept;
  std::size_t vocab_size() const noexcept;
  // The id of a vocabulary entry or added token; -1 when absent.
  std::int32_t token_to_id(std::string_view token) const noexcept;

 private:
  explicit tokenizer(std::shared_ptr<const detail::tokenizer_model> model) : model_(std::move(model)) {}
  std::shared_ptr<const detail::tokenizer_model> model_;
};

MINILM_END_NAMESPACE
