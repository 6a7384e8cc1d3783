// src/grapheme.hpp: extended grapheme cluster boundaries (UAX #29, "Unicode Text
// Segmentation", https://www.unicode.org/reports/tr29/), rules GB1 to GB999 including the
// Indic conjunct rule GB9c.
//
// Internal to the library. The precompiled normalizer (src/tokenizer/precompiled.hpp) works per
// cluster, as Hugging Face tokenizers does through the unicode-segmentation crate. The
// properties come from the Unicode Character Database files the build finds (Unicode 15.0
// on Debian 12), turned into a table by tools/build/gen_grapheme_tables.py; src/grapheme.cpp
// says where that data and the reference part ways.
#pragma once

#include <cstddef>
#include <string_view>

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

namespace grapheme {
// Grapheme_Cluster_Break values (the order tools/build/gen_grapheme_tables.py writes them in).
enum class gcb : unsigned char {
  other, cr, lf, control, extend, zwj, regional_indicator, prepend, spacing_mark, l, v, t, lv, lvt
};

// The cluster that starts at `start` (which must be a boundary) ends where?
std::size_t next_end(std::string_view text, std::size_t start) noexcept;
}  // namespace grapheme

// The end of the extended grapheme cluster that begins at `start`, a cluster boundary of
// `text` (valid UTF-8): the next boundary after it, or text.size(). Allocation-free. A byte
// that does not begin a UTF-8 sequence is a cluster of its own.
inline std::size_t next_grapheme_end(std::string_view text, std::size_t start) noexcept {
  const std::size_t n = text.size();
  if (start >= n) return n;
  // ASCII followed by ASCII: a boundary after every character except inside CR LF (GB3).
  const auto b0 = static_cast<unsigned char>(text[start]);
  if (b0 < 0x80) {
    if (start + 1 == n) return n;
    const auto b1 = static_cast<unsigned char>(text[start + 1]);
    if (b1 < 0x80) return start + 1 + (b0 == '\r' && b1 == '\n' ? 1 : 0);
  }
  return grapheme::next_end(text, start);
}

}  // namespace detail
MINILM_END_NAMESPACE
