// src/tokenizer.cpp: loading the tokenizer files and the WordPiece hot path.
//
// Pipeline per text (the order of Hugging Face tokenizers, as sentence-transformers calls it):
//   str.strip() -> split out added tokens ("[SEP]", "[MASK]" in the raw text) -> for each
//   remaining segment: [lowercase, when sentence_bert_config says do_lower_case] ->
//   BertNormalizer -> BertPreTokenizer -> WordPiece -> truncate -> [CLS] ... [SEP].
// Normalization and pre-tokenization are fused into one pass over the bytes: each code
// point costs one table lookup (src/unicode.hpp) and ASCII one array lookup. Words are
// built in a reused buffer; WordPiece asks a hash table for the whole rest of the word and
// falls back to a walk down a byte trie for the longest match. Nothing is allocated per
// token; encode() allocates its result and reuses per-thread scratch.
#include "minilm/tokenizer.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "json.hpp"
#include "minilm/detail/mapped_file.hpp"
#include "unicode.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

namespace fs = std::filesystem;
namespace uc = detail::unicode;

// A string -> id map over one byte pool: open addressing, linear probing, no allocation
// on lookup. WordPiece first asks it for the whole rest of a word, which is the answer
// for most words of running text.
class string_table {
 public:
  void build(const std::vector<std::pair<std::string_view, std::int32_t>>& entries) {
    std::size_t cap = 16;
    while (cap < entries.size() * 2 + 1) cap <<= 1;
    slots_.assign(cap, slot{});
    mask_ = cap - 1;
    for (const auto& [key, id] : entries) {
      const std::uint64_t h = hash(key.data(), key.size());
      std::size_t i = h & mask_;
      while (slots_[i].id >= 0) i = (i + 1) & mask_;
      slots_[i] = {static_cast<std::uint32_t>(pool_.size()), static_cast<std::uint32_t>(key.size()),
                   static_cast<std::uint32_t>(h >> 32), id};
      pool_.append(key);
    }
  }
  std::int32_t find(const char* data, std::size_t n) const noexcept {
    const std::uint64_t h = hash(data, n);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == static_cast<std::uint32_t>(h >> 32) && s.len == n &&
          std::memcmp(pool_.data() + s.offset, data, n) == 0) {
        return s.id;
      }
    }
  }

 private:
  struct slot {
    std::uint32_t offset = 0;
    std::uint32_t len = 0;
    std::uint32_t hash = 0;
    std::int32_t id = -1;
  };
  // Eight bytes at a time with a multiply-xorshift mix: the keys are short.
  static std::uint64_t hash(const char* p, std::size_t n) noexcept {
    constexpr std::uint64_t k = 0x9E3779B97F4A7C15ull;
    std::uint64_t h = n * k;
    for (; n >= 8; p += 8, n -= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      h = (h ^ w) * k;
      h ^= h >> 29;
    }
    if (n > 0) {
      std::uint64_t w = 0;
      std::memcpy(&w, p, n);
      h = (h ^ w) * k;
      h ^= h >> 29;
    }
    h *= k;
    return h ^ (h >> 31);
  }
  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::string pool_;
};

// The vocabulary as a byte trie, so that WordPiece's greedy longest match costs one probe
// per byte of the word instead of one hash of every candidate substring. Continuation
// pieces ("##ing") need no second trie: they are the subtree under the prefix's node.
// Edges live in one open-addressing table of 8-byte slots keyed by (parent node, byte).
class vocab_trie {
 public:
  static constexpr std::uint32_t root = 0;
  static constexpr std::uint32_t none = 0xFFFFFFFFu;
  static constexpr std::uint32_t max_nodes = 1u << 23;

