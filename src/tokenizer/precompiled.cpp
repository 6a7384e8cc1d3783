// src/tokenizer/precompiled.cpp: sentencepiece's precompiled charsmap, checked once at load and
// then applied per extended grapheme cluster as Hugging Face tokenizers applies it
// (tokenizers/src/normalizers/precompiled.rs over the spm_precompiled crate).
//
// The trie is darts-clone's double array (https://github.com/s-yata/darts-clone): each u32
// unit packs a label (the byte that leads to it), an offset to its children's block and a
// has-leaf flag; the unit at a node's children's base holds the node's value when it has one.
#include "precompiled.hpp"

#include <algorithm>
#include <cstring>

#include "grapheme.hpp"
#include "unicode.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

// darts-clone's unit accessors.
constexpr bool has_leaf(std::uint32_t unit) noexcept { return ((unit >> 8) & 1) != 0; }
constexpr std::uint32_t value(std::uint32_t unit) noexcept { return unit & ((1u << 31) - 1); }
constexpr std::uint32_t label(std::uint32_t unit) noexcept { return unit & ((1u << 31) | 0xFF); }
constexpr std::uint32_t offset(std::uint32_t unit) noexcept { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

constexpr signed char base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return static_cast<signed char>(c - 'A');
  if (c >= 'a' && c <= 'z') return static_cast<signed char>(c - 'a' + 26);
  if (c >= '0' && c <= '9') return static_cast<signed char>(c - '0' + 52);
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string decode_base64(std::string_view text, const std::string& where) {
  auto fail = [&](std::size_t at, const char* why) {
    throw error(errc::invalid_tokenizer,
                where + ": invalid base64 at character " + std::to_string(at) + " (" + why + ")");
  };
  // Padding is optional, as tokenizers' decoder has it, but only '=' may follow the first
  // '=', and no more of them than a canonical encoding has.
  const std::size_t n_data = std::min(text.find('='), text.size());
  for (std::size_t i = n_data; i < text.size(); ++i) {
    if (text[i] != '=') fail(n_data, "misplaced padding");
  }
  if (n_data % 4 == 1) fail(n_data - 1, "a lone character ends the data");
  if (text.size() - n_data > (4 - n_data % 4) % 4) fail(n_data, "too much padding");

  std::string out;
  out.reserve(n_data / 4 * 3 + 2);
  std::uint32_t group = 0;
  for (std::size_t i = 0; i < n_data; ++i) {
    const signed char v = base64_value(text[i]);
    if (v < 0) fail(i, "not a base64 character");
    group = (group << 6) | static_cast<std::uint32_t>(v);
    if (i % 4 == 3) {
      out.push_back(static_cast<char>(group >> 16));
      out.push_back(static_cast<char>((group >> 8) & 0xFF));
      out.push_back(static_cast<char>(group & 0xFF));
      group = 0;
    }
  }
  // A final group of 2 or 3 characters holds 1 or 2 bytes; the bits after them must be zero
  // (a canonical encoding, as tokenizers requires).
  if (n_data % 4 == 2) {
    if ((group & 0xF) != 0) fail(n_data - 1, "nonzero trailing bits");
    out.push_back(static_cast<char>(group >> 4));
  } else if (n_data % 4 == 3) {
    if ((group & 0x3) != 0) fail(n_data - 1, "nonzero trailing bits");
    out.push_back(static_cast<char>(group >> 10));
    out.push_back(static_cast<char>((group >> 2) & 0xFF));
  }
  return out;
}

precompiled_charsmap precompiled_charsmap::parse(std::string blob, const std::string& where) {
  precompiled_charsmap map;
  map.plain_.fill(false);
  for (unsigned b = 0; b < 0x80; ++b) map.plain_[b] = b != '\r';
  if (blob.empty()) return map;

  auto fail = [&](std::size_t at, const std::string& what) {
    throw error(errc::invalid_tokenizer,
                where + ": precompiled charsmap: " + what + " (byte offset " + std::to_string(at) + ")");
  };
  if (blob.size() < 4) fail(0, "the blob of " + std::to_string(blob.size()) + " bytes has no 4-byte trie size");
  const auto* bytes = reinterpret_cast<const unsigned char*>(blob.data());
  auto read_u32 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(bytes[at]) | static_cast<std::uint32_t>(bytes[at + 1]) << 8 |
           static_cast<std::uint32_t>(bytes[at + 2]) << 16 | static_cast<std::uint32_t>(bytes[at + 3]) << 24;
  };
  const std::uint32_t trie_size = read_u32(0);
  if (trie_size > blob.size() - 4) {
    fail(0, "the trie size " + std::to_string(trie_size) + " exceeds the " + std::to_string(blob.size() - 4) +
                " bytes after it");
  }
  if (trie_size % 4 != 0) fail(0, "the trie size " + std::to_string(trie_size) + " is not a multiple of 4");
  if (trie_size == 0) fail(0, "the trie is empty");
  map.units_.resize(trie_size / 4);
  for (std::size_t i = 0; i < map.units_.size(); ++i) map.units_[i] = read_u32(4 + 4 * i);
  map.normalized_ = blob.substr(4 + trie_size);
  map.check_trie(where);

  for (unsigned b = 1; b < 0x80; ++b) {
    const char c = static_cast<char>(b);
    std::size_t n = 0;
    if (map.transform(std::string_view(&c, 1), &n) != nullptr) map.plain_[b] = false;
  }
  return map;
}

