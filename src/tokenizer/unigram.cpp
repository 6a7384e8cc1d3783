// src/tokenizer/unigram.cpp: the Unigram tokenizer's hot path, from raw text to pieces.
//
// The order is tokenizers' (src/tokenizer/unigram.hpp lists it). Every step writes into per-thread
// buffers that are reused from text to text, so nothing is allocated per word or per piece:
//   - the raw text is cut at added tokens without copying;
//   - a segment is normalized into one buffer (ASCII characters the charsmap leaves alone are
//     copied, not looked up);
//   - Metaspace builds one word at a time in another buffer;
//   - the Viterbi pass keeps one lattice column per byte of the word.
// Unigram's best path: at each character boundary i, every vocabulary piece that starts there
// (a walk down the byte trie) offers score(i) + score(piece) to the position where it ends; the
// first offer to a position is taken, a later one only when strictly greater (tokenizers'
// encode_optimized, itself sentencepiece's). A character that no one-character piece covers
// offers <unk> at min score - 10. Consecutive <unk>s are fused, and the fused text is looked up
// again: its id if the vocabulary has it, else unk_id.
#include "unigram.hpp"

#include <algorithm>
#include <cstring>

#include "unicode.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

namespace uc = detail::unicode;

// The text itself when it is valid UTF-8; otherwise an error naming the first bad byte, or
// (invalid_utf8::replace) the text with each maximal invalid subpart replaced by U+FFFD in
// `repaired`.
std::string_view checked_text(std::string_view text, invalid_utf8 on_invalid, std::string& repaired) {
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const auto* e = b + text.size();
  const auto* p = b;
  while (p < e) {
    // Eight ASCII bytes at a time.
    if (e - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    if (*p < 0x80) {
      ++p;
      continue;
    }
    char32_t cp;
    const std::size_t n = uc::decode(p, e, cp);
    if (n == 0) break;
    p += n;
  }
  if (p == e) return text;
  if (on_invalid == invalid_utf8::error) uc::throw_invalid_utf8(static_cast<std::size_t>(p - b));
  repaired.assign(text.data(), static_cast<std::size_t>(p - b));
  while (p < e) {
    char32_t cp;
    const std::size_t n = uc::decode(p, e, cp);
    if (n != 0) {
      repaired.append(reinterpret_cast<const char*>(p), n);
      p += n;
    } else {
      repaired.append("\xEF\xBF\xBD");
      p += uc::invalid_subpart(p, e);
    }
  }
  return repaired;
}

// Unigram's session: the buffers of every step.
struct unigram_session {
  struct node {
    double score;        // of the best path that ends here
    std::int32_t start;  // where its last piece starts; -1 while no path reaches here
    std::int32_t id;     // its last piece
  };
  struct step {
    std::uint32_t start, end;
    std::int32_t id;
  };
  std::string repaired, normalized, tmp, word;
  std::vector<node> lattice;
  std::vector<step> path;
  void trim() {
    for (std::string* s : {&repaired, &normalized, &tmp, &word}) release_if_above(*s, 1u << 20);
    release_if_above(lattice, 1u << 16);
    release_if_above(path, 1u << 16);
  }
};

// The pieces of one text: an object per call, so the steps share the model, the output and
// the buffers without passing them around.
class unigram_run {
 public:
  unigram_run(const unigram_model& m, std::vector<std::int32_t>& ids, unigram_session& s) : m_(m), ids_(ids), s_(s) {}

  void text(std::string_view text) {
    text = checked_text(text, m_.on_invalid, s_.repaired);
    split_at_added(
        text, m_.added, [&](std::size_t b, std::size_t e) { segment(text.substr(b, e - b), b == 0); },
        [&](std::int32_t id) { ids_.push_back(id); });
  }

 private:
  // One stretch of raw text between added tokens; `at_start`: it begins the text.
  void segment(std::string_view raw, bool at_start) {
    m_.normalize(raw, s_.normalized, s_.tmp);
    const std::string_view norm = s_.normalized;
    if (norm.empty()) return;  // tokenizers drops empty splits before pre-tokenization
    split_at_added(
        norm, m_.normalized_added,
        [&](std::size_t b, std::size_t e) { pre_tokenize(norm.substr(b, e - b), at_start && b == 0); },
        [&](std::int32_t id) { ids_.push_back(id); });
  }

  // [WhitespaceSplit ->] Metaspace -> the model, per word.
  void pre_tokenize(std::string_view norm, bool at_start) {
    if (!m_.whitespace_split) {
      metaspace(norm, at_start);
      return;
    }
    // Cut at White_Space, which goes; each run is a string of its own for Metaspace ("first"
    // is refused with WhitespaceSplit at load, so `at_start` does not matter here).
    std::size_t run = 0, i = 0;
    while (i < norm.size()) {
      const std::size_t n = static_cast<unsigned char>(norm[i]) < 0x80 ? (uc::is_white_space(norm[i]) ? 1 : 0)
                                                                        : uc::white_space_at(norm, i);
      if (n == 0) {
        i += uc::utf8_length(static_cast<unsigned char>(norm[i]));
        continue;
      }
      if (run < i) metaspace(norm.substr(run, i - run), false);
      i += n;
      run = i;
    }
    if (run < norm.size()) metaspace(norm.substr(run), false);
  }

  // Metaspace: " " becomes the replacement, which is put in front unless the text starts with
  // it (per the scheme), and with split a word starts at each replacement character.
  void metaspace(std::string_view text, bool at_start) {
    const std::string_view rep = m_.replacement;
    std::string& word = s_.word;
    word.clear();
    const bool prepend = m_.prepend == prepend_scheme::always || (m_.prepend == prepend_scheme::first && at_start);
    const bool starts_with_rep = text[0] == ' ' || text.substr(0, rep.size()) == rep;
    if (prepend && !starts_with_rep) word.assign(rep);
    const auto first = static_cast<char>(rep[0]);
    for (std::size_t i = 0; i < text.size();) {
      const char c = text[i];
      std::size_t n = 0;  // bytes of a replacement character (or a space) at i
      if (c == ' ') {
        n = 1;
      } else if (c == first && text.compare(i, rep.size(), rep) == 0) {
        n = rep.size();
      }
      if (n == 0) {
        word.push_back(c);
        ++i;
        continue;
      }
      if (m_.split && !word.empty()) {
        viterbi(word);
        word.clear();
      }
      word.append(rep);
      i += n;
    }
    if (!word.empty()) viterbi(word);
  }

  // Unigram::encode_optimized over one word, then tokenize()'s lookup of each piece's text.
  void viterbi(std::string_view word) {
    const std::size_t n = word.size();
    const auto* w = reinterpret_cast<const unsigned char*>(word.data());
    auto& lattice = s_.lattice;
    lattice.assign(n + 1, unigram_session::node{0.0, -1, 0});
    const vocab_trie& trie = m_.trie;
    const double* scores = m_.scores.data();
    for (std::size_t i = 0; i < n;) {
      const double here = lattice[i].score;
      const std::size_t char_len = uc::utf8_length(w[i]);
      bool has_single = false;
      std::uint32_t node = vocab_trie::root;
      for (std::size_t j = i; j < n; ++j) {
        node = trie.child(node, w[j]);
        if (node == vocab_trie::none) break;
        const std::int32_t id = trie.id(node);
        if (id < 0) continue;
        const double candidate = here + scores[id];
        unigram_session::node& target = lattice[j + 1];
        if (target.start < 0 || candidate > target.score) {
          target = {candidate, static_cast<std::int32_t>(i), id};
        }
        if (j + 1 - i == char_len) has_single = true;
      }
      if (!has_single) {
        const double candidate = here + m_.unk_score;
        unigram_session::node& target = lattice[i + char_len];
        if (target.start < 0 || candidate > target.score) {
          target = {candidate, static_cast<std::int32_t>(i), m_.unk_id};
        }
      }
      i += char_len;
    }
    // Back from the end, then forward, fusing runs of unknowns.
    auto& path = s_.path;
    path.clear();
    for (std::size_t end = n; end > 0;) {
      const unigram_session::node& b = lattice[end];
      path.push_back({static_cast<std::uint32_t>(b.start), static_cast<std::uint32_t>(end), b.id});
      end = static_cast<std::size_t>(b.start);
    }
    for (std::size_t k = path.size(); k-- > 0;) {
      if (path[k].id != m_.unk_id) {
        ids_.push_back(path[k].id);
        continue;
      }
      const std::uint32_t start = path[k].start;
      std::uint32_t end = path[k].end;
      while (k > 0 && path[k - 1].id == m_.unk_id) end = path[--k].end;
      const std::int32_t id = m_.by_piece.find(word.data() + start, end - start);
      ids_.push_back(id >= 0 ? id : m_.unk_id);
    }
  }

  const unigram_model& m_;
  std::vector<std::int32_t>& ids_;
  unigram_session& s_;
};

// Replace with a string pattern: every occurrence, left to right, without overlap.
void replace_all(std::string_view text, std::string_view pattern, std::string_view content, std::string& out) {
  out.clear();
  std::size_t i = 0;
  for (std::size_t at; (at = text.find(pattern, i)) != std::string_view::npos; i = at + pattern.size()) {
    out.append(text.substr(i, at - i)).append(content);
  }
  out.append(text.substr(i));
}

// Replace with the regex "c{n,}": every run of at least n copies of the character c.
void replace_runs(std::string_view text, std::string_view c, std::size_t min_run, std::string_view content,
                  std::string& out) {
  out.clear();
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t run = 0, j = i;
    while (text.compare(j, c.size(), c) == 0) {
      j += c.size();
      ++run;
    }
    if (run >= min_run) {
      out.append(content);
      i = j;
    } else if (run > 0) {
      out.append(text.substr(i, j - i));
      i = j;
    } else {
      out.push_back(text[i]);
      ++i;
    }
  }
}

