// src/grapheme.cpp: the extended grapheme cluster rules of UAX #29 over the generated table.
//
// Which rules and data. The reference (Hugging Face tokenizers 0.23.3, through the
// unicode-segmentation crate) follows Unicode 17.0: besides the rules of 15.0 it applies
// GB9c (Unicode 15.1), which keeps conjuncts (consonant, virama, consonant) in one cluster.
// Debian 12 ships the 15.0 data files, so tools/build/gen_grapheme_tables.py reproduces from them
// the later changes that concern code points 15.0 already has (Indic_Conjunct_Break, some
// spacing marks made Extend). What the 15.0 files cannot tell is the properties of code
// points assigned later: the marks of Unicode 16.0 and 17.0 (U+0897, U+1ACF..U+1ADD, ...)
// join the character before them in the reference and stand alone here. Such differences
// change what the precompiled normalizer produces only when they move a boundary around a
// cluster shorter than 6 bytes that the charsmap replaces (tools/goldens/make_normalizer_goldens.py).
#include "grapheme.hpp"

#include <cstdint>

#include "unicode.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail::grapheme {
namespace {

#include "grapheme_tables.inc"

constexpr unsigned char extended_pictographic = 0x10;

// Indic_Conjunct_Break (bits 5-6 of a table entry).
enum class incb : unsigned char { none, linker, consonant, extend };

struct props {
  gcb brk;
  bool pictographic;
  incb conjunct;
};

props lookup(char32_t cp) noexcept {
  const unsigned block = stage1[cp >> block_bits];
  const unsigned char v = stage2[(block << block_bits) | (cp & ((1u << block_bits) - 1))];
  return {static_cast<gcb>(v & 0x0F), (v & extended_pictographic) != 0, static_cast<incb>((v >> 5) & 3)};
}

// Where the cluster so far stands in GB9c's
//   InCB=Consonant [InCB=Extend InCB=Linker]* InCB=Linker [InCB=Extend InCB=Linker]* x InCB=Consonant
enum class conjunct_state : unsigned char {
  none,
  consonant,  // a consonant, then Extend or Linker but no Linker yet
  linked,     // ... and at least one Linker: a consonant may follow
};

// What the rules need to know about the cluster so far.
struct state {
  gcb prev = gcb::other;
  bool emoji = false;      // the cluster ends in Extended_Pictographic Extend*
  bool emoji_zwj = false;  // ... followed by one ZWJ (GB11)
  conjunct_state conjunct = conjunct_state::none;  // GB9c
  unsigned n_ri = 0;       // Regional_Indicators in a row at the end (GB12, GB13)
};

bool is_control(gcb b) noexcept { return b == gcb::control || b == gcb::cr || b == gcb::lf; }

// Whether no boundary falls between the cluster so far and a character `cur`: GB3 to GB999.
bool joins(const state& s, props cur) noexcept {
  const gcb p = s.prev, c = cur.brk;
  if (p == gcb::cr && c == gcb::lf) return true;                       // GB3
  if (is_control(p) || is_control(c)) return false;                    // GB4, GB5
  if (p == gcb::l && (c == gcb::l || c == gcb::v || c == gcb::lv || c == gcb::lvt)) return true;  // GB6
  if ((p == gcb::lv || p == gcb::v) && (c == gcb::v || c == gcb::t)) return true;               // GB7
  if ((p == gcb::lvt || p == gcb::t) && c == gcb::t) return true;                               // GB8
  if (c == gcb::extend || c == gcb::zwj || c == gcb::spacing_mark) return true;  // GB9, GB9a
  if (p == gcb::prepend) return true;                                            // GB9b
  if (s.conjunct == conjunct_state::linked && cur.conjunct == incb::consonant) return true;  // GB9c
  if (s.emoji_zwj && cur.pictographic) return true;                              // GB11
  if (p == gcb::regional_indicator && c == gcb::regional_indicator) return s.n_ri % 2 == 1;  // GB12, GB13
  return false;                                                                  // GB999
}

void advance(state& s, props cur) noexcept {
  s.emoji_zwj = s.emoji && cur.brk == gcb::zwj;
  s.emoji = cur.pictographic || (s.emoji && cur.brk == gcb::extend);
  s.n_ri = cur.brk == gcb::regional_indicator ? s.n_ri + 1 : 0;
  switch (cur.conjunct) {
    case incb::consonant: s.conjunct = conjunct_state::consonant; break;
    case incb::linker:
      if (s.conjunct != conjunct_state::none) s.conjunct = conjunct_state::linked;
      break;
    case incb::extend: break;
    case incb::none: s.conjunct = conjunct_state::none; break;
  }
  s.prev = cur.brk;
}

// Decodes the character at p; a byte that is not UTF-8 counts as a control character.
std::size_t next_char(const unsigned char* p, const unsigned char* end, props& out) noexcept {
  char32_t cp = 0;
  const std::size_t len = unicode::decode(p, end, cp);
  if (len == 0) {
    out = {gcb::control, false, incb::none};
    return 1;
  }
  out = lookup(cp);
  return len;
}

}  // namespace

std::size_t next_end(std::string_view text, std::size_t start) noexcept {
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = begin + text.size();
  const unsigned char* p = begin + start;
  if (p >= end) return text.size();
  props cur;
  p += next_char(p, end, cur);
  state s;
  advance(s, cur);  // GB1: a boundary before the first character
  while (p < end) {
    const std::size_t len = next_char(p, end, cur);
    if (!joins(s, cur)) break;
    advance(s, cur);
    p += len;
  }
  return static_cast<std::size_t>(p - begin);  // GB2: a boundary at the end
}

}  // namespace detail::grapheme
MINILM_END_NAMESPACE
