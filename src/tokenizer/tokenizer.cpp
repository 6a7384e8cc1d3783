// src/tokenizer/tokenizer.cpp: minilm::tokenizer: the factory that reads a model folder and
// picks the algorithm, and the front that wraps any algorithm's pieces in the template,
// truncates them and batches them.
//
// The factory is the one place that knows the algorithms. A new one (a byte-level BPE, say)
// derives a model from tokenizer_model (src/tokenizer/model.hpp) in a file of its own, with a
// reader of tokenizer.json that json_algorithms below lists by model.type.
#include "minilm/tokenizer.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>

#include "json.hpp"
#include "mapped_file.hpp"
#include "model.hpp"
#include "tokenizer_json.hpp"
#include "unigram.hpp"
#include "wordpiece.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

namespace fs = std::filesystem;

// The algorithms a tokenizer.json's model.type names, with their readers.
struct json_algorithm {
  std::string_view model_type;
  std::shared_ptr<tokenizer_model> (*read)(const tokenizer_json&);
};
constexpr json_algorithm json_algorithms[] = {
    {"WordPiece", read_wordpiece_json},
    {"Unigram", read_unigram_json},
};

std::shared_ptr<tokenizer_model> read_tokenizer_json(const model_folder& folder) {
  // Complaints about the contents are errc::invalid_tokenizer unless said otherwise.
  const fs::path& file = folder.tokenizer_json;
  const std::string source = "'" + file.string() + "'";
  const std::string bytes = read_file(file, 256u << 20);
  auto doc = json_document::parse(bytes, source, errc::invalid_tokenizer);
  const auto root = doc.root();
  check_keys(root, {"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "model",
                    "post_processor", "decoder"});
  const auto type = root.at("model").at("type");
  const std::string_view name = type.as_string();
  for (const json_algorithm& a : json_algorithms) {
    if (a.model_type == name) return a.read({root, source, folder});
  }
  type.fail(errc::unsupported, "model '" + std::string(name) + "' is not supported");
}

// tokenizer.json when the folder has one, else vocab.txt, else a sentencepiece model.
std::shared_ptr<tokenizer_model> read_model(const model_folder& folder) {
  if (!folder.tokenizer_json.empty()) return read_tokenizer_json(folder);
  if (!folder.vocab_txt.empty()) return read_vocab_txt(folder);
  if (!folder.sentencepiece_model.empty()) return read_sentencepiece_folder(folder);
  throw error(errc::invalid_tokenizer,
              folder.path.string() + ": the folder has neither tokenizer.json, vocab.txt nor sentencepiece.bpe.model");
}

}  // namespace
}  // namespace detail

tokenizer tokenizer::load(const model_folder& folder, const tokenizer_options& options) {
  std::shared_ptr<detail::tokenizer_model> m = detail::read_model(folder);
  m->on_invalid = options.on_invalid_utf8;
  std::size_t max_length = options.max_length;
  if (max_length == 0 && folder.max_seq_length > 0) max_length = static_cast<std::size_t>(folder.max_seq_length);
  if (max_length == 0 && !folder.tokenizer_config_json.empty()) {
    auto doc = detail::json_document::parse_file(folder.tokenizer_config_json);
    max_length = static_cast<std::size_t>(doc.root().int_or("model_max_length", 512, 1, 1 << 20));
  }
  if (max_length == 0) max_length = 512;
  const std::size_t n_special = m->prefix_ids.size() + m->suffix_ids.size();
  if (max_length <= n_special) {
    throw error(errc::invalid_argument, "max_length " + std::to_string(max_length) + " leaves no room for text after " +
                                            std::to_string(n_special) + " special tokens");
  }
  m->max_length = max_length;
  return tokenizer(std::move(m));
}

std::vector<std::int32_t> tokenizer::word_pieces(std::string_view text) const {
  std::vector<std::int32_t> pieces;
  model_->tokenize(text, pieces);
  return pieces;
}