  // Returns false when the vocabulary needs more than max_nodes nodes.
  bool build(const std::vector<std::pair<std::string, std::int32_t>>& entries) {
    std::size_t n_bytes = 0;
    for (const auto& e : entries) n_bytes += e.first.size();
    if (n_bytes >= max_nodes) return false;
    // Insert with room for every byte, then again into a table sized to the real edge count.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;  // (key, child)
    resize(2 * n_bytes + 2);
    ids_.assign(1, -1);
    for (const auto& [token, id] : entries) {
      std::uint32_t node = root;
      for (unsigned char c : token) {
        std::uint32_t next = child(node, c);
        if (next == none) {
          next = static_cast<std::uint32_t>(ids_.size());
          ids_.push_back(-1);
          insert(key(node, c), next);
          edges.emplace_back(key(node, c), next);
        }
        node = next;
      }
      if (ids_[node] < 0) ids_[node] = id;  // the first of duplicated tokens wins
    }
    resize(2 * edges.size() + 2);
    for (const auto& [k, next] : edges) insert(k, next);
    return true;
  }
  std::uint32_t child(std::uint32_t node, unsigned char c) const noexcept {
    const std::uint32_t k = key(node, c);
    for (std::size_t i = slot_of(k);; i = (i + 1) & mask_) {
      const edge& e = edges_[i];
      if (e.key == k) return e.child;
      if (e.key == 0) return none;
    }
  }
  std::int32_t id(std::uint32_t node) const noexcept { return ids_[node]; }
  // The node reached by `s` from `from`, or none.
  std::uint32_t walk(std::string_view s, std::uint32_t from = root) const noexcept {
    std::uint32_t node = from;
    for (unsigned char c : s) {
      if (node == none) return none;
      node = child(node, c);
    }
    return node;
  }
  std::int32_t find(std::string_view s) const noexcept {
    const std::uint32_t node = walk(s);
    return node == none ? -1 : ids_[node];
  }

 private:
  struct edge {
    std::uint32_t key = 0;  // (parent << 8 | byte) + 1; 0 marks an empty slot
    std::uint32_t child = 0;
  };
  static std::uint32_t key(std::uint32_t node, unsigned char c) noexcept { return (node << 8 | c) + 1; }
  std::size_t slot_of(std::uint32_t k) const noexcept {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(k) * 0x9E3779B97F4A7C15ull) >> 40) & mask_;
  }
  void resize(std::size_t at_least) {
    std::size_t cap = 16;
    while (cap < at_least) cap <<= 1;
    edges_.assign(cap, edge{});
    mask_ = cap - 1;
  }
  void insert(std::uint32_t k, std::uint32_t next) {
    std::size_t i = slot_of(k);
    while (edges_[i].key != 0) i = (i + 1) & mask_;
    edges_[i] = {k, next};
  }
  std::vector<edge> edges_;
  std::vector<std::int32_t> ids_;
  std::size_t mask_ = 0;
};

// How the fused pass treats an ASCII byte.
enum ascii_class : std::uint8_t { ascii_word, ascii_space, ascii_punct, ascii_remove };

}  // namespace

struct added_token {
  std::string content;
  std::int32_t id;
};

struct tokenizer_model {
  // WordPiece
  vocab_trie vocab;
  std::uint32_t continuation_root = vocab_trie::none;  // the node of the prefix ("##")
  string_table words;          // whole entries
  string_table continuations;  // entries that start with the prefix, without it
  std::size_t vocab_size = 0;
  std::int32_t unk_id = -1;
  std::size_t max_input_chars_per_word = 100;
  // Single ASCII punctuation characters are words of their own: their ids, looked up once.
  std::int32_t ascii_punct_id[128];
  std::uint8_t ascii_class_of[128];
  // Added tokens matched in the raw text, longest first among those sharing a first byte.
  std::vector<added_token> added;
  bool added_first_byte[256] = {};
  // Post-processing: ids around the word pieces (TemplateProcessing "single").
  std::vector<std::int32_t> prefix_ids, prefix_type_ids, suffix_ids, suffix_type_ids;
  std::int32_t sequence_type_id = 0;
  std::size_t max_length = 0;
  std::int32_t pad_id = 0;
  bool lowercase_first = false;  // sentence-transformers' do_lower_case
  invalid_utf8 on_invalid = invalid_utf8::error;
  // All vocabulary entries and added tokens by text, for token_to_id().
  std::unordered_map<std::string, std::int32_t> by_text;

  void finish();
  void tokenize(std::string_view text, std::vector<std::int32_t>& pieces, std::string& word) const;
  void tokenize_segment(const unsigned char* begin, const unsigned char* end, std::size_t base_offset,
                        std::vector<std::int32_t>& pieces, std::string& word) const;
  void word_piece(const std::string& word, std::size_t n_chars, std::vector<std::int32_t>& pieces) const;
  std::string_view strip(std::string_view text, std::size_t& offset) const;
};