// Walks every node a common-prefix search can reach, whatever the text, and checks that the
// search stays inside the trie and that every value it can return is a NUL-terminated UTF-8
// string inside the replacement strings. normalize() then reads without bounds checks.
void precompiled_charsmap::check_trie(const std::string& where) const {
  const std::size_t n_units = units_.size();
  const std::size_t strings_at = 4 + 4 * n_units;  // byte offset of the strings in the blob
  auto fail = [&](std::size_t at, const std::string& what) {
    throw error(errc::invalid_tokenizer,
                where + ": precompiled charsmap: " + what + " (byte offset " + std::to_string(at) + ")");
  };
  auto unit_at = [](std::size_t index) { return 4 + 4 * index; };

  std::vector<unsigned char> seen(n_units, 0);          // nodes (children's bases) queued
  std::vector<unsigned char> checked(normalized_.size(), 0);  // values found good
  std::vector<std::uint32_t> pending;

  auto check_value = [&](std::size_t leaf_unit, std::uint32_t v) {
    if (v >= normalized_.size()) {
      fail(unit_at(leaf_unit), "value " + std::to_string(v) + " points outside the " +
                                   std::to_string(normalized_.size()) + " bytes of replacement strings");
    }
    if (checked[v]) return;
    const void* nul = std::memchr(normalized_.data() + v, 0, normalized_.size() - v);
    if (nul == nullptr) fail(strings_at + v, "the replacement string has no NUL terminator");
    const auto* p = reinterpret_cast<const unsigned char*>(normalized_.data()) + v;
    const auto* end = static_cast<const unsigned char*>(nul);
    while (p < end) {
      char32_t cp;
      const std::size_t len = unicode::decode(p, end, cp);
      if (len == 0) {
        fail(strings_at + static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(normalized_.data())),
             "the replacement string is not valid UTF-8");
      }
      p += len;
    }
    checked[v] = 1;
  };
  // `from` is the unit whose offset led to `node`.
  auto visit = [&](std::size_t from, std::size_t node) {
    if (node >= n_units) {
      fail(unit_at(from), "a trie offset leads to unit " + std::to_string(node) + ", past the trie's " +
                              std::to_string(n_units) + " units");
    }
    if (!seen[node]) {
      seen[node] = 1;
      pending.push_back(static_cast<std::uint32_t>(node));
    }
  };

  visit(0, offset(units_[0]));
  while (!pending.empty()) {
    const std::size_t node = pending.back();
    pending.pop_back();
    // The search reads units_[node ^ c] for any byte c from 1 to 255: all of node's block but itself.
    const std::size_t highest = (node & 0xFF) == 0xFF ? node - 1 : (node | 0xFF);
    if (highest >= n_units) {
      fail(unit_at(node), "the block of unit " + std::to_string(node) + " reaches past the trie's " +
                              std::to_string(n_units) + " units");
    }
    for (unsigned c = 1; c < 256; ++c) {
      const std::size_t child = node ^ c;
      const std::uint32_t unit = units_[child];
      if (label(unit) != c) continue;
      const std::size_t next = child ^ offset(unit);
      visit(child, next);
      if (has_leaf(unit)) check_value(next, value(units_[next]));
    }
  }
}

const char* precompiled_charsmap::transform(std::string_view s, std::size_t* n_bytes) const noexcept {
  if (units_.empty()) return nullptr;
  const std::uint32_t* units = units_.data();
  std::size_t node = offset(units[0]);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) break;
    node ^= c;
    const std::uint32_t unit = units[node];
    if (label(unit) != c) break;
    node ^= offset(unit);
    if (has_leaf(unit)) {
      // The first match is the shortest key: tokenizers uses it, not the longest.
      const char* r = normalized_.data() + value(units[node]);
      *n_bytes = std::strlen(r);
      return r;
    }
  }
  return nullptr;
}

// One extended grapheme cluster, as precompiled.rs does it: a cluster shorter than 6 bytes
// that a key prefixes is replaced whole by that key's replacement (even when the key covers
// only its first character); otherwise each character is replaced alone, or kept.
void precompiled_charsmap::append_cluster(std::string_view cluster, std::string& out) const {
  std::size_t n = 0;
  const std::size_t first = unicode::utf8_length(static_cast<unsigned char>(cluster[0]));
  if (cluster.size() < 6) {
    if (const char* r = transform(cluster, &n)) {
      out.append(r, n);
      return;
    }
    if (first >= cluster.size()) {  // one character: looked up already
      out.append(cluster);
      return;
    }
  }
  for (std::size_t i = 0; i < cluster.size();) {
    const std::size_t len = std::min(unicode::utf8_length(static_cast<unsigned char>(cluster[i])), cluster.size() - i);
    const std::string_view ch = cluster.substr(i, len);
    if (const char* r = transform(ch, &n)) {
      out.append(r, n);
    } else {
      out.append(ch);
    }
    i += len;
  }
}

void precompiled_charsmap::normalize(std::string_view text, std::string& out) const {
  if (units_.empty()) {
    out.append(text);
    return;
  }
  // Room for the text as it is (most of it is copied); grown geometrically, since callers
  // may append many texts to one string.
  if (out.capacity() < out.size() + text.size()) out.reserve(std::max(out.size() + text.size(), 2 * out.capacity()));
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    // A run of ASCII characters that are no keys is copied as it is, except its last one when a
    // non-ASCII character follows (a combining mark may join it).
    const std::size_t run = i;
    while (i < size && plain_[p[i]]) ++i;
    if (i < size && i > run && p[i] >= 0x80) --i;
    out.append(text.data() + run, i - run);
    if (i >= size) break;
    const std::size_t end = next_grapheme_end(text, i);
    append_cluster(text.substr(i, end - i), out);
    i = end;
  }
}

}  // namespace detail
MINILM_END_NAMESPACE