namespace {
// Appends [CLS] pieces[0..budget) [SEP] with their type ids; returns how many pieces were dropped.
std::size_t assemble(const detail::tokenizer_model& m, const std::vector<std::int32_t>& pieces,
                     std::vector<std::int32_t>& ids, std::vector<std::int32_t>& type_ids) {
  const std::size_t budget = m.max_length - m.prefix_ids.size() - m.suffix_ids.size();
  const std::size_t kept = std::min(budget, pieces.size());
  ids.insert(ids.end(), m.prefix_ids.begin(), m.prefix_ids.end());
  ids.insert(ids.end(), pieces.begin(), pieces.begin() + static_cast<std::ptrdiff_t>(kept));
  ids.insert(ids.end(), m.suffix_ids.begin(), m.suffix_ids.end());
  type_ids.insert(type_ids.end(), m.prefix_type_ids.begin(), m.prefix_type_ids.end());
  type_ids.insert(type_ids.end(), kept, m.sequence_type_id);
  type_ids.insert(type_ids.end(), m.suffix_type_ids.begin(), m.suffix_type_ids.end());
  return pieces.size() - kept;
}
}  // namespace

namespace {
// encode()'s session: the pieces before the template goes around them.
struct encode_session {
  std::vector<std::int32_t> pieces;
  void trim() { detail::release_if_above(pieces, 1u << 20); }
};
}  // namespace

encoding tokenizer::encode(std::string_view text) const {
  const detail::session_scope<encode_session> s;
  std::vector<std::int32_t>& pieces = s->pieces;
  pieces.clear();
  model_->tokenize(text, pieces);
  encoding e;
  e.ids.reserve(std::min(pieces.size(), model_->max_length) + model_->prefix_ids.size() + model_->suffix_ids.size());
  e.n_truncated = assemble(*model_, pieces, e.ids, e.type_ids);
  e.attention_mask.assign(e.ids.size(), 1);
  return e;
}

packed_batch tokenizer::encode_batch(std::span<const std::string_view> texts) const {
  packed_batch b;
  b.offsets.reserve(texts.size() + 1);
  b.n_truncated.reserve(texts.size());
  b.offsets.push_back(0);
  std::vector<std::int32_t> pieces;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    pieces.clear();
    try {
      model_->tokenize(texts[i], pieces);
    } catch (const error& e) {
      throw e.in_text(i);
    }
    b.n_truncated.push_back(assemble(*model_, pieces, b.ids, b.type_ids));
    b.offsets.push_back(b.ids.size());
  }
  return b;
}

padded_batch tokenizer::encode_batch_padded(std::span<const std::string_view> texts) const {
  const packed_batch p = encode_batch(texts);  // an error names its text (in_text above)
  padded_batch b;
  b.n_sequences = p.size();
  b.pad_id = model_->pad_id;
  b.n_truncated = p.n_truncated;
  for (std::size_t i = 0; i < p.size(); ++i) {
    b.lengths.push_back(p.length(i));
    b.max_len = std::max(b.max_len, p.length(i));
  }
  b.ids.assign(b.n_sequences * b.max_len, model_->pad_id);
  b.attention_mask.assign(b.n_sequences * b.max_len, 0);
  b.type_ids.assign(b.n_sequences * b.max_len, 0);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const std::size_t row = i * b.max_len;
    std::copy(p.ids.begin() + static_cast<std::ptrdiff_t>(p.offsets[i]),
              p.ids.begin() + static_cast<std::ptrdiff_t>(p.offsets[i + 1]), b.ids.begin() + static_cast<std::ptrdiff_t>(row));
    std::copy(p.type_ids.begin() + static_cast<std::ptrdiff_t>(p.offsets[i]),
              p.type_ids.begin() + static_cast<std::ptrdiff_t>(p.offsets[i + 1]),
              b.type_ids.begin() + static_cast<std::ptrdiff_t>(row));
    std::fill_n(b.attention_mask.begin() + static_cast<std::ptrdiff_t>(row), p.length(i), 1);
  }
  return b;
}

std::size_t tokenizer::max_length() const noexcept { return model_->max_length; }
std::int32_t tokenizer::pad_id() const noexcept { return model_->pad_id; }
std::size_t tokenizer::vocab_size() const noexcept { return model_->vocab_size; }
std::int32_t tokenizer::token_to_id(std::string_view token) const noexcept { return model_->token_to_id(token); }

MINILM_END_NAMESPACE