void tokenizer_model::finish() {
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
  // Longest first, so the first match at a position is the leftmost-longest one.
  std::stable_sort(added.begin(), added.end(),
                   [](const added_token& a, const added_token& b) { return a.content.size() > b.content.size(); });
  for (const added_token& t : added) added_first_byte[static_cast<unsigned char>(t.content[0])] = true;
}

// Python's str.strip(): removes leading and trailing characters for which str.isspace()
// is true. Bytes that are not UTF-8 stop the stripping; the tokenizer reports them later.
std::string_view tokenizer_model::strip(std::string_view text, std::size_t& offset) const {
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const auto* e = b + text.size();
  const auto* p = b;
  while (p < e) {
    char32_t cp = 0;
    const std::size_t n = uc::decode(p, e, cp);
    if (n == 0 || !(uc::lookup(cp).flags & uc::python_space)) break;
    p += n;
  }
  const auto* q = e;
  while (q > p) {
    const auto* s = q - 1;
    while (s > p && (*s & 0xC0u) == 0x80u && q - s < 4) --s;
    char32_t cp = 0;
    if (uc::decode(s, q, cp) != static_cast<std::size_t>(q - s) || !(uc::lookup(cp).flags & uc::python_space)) break;
    q = s;
  }
  offset = static_cast<std::size_t>(p - b);
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(q - p)};
}

void tokenizer_model::tokenize(std::string_view text, std::vector<std::int32_t>& pieces, std::string& word) const {
  std::size_t offset = 0;
  text = strip(text, offset);
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const auto* e = b + text.size();
  const auto* seg = b;
  if (!added.empty()) {
    for (const auto* p = b; p < e;) {
      if (!added_first_byte[*p]) {
        ++p;
        continue;
      }
      const added_token* match = nullptr;
      for (const added_token& t : added) {
        if (t.content.size() <= static_cast<std::size_t>(e - p) &&
            std::memcmp(p, t.content.data(), t.content.size()) == 0) {
          match = &t;
          break;
        }
      }
      if (match == nullptr) {
        ++p;
        continue;
      }
      tokenize_segment(seg, p, offset + static_cast<std::size_t>(seg - b), pieces, word);
      pieces.push_back(match->id);
      p += match->content.size();
      seg = p;
    }
  }
  tokenize_segment(seg, e, offset + static_cast<std::size_t>(seg - b), pieces, word);
}

