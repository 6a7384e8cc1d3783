// src/tokenizer/precompiled.hpp: sentencepiece's precompiled normalizer (the "Precompiled"
// normalizer of a tokenizer.json, the normalizer_spec.precompiled_charsmap of a .model file),
// applied the way Hugging Face tokenizers applies it.
//
// Internal to the library. The blob is sentencepiece's format: a little-endian u32 giving the
// size in bytes of a darts-clone double-array trie, the trie's u32 units, then NUL-terminated
// replacement strings that the trie's values index. Tokenizers applies it per extended
// grapheme cluster (UAX #29, src/grapheme.hpp): a cluster shorter than 6 bytes is looked up
// whole first (the shortest key that prefixes it replaces the whole cluster); otherwise, or
// when no key prefixes it, each character is looked up alone and kept when absent.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "minilm/error.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// Standard base64 (RFC 4648 alphabet), '=' padding optional as in tokenizers. Throws
// errc::invalid_tokenizer "<where>: invalid base64 at character N (...)" for a character
// outside the alphabet, misplaced or excess padding, a length no encoding has, or nonzero
// bits after the last byte.
std::string decode_base64(std::string_view text, const std::string& where);

// Immutable once parsed: one instance may serve any number of threads.
class precompiled_charsmap {
 public:
  precompiled_charsmap() = default;

  // Checks the whole blob once: sizes, every trie unit a lookup can reach stays inside the
  // trie, every value points inside the replacement strings and at a NUL-terminated, valid
  // UTF-8 string. Throws errc::invalid_tokenizer "<where>: precompiled charsmap: ..." naming
  // the byte offset. An empty blob is the identity.
  static precompiled_charsmap parse(std::string blob, const std::string& where);

  bool empty() const noexcept { return units_.empty(); }

  // Appends the normalized form of `text` (valid UTF-8) to `out`.
  void normalize(std::string_view text, std::string& out) const;

  // The replacement for the shortest key that prefixes `s`, or nullptr when none does;
  // *n_bytes is then set to the replacement's length. The search stops at a NUL byte of `s`.
  const char* transform(std::string_view s, std::size_t* n_bytes) const noexcept;

 private:
  void check_trie(const std::string& where) const;
  void append_cluster(std::string_view cluster, std::string& out) const;

  std::vector<std::uint32_t> units_;  // the double-array trie
  std::string normalized_;            // NUL-separated replacement strings
  // plain_[b]: byte b, alone in its cluster, is kept as it is (an ASCII character that is
  // not a key; never CR, whose cluster may be CR LF). Lets ASCII runs be copied wholesale.
  std::array<bool, 256> plain_{};
};

}  // namespace detail
MINILM_END_NAMESPACE
