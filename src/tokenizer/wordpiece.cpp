// src/tokenizer/wordpiece.cpp: WordPiece's hot path, from raw text to word pieces.
//
// The order is tokenizers' (src/tokenizer/wordpiece.hpp lists it). Normalization and
// pre-tokenization are fused into one pass over the bytes: each code point costs one table
// lookup (src/unicode.hpp) and ASCII one array lookup. Words are built in a reused buffer;
// WordPiece asks a hash table for the whole rest of the word and falls back to a walk down a
// byte trie for the longest match. Nothing is allocated per token.
#include "wordpiece.hpp"

#include <string>

#include "unicode.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

namespace uc = detail::unicode;

// BertPreTokenizer's side of the fused pass: the normalized characters come in one at a
// time and are cut into words on White_Space and around punctuation; each finished word goes
// to WordPiece.
class word_splitter {
 public:
  word_splitter(const wordpiece_model& m, std::vector<std::int32_t>& pieces, std::string& word) noexcept
      : m_(m), pieces_(pieces), word_(word) {
    word_.clear();
  }

  // The word so far is complete: its word pieces.
  void end_word() {
    if (n_chars_ != 0) m_.word_piece(word_, n_chars_, pieces_);
    word_.clear();
    n_chars_ = 0;
  }
  // A punctuation character or an ideograph: a word of its own.
  void isolate(char32_t cp) {
    end_word();
    char buf[4];
    word_.append(buf, uc::encode(cp, buf));
    n_chars_ = 1;
    end_word();
  }
  // A word of its own whose id is already known (ASCII punctuation).
  void isolate_piece(std::int32_t id) {
    end_word();
    pieces_.push_back(id);
  }
  void append_ascii(char c) {
    word_.push_back(c);
    ++n_chars_;
  }
  // One character already in normal form, as its UTF-8 bytes.
  void append_bytes(const unsigned char* p, std::size_t n) {
    word_.append(reinterpret_cast<const char*>(p), n);
    ++n_chars_;
  }
  // One code point of the normalized text with its flags (uc::mapped).
  void append_mapped(std::uint32_t m) {
    const char32_t cp = m & uc::mapped_code_point;
    if (m & uc::mapped_white_space) {
      end_word();
    } else if (m & uc::mapped_punctuation) {
      isolate(cp);
    } else {
      char buf[4];
      word_.append(buf, uc::encode(cp, buf));
      ++n_chars_;
    }
  }

 private:
  const wordpiece_model& m_;
  std::vector<std::int32_t>& pieces_;
  std::string& word_;
  std::size_t n_chars_ = 0;
};

// BertNormalizer + BertPreTokenizer for one ASCII byte: one array lookup.
inline void normalize_ascii(const wordpiece_model& m, unsigned c, word_splitter& words) {
  switch (m.ascii_class_of[c]) {
    case ascii_word: words.append_ascii(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c)); break;
    case ascii_space: words.end_word(); break;
    case ascii_punct:
      if (m.ascii_punct_id[c] >= 0) {
        words.isolate_piece(m.ascii_punct_id[c]);
      } else {
        words.isolate(c);
      }
      break;
    default: break;  // removed control character
  }
}

// BertNormalizer for one non-ASCII character, whose UTF-8 bytes are p[0..n): clean_text,
// space around CJK ideographs, then NFD, accent stripping and lowercasing as one table record
// (src/unicode.hpp); the result goes on to the split.
inline void normalize_char(char32_t cp, const unsigned char* p, std::size_t n, word_splitter& words) {
  const uc::record& r = uc::lookup(cp);
  const std::uint8_t f = r.flags;
  if (f & (uc::remove | uc::space | uc::chinese)) {
    if (f & uc::space) words.end_word();
    if (f & uc::chinese) {
      words.end_word();
      if (f & uc::norm_self) {
        words.isolate(cp);
      } else {
        for (std::size_t i = 0; i < r.norm_len; ++i) words.append_mapped(uc::mapped[r.norm_off + i]);
        words.end_word();
      }
    }
  } else if (f & uc::norm_self) {
    if (f & uc::punctuation) {
      words.isolate(cp);
    } else {
      words.append_bytes(p, n);
    }
  } else {
    for (std::size_t i = 0; i < r.norm_len; ++i) words.append_mapped(uc::mapped[r.norm_off + i]);
  }
}