// BertNormalizer + BertPreTokenizer + WordPiece over one segment of raw text.
void tokenizer_model::tokenize_segment(const unsigned char* begin, const unsigned char* end, std::size_t base_offset,
                                       std::vector<std::int32_t>& pieces, std::string& word) const {
  std::string lowered;
  if (lowercase_first && begin != end) {
    // sentence-transformers puts a Lowercase normalizer in front of BertNormalizer.
    lowered.reserve(static_cast<std::size_t>(end - begin));
    for (const auto* p = begin; p < end;) {
      char32_t cp;
      std::size_t n = uc::decode(p, end, cp);
      if (n == 0) {
        if (on_invalid == invalid_utf8::error) {
          throw error(errc::invalid_text, "text is not valid UTF-8 at byte offset " +
                                              std::to_string(base_offset + static_cast<std::size_t>(p - begin)));
        }
        cp = 0xFFFD;
        n = 1;
      }
      const uc::record& r = uc::lookup(cp);
      char buf[4];
      if (r.flags & uc::lower_self) {
        lowered.append(buf, uc::encode(cp, buf));
      } else {
        for (std::size_t i = 0; i < r.lower_len; ++i) {
          lowered.append(buf, uc::encode(uc::mapped[r.lower_off + i] & uc::mapped_code_point, buf));
        }
      }
      p += n;
    }
    begin = reinterpret_cast<const unsigned char*>(lowered.data());
    end = begin + lowered.size();
  }

  word.clear();
  std::size_t n_chars = 0;
  auto flush = [&] {
    if (n_chars != 0) word_piece(word, n_chars, pieces);
    word.clear();
    n_chars = 0;
  };
  auto single = [&](char32_t cp) {  // a punctuation character or an ideograph: a word of its own
    flush();
    char buf[4];
    word.append(buf, uc::encode(cp, buf));
    n_chars = 1;
    flush();
  };
  auto emit = [&](std::uint32_t m) {  // one code point of the normalized text
    const char32_t cp = m & uc::mapped_code_point;
    if (m & uc::mapped_white_space) {
      flush();
    } else if (m & uc::mapped_punctuation) {
      single(cp);
    } else {
      char buf[4];
      word.append(buf, uc::encode(cp, buf));
      ++n_chars;
    }
  };

  for (const auto* p = begin; p < end;) {
    const unsigned c = *p;
    if (c < 0x80) {
      switch (ascii_class_of[c]) {
        case ascii_word:
          word.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
          ++n_chars;
          break;
        case ascii_space: flush(); break;
        case ascii_punct:
          if (ascii_punct_id[c] >= 0) {
            flush();
            pieces.push_back(ascii_punct_id[c]);
          } else {
            single(c);
          }
          break;
        default: break;  // removed control character
      }
      ++p;
      continue;
    }
    char32_t cp;
    const std::size_t n = uc::decode(p, end, cp);
    if (n == 0) {
      if (on_invalid == invalid_utf8::error) {
        throw error(errc::invalid_text, "text is not valid UTF-8 at byte offset " +
                                            std::to_string(base_offset + static_cast<std::size_t>(p - begin)));
      }
      // U+FFFD, which clean_text drops. Skipping one byte at a time gives the same text as
      // Python's maximal-subpart replacement once the U+FFFDs are gone: a continuation byte
      // never starts a valid sequence.
      ++p;
      continue;
    }
    const uc::record& r = uc::lookup(cp);
    const std::uint8_t f = r.flags;
    if (f & (uc::remove | uc::space | uc::chinese)) {
      if (f & uc::space) flush();
      if (f & uc::chinese) {
        flush();
        if (f & uc::norm_self) {
          single(cp);
        } else {
          for (std::size_t i = 0; i < r.norm_len; ++i) emit(uc::mapped[r.norm_off + i]);
          flush();
        }
      }
    } else if (f & uc::norm_self) {
      if (f & uc::punctuation) {
        single(cp);
      } else {
        word.append(reinterpret_cast<const char*>(p), n);
        ++n_chars;
      }
    } else {
      for (std::size_t i = 0; i < r.norm_len; ++i) emit(uc::mapped[r.norm_off + i]);
    }
    p += n;
  }
  flush();
}

// Greedy longest match from the left; a word with any unmatched position, or longer than
// max_input_chars_per_word characters, is one [UNK]. The vocabulary holds whole UTF-8
// characters, so every match ends on a character boundary.
void tokenizer_model::word_piece(const std::string& word, std::size_t n_chars, std::vector<std::int32_t>& pieces) const {
  if (n_chars > max_input_chars_per_word) {
    pieces.push_back(unk_id);
    return;
  }
  const auto* w = reinterpret_cast<const unsigned char*>(word.data());
  const std::size_t n = word.size();
  const std::size_t mark = pieces.size();
  std::size_t start = 0;
  while (start < n) {
    // Most often the whole rest is one piece: one hash probe.
    std::int32_t id = (start == 0 ? words : continuations).find(word.data() + start, n - start);
    if (id >= 0) {
      pieces.push_back(id);
      return;
    }
    std::uint32_t node = start == 0 ? vocab_trie::root : continuation_root;
    std::size_t stop = start;
    for (std::size_t i = start; i < n && node != vocab_trie::none; ++i) {
      node = vocab.child(node, w[i]);
      if (node != vocab_trie::none && vocab.id(node) >= 0) {
        id = vocab.id(node);
        stop = i + 1;
      }
    }
    if (id < 0) {
      pieces.resize(mark);
      pieces.push_back(unk_id);
      return;
    }
    pieces.push_back(id);
    start = stop;
  }
}