std::string_view strip_white_space(std::string_view text, bool left, bool right) {
  std::size_t b = 0, e = text.size();
  if (left) b = uc::white_space_run_after(text, 0);
  if (right && e > b) e = std::max(b, uc::white_space_run_before(text, e));
  return text.substr(b, e - b);
}

}  // namespace

void unigram_model::add_piece(std::string_view piece, double score) {
  if (offsets.empty()) offsets.push_back(0);
  pool.append(piece);
  offsets.push_back(static_cast<std::uint32_t>(pool.size()));
  scores.push_back(score);
}

bool unigram_model::build(std::vector<std::pair<std::size_t, std::size_t>>& duplicates) {
  std::vector<std::pair<std::string_view, std::int32_t>> entries;
  entries.reserve(size());
  double min_score = 0;
  for (std::size_t i = 0; i < size(); ++i) {
    entries.emplace_back(piece(i), static_cast<std::int32_t>(i));
    min_score = i == 0 ? scores[i] : std::min(min_score, scores[i]);
  }
  unk_score = min_score - 10.0;
  for (unsigned c = 0; c < 128; ++c) {
    const char ch = static_cast<char>(c);
    std::size_t len = 0;
    ascii_kept[c] = charsmap.transform(std::string_view(&ch, 1), &len) == nullptr;
  }
  if (!trie.build(entries, &duplicates)) return false;
  if (duplicates.empty()) by_piece.build(entries);
  return true;
}