// WordPiece's session: the word being built.
struct wordpiece_session {
  std::string word;
  void trim() { release_if_above(word, 1u << 20); }
};

}  // namespace

// Python's str.strip(): removes leading and trailing characters for which str.isspace()
// is true. Bytes that are not UTF-8 stop the stripping; the tokenizer reports them later.
std::string_view wordpiece_model::strip(std::string_view text, std::size_t& offset) const {
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

// str.strip(), then the special-token pass: each added token is its own id, the segments
// between them go through the rest of the pipeline.
void wordpiece_model::tokenize(std::string_view text, std::vector<std::int32_t>& pieces) const {
  const session_scope<wordpiece_session> s;
  std::size_t offset = 0;
  text = strip(text, offset);
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  split_at_added(
      text, added,
      [&](std::size_t begin, std::size_t end) { tokenize_segment(b + begin, b + end, offset + begin, pieces, s->word); },
      [&](std::int32_t id) { pieces.push_back(id); });
}

// BertNormalizer + BertPreTokenizer + WordPiece over one segment of raw text.
void wordpiece_model::tokenize_segment(const unsigned char* begin, const unsigned char* end, std::size_t base_offset,
                                       std::vector<std::int32_t>& pieces, std::string& word) const {
  std::string lowered;
  if (lowercase_first && begin != end) {
    lowercase(begin, end, base_offset, lowered);
    begin = reinterpret_cast<const unsigned char*>(lowered.data());
    end = begin + lowered.size();
  }
  word_splitter words(*this, pieces, word);
  for (const auto* p = begin; p < end;) {
    const unsigned c = *p;
    if (c < 0x80) {
      normalize_ascii(*this, c, words);
      ++p;
      continue;
    }
    char32_t cp;
    const std::size_t n = uc::decode(p, end, cp);
    if (n == 0) {
      if (on_invalid == invalid_utf8::error) uc::throw_invalid_utf8(base_offset + static_cast<std::size_t>(p - begin));
      // U+FFFD, which clean_text drops. Skipping one byte at a time gives the same text as
      // Python's maximal-subpart replacement once the U+FFFDs are gone: a continuation byte
      // never starts a valid sequence.
      ++p;
      continue;
    }
    normalize_char(cp, p, n, words);
    p += n;
  }
  words.end_word();
}

// sentence-transformers puts a Lowercase normalizer in front of BertNormalizer: the segment,
// lowercased, into `lowered`.
void wordpiece_model::lowercase(const unsigned char* begin, const unsigned char* end, std::size_t base_offset,
                                std::string& lowered) const {
  lowered.reserve(static_cast<std::size_t>(end - begin));
  for (const auto* p = begin; p < end;) {
    char32_t cp;
    std::size_t n = uc::decode(p, end, cp);
    if (n == 0) {
      if (on_invalid == invalid_utf8::error) uc::throw_invalid_utf8(base_offset + static_cast<std::size_t>(p - begin));
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
}

// Greedy longest match from the left; a word with any unmatched position, or longer than
// max_input_chars_per_word characters, is one [UNK]. The vocabulary holds whole UTF-8
// characters, so every match ends on a character boundary.
void wordpiece_model::word_piece(const std::string& word, std::size_t n_chars, std::vector<std::int32_t>& pieces) const {
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

// A vocabulary entry first, then the added tokens in the order the files list them (finish()
// sorted them by length only, which keeps that order among tokens of the same text).
std::int32_t wordpiece_model::token_to_id(std::string_view token) const noexcept {
  const std::int32_t id = words.find(token.data(), token.size());
  if (id >= 0) return id;
  for (const added_token& t : added.tokens) {
    if (t.content == token) return t.id;
  }
  return -1;
}

}  // namespace detail
MINILM_END_NAMESPACE