namespace {

constexpr std::int64_t max_vocab = 1 << 24;
// A vocab.txt larger than this cannot be valid: the vocabulary holds at most 2^23 bytes of
// tokens (build_vocab) and 2^24 lines.
constexpr std::uintmax_t max_vocab_txt_bytes = (std::uintmax_t{1} << 23) + (std::uintmax_t{1} << 24);

void build_vocab(tokenizer_model& m, const std::vector<std::pair<std::string, std::int32_t>>& entries,
                 const std::string& prefix, const std::string& source) {
  if (!m.vocab.build(entries)) {
    throw error(errc::invalid_tokenizer, source + ": the vocabulary is too large (more than 2^23 bytes)");
  }
  std::vector<std::pair<std::string_view, std::int32_t>> whole, rest;
  for (const auto& [token, id] : entries) {
    if (!m.by_text.emplace(token, id).second) continue;
    whole.emplace_back(token, id);
    if (token.size() > prefix.size() && token.compare(0, prefix.size(), prefix) == 0) {
      rest.emplace_back(std::string_view(token).substr(prefix.size()), id);
    }
  }
  m.words.build(whole);
  m.continuations.build(rest);
  // A continuation piece is looked up as prefix + piece (tokenizers' WordPiece), i.e. in
  // the subtree under the prefix. Without any such entry only whole words can match.
  m.continuation_root = m.vocab.walk(prefix);
}

// The text of a special token in tokenizer_config.json: a string or an AddedToken object.
std::optional<std::string> config_token(const json_value& root, std::string_view key) {
  auto v = root.find(key);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  return std::string(v->at("content").as_string());
}

void check_keys(const json_value& obj, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : obj.members()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      value.fail(errc::unsupported, "unknown setting; minilm does not implement it");
    }
  }
}

void read_normalizer(tokenizer_model&, const json_value& n) {
  if (n.is_null()) n.fail(errc::unsupported, "a tokenizer without BertNormalizer is not supported");
  const auto type = n.at("type").as_string();
  if (type != "BertNormalizer") n.at("type").fail(errc::unsupported, "normalizer '" + std::string(type) + "' is not supported");
  check_keys(n, {"type", "clean_text", "handle_chinese_chars", "strip_accents", "lowercase"});
  // The generated tables implement exactly the uncased BERT normalizer.
  const bool lowercase = n.bool_or("lowercase", true);
  if (!lowercase) n.at("lowercase").fail(errc::unsupported, "only lowercase: true (uncased BERT) is supported");
  if (!n.bool_or("clean_text", true)) n.at("clean_text").fail(errc::unsupported, "only clean_text: true is supported");
  if (!n.bool_or("handle_chinese_chars", true)) {
    n.at("handle_chinese_chars").fail(errc::unsupported, "only handle_chinese_chars: true is supported");
  }
  if (auto s = n.find("strip_accents"); s && !s->is_null() && !s->as_bool()) {
    s->fail(errc::unsupported, "only strip_accents: null or true is supported");
  }
}

