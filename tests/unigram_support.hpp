// tests/unigram_support.hpp: what the Unigram tokenizer tests share: the texts and golden ids
// of tools/goldens/make_unigram_goldens.py.
#pragma once

#include <doctest/doctest.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "json.hpp"  // the library's simdjson wrapper, for the edge-case file
#include "test_data.hpp"

namespace unigram_support {

namespace fs = std::filesystem;

using test_data::gunzip;
using test_data::id_golden;
using test_data::multilingual_folder;
using test_data::read_id_goldens;
using test_data::show;
using test_data::source_root;
using test_data::split_lines;

// The texts of the goldens, in their order: the corpus lines, the edge cases, then the byte
// strings that are not UTF-8 (which the goldens read decoded with U+FFFD replacements).
struct texts {
  std::vector<std::string> all;
  std::size_t n_corpus = 0, n_edge = 0, n_invalid = 0;
};

inline std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

inline const texts& golden_texts() {
  static const texts t = [] {
    texts out;
    out.all = split_lines(gunzip(source_root() / "tests" / "data" / "tokenizer" / "corpus.txt.gz"));
    out.n_corpus = out.all.size();
    const fs::path edge = source_root() / "tests" / "data" / "multilingual" / "unigram_edge_cases.json";
    const auto doc = minilm::detail::json_document::parse_file(edge);
    for (const auto& v : doc.root().at("texts").items()) out.all.emplace_back(v.as_string());
    out.n_edge = out.all.size() - out.n_corpus;
    for (const auto& v : doc.root().at("invalid_utf8_hex").items()) out.all.push_back(from_hex(v.as_string()));
    out.n_invalid = out.all.size() - out.n_corpus - out.n_edge;
    return out;
  }();
  return t;
}

inline fs::path data_file(const std::string& name) { return source_root() / "tests" / "data" / "multilingual" / name; }

// A printable form of a text for messages: escapes for control bytes and newlines.
inline std::string printable(const std::string& text, std::size_t max = 80) {
  std::string s;
  if (max < text.size()) {
    while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0u) == 0x80u) --max;  // a whole character
  }
  for (char c : text.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      s += buf;
    } else {
      s += c;
    }
  }
  return s + (text.size() > max ? "..." : "");
}

}  // namespace unigram_support