// The normalizer steps in order, each from `tmp` into `out`.
void unigram_model::normalize(std::string_view text, std::string& out, std::string& tmp) const {
  out.assign(text);
  for (const normalizer_step& step : normalizers) {
    out.swap(tmp);
    out.clear();
    switch (step.kind) {
      case normalizer_step::precompiled: apply_charsmap(tmp, out); break;
      case normalizer_step::replace_string: replace_all(tmp, step.pattern, step.content, out); break;
      case normalizer_step::replace_run: replace_runs(tmp, step.pattern, step.min_run, step.content, out); break;
      case normalizer_step::strip: out.assign(strip_white_space(tmp, step.left, step.right)); break;
      case normalizer_step::bert: break;  // a WordPiece step: read_unigram_json does not accept it
    }
  }
}

// The charsmap works per grapheme cluster, and a cluster boundary falls between any two ASCII
// characters but CR LF. So runs of ASCII characters that the charsmap has no entry for
// (ascii_kept) are copied as they are, and only the stretches between them are looked up.
void unigram_model::apply_charsmap(std::string_view text, std::string& out) const {
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  auto kept = [&](std::size_t i) { return b[i] < 0x80 && ascii_kept[b[i]]; };
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && kept(j)) ++j;
    if (j < n && j > i && b[j] >= 0x80) --j;  // that character and what follows may be one cluster
    out.append(text.substr(i, j - i));
    if (j == n) break;
    std::size_t k = j + 1;
    while (k < n && !(kept(k) && b[k - 1] < 0x80 && !(b[k - 1] == '\r' && b[k] == '\n'))) ++k;
    charsmap.normalize(text.substr(j, k - j), out);
    i = k;
  }
}

std::int32_t unigram_model::token_to_id(std::string_view token) const noexcept {
  for (const auto& [text, id] : added_by_text) {
    if (text == token) return id;
  }
  return by_piece.find(token.data(), token.size());
}

void unigram_model::tokenize(std::string_view text, std::vector<std::int32_t>& ids) const {
  const session_scope<unigram_session> s;
  unigram_run(*this, ids, *s).text(text);
}

}  // namespace detail
MINILM_END_NAMESPACE
