// src/tokenizer/model.hpp: what every tokenizer model is to the rest of the library: the
// interface over the algorithms, the settings they share, and the one pass that cuts a text at
// its added tokens.
//
// Internal to the library. One model per algorithm derives from tokenizer_model (WordPiece in
// src/tokenizer/wordpiece.hpp, Unigram in src/tokenizer/unigram.hpp); the factory in
// src/tokenizer/tokenizer.cpp reads the folder and picks one, and is the only code that knows
// which. A model is immutable after load and shared between threads; the buffers a text needs
// live in a per-thread session of its algorithm (session_scope below).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "minilm/tokenizer.hpp"
#include "thread_exit.hpp"
#include "unicode.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// A token matched in the text before the model sees it (tokenizers' AddedToken).
struct added_token {
  std::string content;      // what is matched: the raw text, or the normalized form (normalized)
  std::int32_t id = 0;
  bool lstrip = false;      // also takes the White_Space just before it
  bool rstrip = false;      // also takes the White_Space just after it
  bool normalized = false;  // matched in normalized text rather than in the raw text
};

// Added tokens of one kind (raw or normalized), longest first so that the first match at a
// position is the leftmost-longest one (tokenizers' Aho-Corasick, MatchKind::LeftmostLongest).
// The sort is stable: among tokens of the same text, the order the files list them in holds.
struct added_token_set {
  std::vector<added_token> tokens;
  bool first_byte[256] = {};

  void finish() {
    std::stable_sort(tokens.begin(), tokens.end(),
                     [](const added_token& a, const added_token& b) { return a.content.size() > b.content.size(); });
    std::fill(std::begin(first_byte), std::end(first_byte), false);
    for (const added_token& t : tokens) first_byte[static_cast<unsigned char>(t.content[0])] = true;
  }
  bool empty() const noexcept { return tokens.empty(); }
};

// The special-token pass (tokenizers' AddedVocabulary::find_matches): `text` cut at the tokens
// of `set`. on_segment(begin, end) gets each non-empty stretch between tokens, on_token(id) each
// token, in order. The scan resumes after each match; lstrip and rstrip only widen what the
// token covers.
template <class Segment, class Token>
void split_at_added(std::string_view text, const added_token_set& set, Segment&& on_segment, Token&& on_token) {
  const std::size_t n = text.size();
  if (set.empty()) {
    if (n != 0) on_segment(std::size_t{0}, n);
    return;
  }
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const auto* e = b + n;
  std::size_t covered = 0;  // the end of the last token, with what it stripped
  for (std::size_t p = 0; p < n;) {
    // Most bytes start no token: a tight scan to the next one that may.
    const auto* q = b + p;
    while (q < e && !set.first_byte[*q]) ++q;
    p = static_cast<std::size_t>(q - b);
    if (p == n) break;
    const added_token* match = nullptr;
    for (const added_token& t : set.tokens) {
      if (t.content.size() <= n - p && std::memcmp(q, t.content.data(), t.content.size()) == 0) {
        match = &t;
        break;
      }
    }
    if (match == nullptr) {
      ++p;
      continue;
    }
    std::size_t start = p, stop = p + match->content.size();
    if (match->lstrip) start = std::max(unicode::white_space_run_before(text, start), covered);
    if (match->rstrip) stop += unicode::white_space_run_after(text, stop);
    if (covered < start) on_segment(covered, start);
    on_token(match->id);
    covered = stop;
    p += match->content.size();
  }
  if (covered < n) on_segment(covered, n);
}

// A tokenizer algorithm's model. The fields are what every algorithm has and the front
// (src/tokenizer/tokenizer.cpp) reads: the readers fill them, the factory checks them.
struct tokenizer_model {
  virtual ~tokenizer_model() = default;

  // The pieces of `text`, added tokens included, without the template and without truncation,
  // appended to `ids`. Invalid UTF-8 is errc::invalid_text naming the byte offset, unless
  // on_invalid says to replace it.
  virtual void tokenize(std::string_view text, std::vector<std::int32_t>& ids) const = 0;
  // The id of a vocabulary entry or added token; -1 when absent.
  virtual std::int32_t token_to_id(std::string_view token) const noexcept = 0;

  added_token_set added;  // matched in the raw text, before the model's normalizer
  // Post-processing: ids around the pieces (TemplateProcessing "single").
  std::vector<std::int32_t> prefix_ids, prefix_type_ids, suffix_ids, suffix_type_ids;
  std::int32_t sequence_type_id = 0;
  std::size_t vocab_size = 0;
  std::size_t max_length = 0;
  std::int32_t pad_id = 0;
  invalid_utf8 on_invalid = invalid_utf8::error;
};

// An algorithm's per-thread buffers (its session: llama.cpp's llm_tokenizer_*_session), reused
// from text to text so that a text allocates only its result. `Session` has trim(), which
// releases a buffer that one unusually long text grew; it runs when the scope ends.
template <class Session>
class session_scope {
 public:
  session_scope() noexcept : s_(instance()) {}
  ~session_scope() { s_.trim(); }
  session_scope(const session_scope&) = delete;
  session_scope& operator=(const session_scope&) = delete;
  Session& operator*() const noexcept { return s_; }
  Session* operator->() const noexcept { return &s_; }

 private:
  static Session& instance() noexcept {
    thread_local Session s;
    return s;
  }
  Session& s_;
};

// Releases `buffer` when it holds more than `limit` elements (session trim()).
template <class Buffer>
void release_if_above(Buffer& buffer, std::size_t limit) {
  if (buffer.capacity() > limit) Buffer().swap(buffer);
}

}  // namespace detail
MINILM_END_NAMESPACE
