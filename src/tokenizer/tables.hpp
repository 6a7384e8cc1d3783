// src/tokenizer/tables.hpp: the lookup tables the tokenizer models build over their vocabularies.
//
// Internal to the library. Built once at load, then read from any number of threads.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

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
    std::size_t n_bytes = 0;
    for (const auto& e : entries) n_bytes += e.first.size();
    pool_.clear();
    pool_.reserve(n_bytes);
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

// The vocabulary as a byte trie, so that WordPiece's greedy longest match (and Unigram's search
// for the pieces that start at a position) costs one probe per byte of the word instead of one
// hash of every candidate substring. Continuation pieces ("##ing") need no second trie: they
// are the subtree under the prefix's node.
// Edges live in one open-addressing table of 8-byte slots keyed by (parent node, byte).
class vocab_trie {
 public:
  static constexpr std::uint32_t root = 0;
  static constexpr std::uint32_t none = 0xFFFFFFFFu;
  static constexpr std::uint32_t max_nodes = 1u << 23;

  // Returns false when the vocabulary needs more than max_nodes nodes. Of entries with the same
  // text the first one keeps it; each later one is reported in `duplicates` as (its index, the
  // first one's index) when that is given.
  //
  // The entries are visited in byte order, so the nodes a token shares with the token before it
  // are its longest common prefix: every other byte is a new node, no lookup is needed while
  // building, and the edge table is allocated once at its final size.
  bool build(std::span<const std::pair<std::string_view, std::int32_t>> entries,
             std::vector<std::pair<std::size_t, std::size_t>>* duplicates = nullptr) {
    std::size_t n_bytes = 0;
    for (const auto& e : entries) n_bytes += e.first.size();
    if (n_bytes >= max_nodes) return false;
    std::vector<std::uint32_t> order(entries.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return entries[a].first < entries[b].first; });
    std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;  // (key, child)
    edges.reserve(n_bytes);
    ids_.assign(1, -1);
    std::vector<std::uint32_t> path(1, root);  // path[d]: the node of the previous token's first d bytes
    std::string_view previous;
    std::size_t first_of_run = 0;  // where in `order` the entries with the previous text start
    for (std::size_t k = 0; k < order.size(); ++k) {
      const auto& [token, id] = entries[order[k]];
      std::size_t common = 0;
      while (common < token.size() && common < previous.size() && token[common] == previous[common]) ++common;
      if (k > 0 && common == token.size() && common == previous.size()) {
        if (duplicates != nullptr) duplicates->emplace_back(order[k], order[first_of_run]);
        continue;
      }
      path.resize(common + 1);
      for (std::size_t d = common; d < token.size(); ++d) {
        const auto next = static_cast<std::uint32_t>(ids_.size());
        ids_.push_back(-1);
        edges.emplace_back(key(path[d], static_cast<unsigned char>(token[d])), next);
        path.push_back(next);
      }
      ids_[path[token.size()]] = id;
      first_of_run = k;
      previous = token;
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

}  // namespace detail
MINILM_END_NAMESPACE
