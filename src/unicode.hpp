// src/unicode.hpp: the Unicode facts the tokenizers need, one table lookup per code point, and
// the UTF-8 helpers: strict decoding, encoding, sequence lengths and White_Space runs.
//
// Internal to the library. The tables are generated at build time by
// tools/build/gen_unicode_tables.py from the Unicode Character Database files; src/unicode.cpp
// explains which Unicode version each property follows and why.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail::unicode {

// What one code point is to BertNormalizer, BertPreTokenizer and Python's str.strip().
enum flag : std::uint8_t {
  remove = 1,       // clean_text drops it: NUL, U+FFFD, control/format/private use except \t \n \r
  space = 2,        // clean_text turns it into U+0020 (White_Space)
  chinese = 4,      // handle_chinese_chars isolates it (the CJK ideograph blocks)
  python_space = 8, // str.strip() strips it (bidi class WS/B/S or category Zs)
  white_space = 16, // BertPreTokenizer splits on it
  punctuation = 32, // BertPreTokenizer makes it a word of its own
  norm_self = 64,   // the normalizer leaves it as it is
  lower_self = 128, // lowercasing leaves it as it is
};

struct record {
  std::uint8_t flags;
  std::uint8_t norm_len;   // code points in mapped[norm_off ...]: NFD, minus Mn, lowercased
  std::uint8_t lower_len;  // code points in mapped[lower_off ...]: lowercase only
  std::uint32_t norm_off;
  std::uint32_t lower_off;
};

// Entries of `mapped`: a code point, plus how BertPreTokenizer classifies it.
constexpr std::uint32_t mapped_white_space = 1u << 29;
constexpr std::uint32_t mapped_punctuation = 1u << 30;
constexpr std::uint32_t mapped_code_point = 0x1FFFFF;

extern const std::uint16_t stage1[];
extern const std::uint16_t stage2[];
extern const record records[];
extern const std::uint32_t mapped[];
extern const char* const data_version;  // of the Unicode Character Database the tables came from

constexpr unsigned block_bits = 7;

// cp must be <= 0x10FFFF.
inline const record& lookup(char32_t cp) noexcept {
  const std::uint32_t block = stage1[cp >> block_bits];
  return records[stage2[(block << block_bits) | (cp & ((1u << block_bits) - 1))]];
}

// Decodes one UTF-8 sequence at p (p < end) by the rules of Unicode's Table 3-7: no overlong
// forms, no surrogates, nothing above U+10FFFF, no truncated sequence. Returns its length
// (1-4) and stores the code point, or returns 0 when the bytes at p are not UTF-8.
inline std::size_t decode(const unsigned char* p, const unsigned char* end, char32_t& cp) noexcept {
  const unsigned b0 = p[0];
  const std::size_t avail = static_cast<std::size_t>(end - p);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  auto cont = [](unsigned b) { return (b & 0xC0u) == 0x80u; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (avail < 2 || !cont(p[1])) return 0;
    cp = ((b0 & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (avail < 3) return 0;
    const unsigned b1 = p[1];
    const unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = b0 == 0xED ? 0x9F : 0xBF;
    if (b1 < lo || b1 > hi || !cont(p[2])) return 0;
    cp = ((b0 & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (avail < 4) return 0;
    const unsigned b1 = p[1];
    const unsigned lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (b1 < lo || b1 > hi || !cont(p[2]) || !cont(p[3])) return 0;
    cp = ((b0 & 0x07u) << 18) | ((b1 & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    return 4;
  }
  return 0;
}

// The tokenizers' one complaint about a text: errc::invalid_text naming the first bad byte.
[[noreturn]] void throw_invalid_utf8(std::size_t offset);

// Appends the UTF-8 form of cp (a valid scalar value) at out; returns the byte count.
inline std::size_t encode(char32_t cp, char* out) noexcept {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// Length of the UTF-8 sequence that lead byte b starts (the text is valid UTF-8).
constexpr std::size_t utf8_length(unsigned char b) noexcept { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

// Whether `s` is valid UTF-8 throughout.
inline bool valid(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* e = p + s.size();
  while (p < e) {
    char32_t cp;
    const std::size_t n = decode(p, e, cp);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

// The length of `s` when it is exactly one code point of valid UTF-8, else 0.
inline std::size_t one_character(std::string_view s) noexcept {
  if (s.empty()) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  char32_t cp;
  const std::size_t n = decode(p, p + s.size(), cp);
  return n == s.size() ? n : 0;
}

// The bytes at p that are a valid UTF-8 prefix: Python's "maximal subpart", which its decoder
// replaces with one U+FFFD (errors="replace"). p < end, and *p does not start a valid sequence.
inline std::size_t invalid_subpart(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned b0 = p[0];
  unsigned lo = 0x80, hi = 0xBF;
  std::size_t need;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  std::size_t n = 1;
  for (std::size_t k = 0; k < need && p + n < end; ++k) {
    const unsigned b = p[n];
    if (b < (k == 0 ? lo : 0x80u) || b > (k == 0 ? hi : 0xBFu)) break;
    ++n;
  }
  return n;
}

// Unicode White_Space (Rust's char::is_whitespace, the regex class \s of tokenizers).
constexpr bool is_white_space(char32_t c) noexcept {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// The White_Space character at text[i] (valid UTF-8), or 0 bytes when there is none.
inline std::size_t white_space_at(std::string_view text, std::size_t i) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + i;
  const auto* e = reinterpret_cast<const unsigned char*>(text.data()) + text.size();
  char32_t cp;
  const std::size_t n = decode(p, e, cp);
  return n != 0 && is_white_space(cp) ? n : 0;
}

// Where the White_Space at the end of text[0, end) begins (regex \s*$).
inline std::size_t white_space_run_before(std::string_view text, std::size_t end) noexcept {
  std::size_t i = end;
  while (i > 0) {
    std::size_t s = i - 1;
    while (s > 0 && (static_cast<unsigned char>(text[s]) & 0xC0u) == 0x80u) --s;
    if (white_space_at(text, s) != i - s) break;
    i = s;
  }
  return i;
}

// How many bytes of White_Space start text[begin, ...) (regex ^\s*).
inline std::size_t white_space_run_after(std::string_view text, std::size_t begin) noexcept {
  std::size_t i = begin;
  while (i < text.size()) {
    const std::size_t n = white_space_at(text, i);
    if (n == 0) break;
    i += n;
  }
  return i - begin;
}

}  // namespace detail::unicode
MINILM_END_NAMESPACE
