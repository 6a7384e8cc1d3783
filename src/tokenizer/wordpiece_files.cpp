// src/tokenizer/wordpiece_files.cpp: a WordPiece model from tokenizer.json, or from vocab.txt +
// tokenizer_config.json.
//
// Every setting is checked here, once: what minilm does not implement is errc::unsupported
// naming the file and field, so that the hot path (src/tokenizer/wordpiece.cpp) can trust the
// model.
#include <algorithm>
#include <fstream>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "json.hpp"
#include "tokenizer_json.hpp"
#include "unicode.hpp"
#include "wordpiece.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

namespace {

namespace fs = std::filesystem;
namespace uc = detail::unicode;

constexpr std::int64_t max_vocab = 1 << 24;
// A vocab.txt larger than this cannot be valid: the vocabulary holds at most 2^23 bytes of
// tokens (build_vocab) and 2^24 lines.
constexpr std::uintmax_t max_vocab_txt_bytes = (std::uintmax_t{1} << 23) + (std::uintmax_t{1} << 24);

// Fills the WordPiece tables from (token, id) entries. Of entries with the same text the first
// one keeps it; returns how many later ones lost theirs.
std::size_t build_vocab(wordpiece_model& m, const std::vector<std::pair<std::string_view, std::int32_t>>& entries,
                        std::string_view prefix, const std::string& source) {
  std::vector<std::pair<std::size_t, std::size_t>> duplicates;
  if (!m.vocab.build(entries, &duplicates)) {
    throw error(errc::invalid_tokenizer, source + ": the vocabulary is too large (more than 2^23 bytes)");
  }
  std::vector<bool> shadowed(entries.size(), false);
  for (const auto& d : duplicates) shadowed[d.first] = true;
  std::vector<std::pair<std::string_view, std::int32_t>> whole, rest;
  whole.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (shadowed[i]) continue;
    const auto& [token, id] = entries[i];
    whole.emplace_back(token, id);
    if (token.size() > prefix.size() && token.substr(0, prefix.size()) == prefix) {
      rest.emplace_back(token.substr(prefix.size()), id);
    }
  }
  m.words.build(whole);
  m.continuations.build(rest);
  // A continuation piece is looked up as prefix + piece (tokenizers' WordPiece), i.e. in
  // the subtree under the prefix. Without any such entry only whole words can match.
  m.continuation_root = m.vocab.walk(prefix);
  return duplicates.size();
}

// tokenizer.json's model.vocab, read straight from the parsed document: a json_value per entry
// (each with its field path) cost more than all the tables built from them. False when
// anything is off (not an object, an id that is not an integer, out of range or used twice);
// the caller then reads the vocabulary again through json_value, which names the problem.
bool read_vocab_entries(const json_value& vocab, std::vector<std::pair<std::string_view, std::int32_t>>& entries) {
  simdjson::dom::object object;
  if (vocab.raw().get_object().get(object) != simdjson::SUCCESS) return false;
  const std::size_t n = object.size();  // saturates at 2^24 - 1
  if (n == 0 || n >= (1u << 24) - 1) return false;
  entries.clear();
  entries.reserve(n);
  std::vector<bool> used(n, false);
  for (const auto field : object) {
    std::int64_t id = 0;
    if (field.value.get_int64().get(id) != simdjson::SUCCESS || id < 0 || static_cast<std::size_t>(id) >= n ||
        used[static_cast<std::size_t>(id)]) {
      return false;
    }
    used[static_cast<std::size_t>(id)] = true;
    entries.emplace_back(field.key, static_cast<std::int32_t>(id));
  }
  return entries.size() == n;
}

// The text of a special token in tokenizer_config.json: a string or an AddedToken object.
std::optional<std::string> config_token(const json_value& root, std::string_view key) {
  auto v = root.find(key);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  return std::string(v->at("content").as_string());
}

}  // namespace