void read_template(tokenizer_model& m, const json_value& pp) {
  const auto type = pp.at("type").as_string();
  if (type == "BertProcessing") {
    check_keys(pp, {"type", "sep", "cls"});
    auto pair_id = [](const json_value& v) {
      auto items = v.items();
      if (items.size() != 2) v.fail(errc::invalid_tokenizer, "expected [token, id]");
      return static_cast<std::int32_t>(items[1].as_int(0, max_vocab));
    };
    m.prefix_ids = {pair_id(pp.at("cls"))};
    m.suffix_ids = {pair_id(pp.at("sep"))};
    m.prefix_type_ids = {0};
    m.suffix_type_ids = {0};
    return;
  }
  if (type != "TemplateProcessing") {
    pp.at("type").fail(errc::unsupported, "post_processor '" + std::string(type) + "' is not supported");
  }
  check_keys(pp, {"type", "single", "pair", "special_tokens"});
  const auto specials = pp.at("special_tokens");
  bool seen_sequence = false;
  for (const auto& item : pp.at("single").items()) {
    const auto members = item.members();
    if (members.size() != 1) item.fail(errc::invalid_tokenizer, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    const auto& [kind, body] = members[0];
    const auto type_id = static_cast<std::int32_t>(body.at("type_id").as_int(0, 1 << 16));
    if (kind == "Sequence") {
      if (body.at("id").as_string() != "A") body.at("id").fail(errc::unsupported, "a single template must use sequence A");
      if (seen_sequence) item.fail(errc::unsupported, "the sequence appears twice");
      seen_sequence = true;
      m.sequence_type_id = type_id;
    } else if (kind == "SpecialToken") {
      const auto name = body.at("id").as_string();
      auto spec = specials.find(name);
      if (!spec) body.at("id").fail(errc::invalid_tokenizer, "not listed in post_processor.special_tokens");
      // As tokenizers' SpecialToken: one id per token string, or the file is refused.
      const auto ids = spec->at("ids").items();
      if (ids.size() != spec->at("tokens").items().size()) {
        spec->at("ids").fail(errc::invalid_tokenizer, "ids and tokens must be of the same length");
      }
      for (const auto& id : ids) {
        const auto v = static_cast<std::int32_t>(id.as_int(0, max_vocab));
        (seen_sequence ? m.suffix_ids : m.prefix_ids).push_back(v);
        (seen_sequence ? m.suffix_type_ids : m.prefix_type_ids).push_back(type_id);
      }
    } else {
      item.fail(errc::unsupported, "template piece '" + std::string(kind) + "' is not supported");
    }
  }
  if (!seen_sequence) pp.at("single").fail(errc::invalid_tokenizer, "the template has no $A sequence");
}

void read_added_tokens(tokenizer_model& m, const json_value& list) {
  for (const auto& t : list.items()) {
    check_keys(t, {"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"});
    const auto content = std::string(t.at("content").as_string());
    if (content.empty()) t.at("content").fail(errc::invalid_tokenizer, "an added token cannot be empty");
    for (const char* flag : {"single_word", "lstrip", "rstrip", "normalized"}) {
      if (t.bool_or(flag, false)) t.at(flag).fail(errc::unsupported, "added tokens with this flag set are not supported");
    }
    const auto id = static_cast<std::int32_t>(t.at("id").as_int(0, max_vocab));
    m.added.push_back({content, id});
    m.by_text.emplace(content, id);
  }
}

void load_tokenizer_json(tokenizer_model& m, const fs::path& file) {
  // Complaints about the contents are errc::invalid_tokenizer unless said otherwise.
  const std::string bytes = read_file(file, 256u << 20);
  auto doc = json_document::parse(bytes, "'" + file.string() + "'", errc::invalid_tokenizer);
  const auto root = doc.root();
  check_keys(root, {"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "model",
                    "post_processor", "decoder"});
  // truncation: sentence-transformers replaces it with max_seq_length; padding: only its
  // pad id is used (encode_batch_padded pads to the longest text like sentence-transformers);
  // decoder: minilm does not decode.
  if (auto pad = root.find("padding"); pad && !pad->is_null()) {
    if (auto id = pad->find("pad_id")) m.pad_id = static_cast<std::int32_t>(id->as_int(0, max_vocab));
  }
  read_normalizer(m, root.at("normalizer"));
  const auto pre = root.at("pre_tokenizer");
  if (pre.is_null() || pre.at("type").as_string() != "BertPreTokenizer") {
    pre.fail(errc::unsupported, "only the BertPreTokenizer pre-tokenizer is supported");
  }
  check_keys(pre, {"type"});

  const auto model = root.at("model");
  const auto type = model.at("type").as_string();
  if (type != "WordPiece") model.at("type").fail(errc::unsupported, "model '" + std::string(type) + "' is not supported");
  check_keys(model, {"type", "unk_token", "continuing_subword_prefix", "max_input_chars_per_word", "vocab"});
  const std::string unk(model.at("unk_token").as_string());
  const std::string prefix = model.string_or("continuing_subword_prefix", "##");
  m.max_input_chars_per_word = static_cast<std::size_t>(model.int_or("max_input_chars_per_word", 100, 1, 1 << 20));
  const auto vocab = model.at("vocab").members();
  if (vocab.empty() || static_cast<std::int64_t>(vocab.size()) > max_vocab) {
    model.at("vocab").fail(errc::invalid_tokenizer, "the vocabulary must have between 1 and 2^24 entries");
  }
  std::vector<std::pair<std::string, std::int32_t>> entries;
  std::vector<bool> used(vocab.size(), false);
  for (const auto& [token, value] : vocab) {
    const auto id = value.as_int(0, static_cast<std::int64_t>(vocab.size()) - 1);
    if (used[static_cast<std::size_t>(id)]) value.fail(errc::invalid_tokenizer, "id " + std::to_string(id) + " is used twice");
    used[static_cast<std::size_t>(id)] = true;
    entries.emplace_back(std::string(token), static_cast<std::int32_t>(id));
  }
  m.vocab_size = vocab.size();
  build_vocab(m, entries, prefix, "'" + file.string() + "'");
  m.unk_id = m.vocab.find(unk);
  if (m.unk_id < 0) model.at("unk_token").fail(errc::invalid_tokenizer, "'" + unk + "' is not in the vocabulary");

  if (auto added = root.find("added_tokens"); added && !added->is_null()) read_added_tokens(m, *added);
  const auto pp = root.at("post_processor");
  if (pp.is_null()) pp.fail(errc::unsupported, "a tokenizer without a post-processor ([CLS] ... [SEP]) is not supported");
  read_template(m, pp);
  for (auto* ids : {&m.prefix_ids, &m.suffix_ids}) {
    for (std::int32_t id : *ids) {
      if (static_cast<std::size_t>(id) >= m.vocab_size && std::none_of(m.added.begin(), m.added.end(), [&](const added_token& t) { return t.id == id; })) {
        pp.fail(errc::invalid_tokenizer, "special token id " + std::to_string(id) + " is outside the vocabulary");
      }
    }
  }
  if (!root.find("padding") || root.at("padding").is_null()) {
    const std::int32_t pad = m.vocab.find("[PAD]");
    if (pad >= 0) m.pad_id = pad;
  }
}

void load_vocab_txt(tokenizer_model& m, const fs::path& vocab_file, const fs::path& config_file) {
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
  std::vector<std::pair<std::string, std::int32_t>> entries(seen.begin(), seen.end());
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
    if (i >= 0) m.added.push_back({*t, i});
  }
}

}  // namespace
}  // namespace detail

