// tests/test_data.hpp: where the tests' data is, and readers for the committed files: the
// gzip-compressed corpus and token-id goldens, and the multilingual folders that
// tools/setup/fetch_multilingual.sh builds.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_data {

namespace fs = std::filesystem;

// The repository's root ($MINILM_SOURCE_ROOT, which meson test sets), where tests/data is.
inline fs::path source_root() {
  const char* root = std::getenv("MINILM_SOURCE_ROOT");
  return fs::path(root && *root ? root : ".");
}

// A folder under $MINILM_MULTILINGUAL_DIR (default <source root>/models) that
// tools/setup/fetch_multilingual.sh builds. A missing folder fails the test: these tests never skip.
inline fs::path multilingual_folder(const std::string& name) {
  const char* env = std::getenv("MINILM_MULTILINGUAL_DIR");
  const fs::path dir = (env && *env ? fs::path(env) : source_root() / "models") / name;
  if (!fs::is_directory(dir)) {
    throw std::runtime_error("the multilingual model folder '" + dir.string() +
                             "' is missing: run tools/setup/fetch_multilingual.sh (or set MINILM_MULTILINGUAL_DIR)");
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

// Splits on "\n" only (like `minilm tokenize`); the final newline ends the last line.
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

// One line of a token-id golden file: "<n_truncated> <id> <id> ...".
struct id_golden {
  std::size_t n_truncated = 0;
  std::vector<std::int32_t> ids;
};

inline std::vector<id_golden> read_id_goldens(const fs::path& gz) {
  std::vector<id_golden> out;
  for (const std::string& line : split_lines(gunzip(gz))) {
    std::istringstream in(line);
    id_golden g;
    in >> g.n_truncated;
    std::int32_t id;
    while (in >> id) g.ids.push_back(id);
    out.push_back(std::move(g));
  }
  return out;
}

// The first 40 ids, for messages.
inline std::string show(const std::vector<std::int32_t>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size() && i < 40; ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s + (ids.size() > 40 ? " ..." : "");
}

}  // namespace test_data