std::shared_ptr<tokenizer_model> read_wordpiece_json(const tokenizer_json& json) {
  // Complaints about the contents are errc::invalid_tokenizer unless said otherwise.
  auto model_ptr = std::make_shared<wordpiece_model>();
  wordpiece_model& m = *model_ptr;
  m.lowercase_first = json.folder.do_lower_case;
  const json_value& root = json.root;
  // truncation: sentence-transformers replaces it with max_seq_length; padding: only its
  // pad id is used (encode_batch_padded pads to the longest text like sentence-transformers);
  // decoder: minilm does not decode.
  if (auto pad = root.find("padding"); pad && !pad->is_null()) {
    if (auto id = pad->find("pad_id")) m.pad_id = static_cast<std::int32_t>(id->as_int(0, max_vocab));
  }
  const auto normalizer = root.at("normalizer");
  if (normalizer.is_null()) normalizer.fail(errc::unsupported, "a tokenizer without BertNormalizer is not supported");
  // The one step, BertNormalizer, is the fused pass of the hot path: only its settings are checked.
  read_normalizer(normalizer, {{"BertNormalizer"}, ""});
  const auto pre = root.at("pre_tokenizer");
  if (pre.is_null() || pre.at("type").as_string() != "BertPreTokenizer") {
    pre.fail(errc::unsupported, "only the BertPreTokenizer pre-tokenizer is supported");
  }
  check_keys(pre, {"type"});

  const auto model = root.at("model");
  check_keys(model, {"type", "unk_token", "continuing_subword_prefix", "max_input_chars_per_word", "vocab"});
  const std::string unk(model.at("unk_token").as_string());
  const std::string prefix = model.string_or("continuing_subword_prefix", "##");
  m.max_input_chars_per_word = static_cast<std::size_t>(model.int_or("max_input_chars_per_word", 100, 1, 1 << 20));
  std::vector<std::pair<std::string_view, std::int32_t>> entries;
  // The quick reading is trusted only when the keys are distinct too (build_vocab counts the
  // texts seen twice); otherwise the checked one below throws.
  bool quick = read_vocab_entries(model.at("vocab"), entries);
  if (quick) {
    m.vocab_size = entries.size();
    try {
      quick = build_vocab(m, entries, prefix, json.source) == 0;
    } catch (const error&) {
      quick = false;  // a duplicate key is reported before the size
    }
  }
  if (!quick) {
    const auto vocab = model.at("vocab").members();
    if (vocab.empty() || static_cast<std::int64_t>(vocab.size()) > max_vocab) {
      model.at("vocab").fail(errc::invalid_tokenizer, "the vocabulary must have between 1 and 2^24 entries");
    }
    entries.clear();
    std::vector<bool> used(vocab.size(), false);
    for (const auto& [token, value] : vocab) {
      const auto id = value.as_int(0, static_cast<std::int64_t>(vocab.size()) - 1);
      if (used[static_cast<std::size_t>(id)]) value.fail(errc::invalid_tokenizer, "id " + std::to_string(id) + " is used twice");
      used[static_cast<std::size_t>(id)] = true;
      entries.emplace_back(token, static_cast<std::int32_t>(id));
    }
    m.vocab_size = vocab.size();
    build_vocab(m, entries, prefix, json.source);
  }
  m.unk_id = m.vocab.find(unk);
  if (m.unk_id < 0) model.at("unk_token").fail(errc::invalid_tokenizer, "'" + unk + "' is not in the vocabulary");

  if (auto added = root.find("added_tokens"); added && !added->is_null()) {
    m.added.tokens = read_added_tokens(*added, {.strip = false, .normalized = false, .max_id = max_vocab});
  }
  const auto pp = root.at("post_processor");
  if (pp.is_null()) pp.fail(errc::unsupported, "a tokenizer without a post-processor ([CLS] ... [SEP]) is not supported");
  read_template(m, pp);
  for (auto* ids : {&m.prefix_ids, &m.suffix_ids}) {
    for (std::int32_t id : *ids) {
      if (static_cast<std::size_t>(id) >= m.vocab_size && std::none_of(m.added.tokens.begin(), m.added.tokens.end(), [&](const added_token& t) { return t.id == id; })) {
        pp.fail(errc::invalid_tokenizer, "special token id " + std::to_string(id) + " is outside the vocabulary");
      }
    }
  }
  if (!root.find("padding") || root.at("padding").is_null()) {
    const std::int32_t pad = m.vocab.find("[PAD]");
    if (pad >= 0) m.pad_id = pad;
  }
  m.finish();
  return model_ptr;
}