tokenizer tokenizer::load(const model_folder& folder, const tokenizer_options& options) {
  auto m = std::make_shared<detail::tokenizer_model>();
  m->on_invalid = options.on_invalid_utf8;
  m->lowercase_first = folder.do_lower_case;
  if (!folder.tokenizer_json.empty()) {
    detail::load_tokenizer_json(*m, folder.tokenizer_json);
  } else if (!folder.vocab_txt.empty()) {
    detail::load_vocab_txt(*m, folder.vocab_txt, folder.tokenizer_config_json);
  } else {
    throw error(errc::invalid_tokenizer, folder.path.string() + ": the folder has neither tokenizer.json nor vocab.txt");
  }
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
  m->finish();
  return tokenizer(std::move(m));
}

std::vector<std::int32_t> tokenizer::word_pieces(std::string_view text) const {
  std::vector<std::int32_t> pieces;
  std::string word;
  model_->tokenize(text, pieces, word);
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
// Per-thread scratch for encode(), so that a call allocates only its result. Never shared
// between threads; an unusually large buffer is released after use.
struct scratch {
  std::vector<std::int32_t> pieces;
  std::string word;
  void trim() {
    if (pieces.capacity() > (1u << 20)) std::vector<std::int32_t>().swap(pieces);
    if (word.capacity() > (1u << 20)) std::string().swap(word);
  }
};
thread_local scratch tls_scratch;
}  // namespace

encoding tokenizer::encode(std::string_view text) const {
  scratch& s = tls_scratch;
  std::vector<std::int32_t>& pieces = s.pieces;
  pieces.clear();
  struct trim_at_exit {
    scratch& s;
    ~trim_at_exit() { s.trim(); }
  } trim{s};
  model_->tokenize(text, pieces, s.word);
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
  std::string word;
  for (std::string_view text : texts) {
    pieces.clear();
    model_->tokenize(text, pieces, word);
    b.n_truncated.push_back(assemble(*model_, pieces, b.ids, b.type_ids));
    b.offsets.push_back(b.ids.size());
  }
  return b;
}

padded_batch tokenizer::encode_batch_padded(std::span<const std::string_view> texts) const {
  const packed_batch p = encode_batch(texts);
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
std::int32_t tokenizer::token_to_id(std::string_view token) const noexcept {
  auto it = model_->by_text.find(std::string(token));
  return it == model_->by_text.end() ? -1 : it->second;
}

MINILM_END_NAMESPACE
