// tests/unigram_support.hpp: what the Unigram tokenizer tests share: where the multilingual
// folders are, and the texts and golden ids of tools/make_unigram_goldens.py.
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "json.hpp"  // the library's simdjson wrapper, for the edge-case file

namespace unigram_support {

namespace fs = std::filesystem;

inline fs::path source_root() {
  const char* root = std::getenv("MINILM_SOURCE_ROOT");
  return fs::path(root && *root ? root : ".");
}

// A folder built by tools/fetch_multilingual.sh, under $MINILM_MULTILINGUAL_DIR (default
// <source root>/models). Missing, it fails the test: these tests are never skipped.
inline fs::path multilingual_folder(const std::string& name) {
  const char* env = std::getenv("MINILM_MULTILINGUAL_DIR");
  const fs::path dir = (env && *env ? fs::path(env) : source_root() / "models") / name;
  if (!fs::is_directory(dir)) {
    FAIL("the multilingual model folder '" << dir.string()
                                           << "' is missing: run tools/fetch_multilingual.sh (or set MINILM_MULTILINGUAL_DIR)");
  }
  return dir;
}

inline std::string gunzip(const fs::path& path) {
  gzFile f = gzopen(path.string().c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path.string());
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  gzclose(f);
  if (n < 0) throw std::runtime_error("cannot decompress " + path.string());
  return out;
}

// Splits on "\n" only; the final newline ends the last line.
inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') {
      lines.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  return lines;
}

struct golden {
  std::size_t n_truncated = 0;
  std::vector<std::int32_t> ids;
};

inline std::vector<golden> read_goldens(const fs::path& path) {
  std::vector<golden> out;
  for (const std::string& line : split_lines(gunzip(path))) {
    std::istringstream in(line);
    golden g;
    in >> g.n_truncated;
    std::int32_t id;
    while (in >> id) g.ids.push_back(id);
    out.push_back(std::move(g));
  }
  return out;
}

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

inline std::string show(const std::vector<std::int32_t>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size() && i < 40; ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s + (ids.size() > 40 ? " ..." : "");
}

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