std::shared_ptr<tokenizer_model> read_vocab_txt(const model_folder& folder) {
  auto model_ptr = std::make_shared<wordpiece_model>();
  wordpiece_model& m = *model_ptr;
  m.lowercase_first = folder.do_lower_case;
  const fs::path& vocab_file = folder.vocab_txt;
  const fs::path& config_file = folder.tokenizer_config_json;
  std::string unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", mask = "[MASK]";
  std::optional<json_document> config;
  if (!config_file.empty()) {
    config.emplace(json_document::parse_file(config_file));
    const auto root = config->root();
    if (!root.bool_or("do_lower_case", true)) {
      root.at("do_lower_case").fail(errc::unsupported, "only do_lower_case: true (uncased BERT) is supported");
    }
    if (!root.bool_or("tokenize_chinese_chars", true)) {
      root.at("tokenize_chinese_chars").fail(errc::unsupported, "only tokenize_chinese_chars: true is supported");
    }
    if (auto s = root.find("strip_accents"); s && !s->is_null() && !s->as_bool()) {
      s->fail(errc::unsupported, "only strip_accents: null or true is supported");
    }
    if (!root.bool_or("do_basic_tokenize", true)) {
      root.at("do_basic_tokenize").fail(errc::unsupported, "only do_basic_tokenize: true is supported");
    }
    if (auto ns = root.find("never_split"); ns && !ns->is_null()) {
      ns->fail(errc::unsupported, "never_split is not supported");
    }
    if (auto v = config_token(root, "unk_token")) unk = *v;
    if (auto v = config_token(root, "cls_token")) cls = *v;
    if (auto v = config_token(root, "sep_token")) sep = *v;
    if (auto v = config_token(root, "pad_token")) pad = *v;
    if (auto v = config_token(root, "mask_token")) mask = *v;
  }
  std::ifstream in(vocab_file, std::ios::binary);
  if (!in) throw error(errc::io, vocab_file.string() + ": cannot open the vocabulary");
  auto too_large = [&](const std::string& size) {
    return error(errc::invalid_tokenizer, vocab_file.string() + ": " + size + " bytes, more than a vocabulary file may hold (" +
                                              std::to_string(max_vocab_txt_bytes) + ")");
  };
  std::error_code ec;
  if (const std::uintmax_t size = fs::file_size(vocab_file, ec); !ec && size > max_vocab_txt_bytes) {
    throw too_large(std::to_string(size));
  }
  std::string line;
  std::int32_t id = 0;
  std::uintmax_t bytes = 0;  // the file may grow while it is read
  std::unordered_map<std::string, std::int32_t> seen;
  while (std::getline(in, line)) {
    bytes += line.size() + 1;
    if (bytes > max_vocab_txt_bytes) throw too_large("over " + std::to_string(max_vocab_txt_bytes));
    if (id >= max_vocab) throw error(errc::invalid_tokenizer, vocab_file.string() + ": more than 2^24 lines");
    // transformers' load_vocab strips the trailing newline only; a later duplicate wins.
    seen[line] = id;
    ++id;
  }
  if (id == 0) throw error(errc::invalid_tokenizer, vocab_file.string() + ": the vocabulary is empty");
  std::vector<std::pair<std::string_view, std::int32_t>> entries(seen.begin(), seen.end());
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  m.vocab_size = static_cast<std::size_t>(id);
  build_vocab(m, entries, "##", "'" + vocab_file.string() + "'");
  auto need = [&](const std::string& t, const char* what) {
    const std::int32_t i = m.vocab.find(t);
    if (i < 0) throw error(errc::invalid_tokenizer, vocab_file.string() + ": the " + what + " '" + t + "' is not in the vocabulary");
    return i;
  };
  m.unk_id = need(unk, "unknown token");
  m.prefix_ids = {need(cls, "cls token")};
  m.suffix_ids = {need(sep, "sep token")};
  m.prefix_type_ids = {0};
  m.suffix_type_ids = {0};
  m.pad_id = need(pad, "pad token");
  // The slow-to-fast conversion makes every special token an added token matched in the text.
  for (const std::string* t : {&pad, &unk, &cls, &sep, &mask}) {
    const std::int32_t i = m.vocab.find(*t);
    if (i >= 0) m.added.tokens.push_back({*t, i});
  }
  m.finish();
  return model_ptr;
}

void wordpiece_model::finish() {
  for (unsigned c = 0; c < 128; ++c) {
    std::uint8_t cls = ascii_word;
    const uc::record& r = uc::lookup(c);
    if (r.flags & uc::remove) cls = ascii_remove;
    else if (r.flags & uc::white_space) cls = ascii_space;
    else if (r.flags & uc::punctuation) cls = ascii_punct;
    ascii_class_of[c] = cls;
    const char ch = static_cast<char>(c);
    ascii_punct_id[c] = cls == ascii_punct ? vocab.find({&ch, 1}) : -1;
  }
  added.finish();
}

}  // namespace detail
MINILM_END_NAMESPACE
