// tests/test_encoder_golden.hpp: reading the goldens tools/goldens/make_encoder_goldens.py writes, and
// comparing embeddings with them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace encoder_golden {

namespace fs = std::filesystem;

inline fs::path data_dir() {
  const char* root = std::getenv("MINILM_SOURCE_ROOT");
  return fs::path(root && *root ? root : ".") / "tests" / "data" / "encoder";
}

inline std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// texts.txt: one text per line, split on '\n' only (a text may hold '\r' or tabs).
inline std::vector<std::string> read_texts(const fs::path& path) {
  const std::string bytes = read_bytes(path);
  std::vector<std::string> texts;
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\n') {
      texts.push_back(bytes.substr(start, i - start));
      start = i + 1;
    }
  }
  return texts;
}

// The reference's ids and outputs for a list of texts.
struct golden {
  std::size_t n_texts = 0, dim = 0;
  std::size_t n_corpus = 0;          // the texts in the file (n_texts, or more when sampled)
  std::vector<std::size_t> offsets;  // n_texts + 1
  std::vector<std::int32_t> ids;
  std::vector<float> embeddings;    // (n_texts, dim)
  std::vector<float> token_states;  // (n_tokens, dim) or empty

  std::vector<std::int32_t> ids_of(std::size_t i) const {
    return {ids.begin() + static_cast<long>(offsets[i]), ids.begin() + static_cast<long>(offsets[i + 1])};
  }
};

inline golden read_golden(const fs::path& path) {
  const std::string b = read_bytes(path);
  std::size_t at = 0;
  auto take = [&](void* out, std::size_t n) {
    if (at + n > b.size()) throw std::runtime_error(path.string() + ": truncated");
    std::memcpy(out, b.data() + at, n);
    at += n;
  };
  char magic[4];
  take(magic, 4);
  if (std::string_view(magic, 4) != "MLG1") throw std::runtime_error(path.string() + ": not a golden file");
  std::uint32_t header[4];
  take(header, sizeof header);
  golden g;
  g.n_texts = header[0];
  g.dim = header[1];
  std::vector<std::uint32_t> offsets(g.n_texts + 1);
  take(offsets.data(), offsets.size() * 4);
  g.offsets.assign(offsets.begin(), offsets.end());
  g.ids.resize(header[2]);
  take(g.ids.data(), g.ids.size() * 4);
  g.embeddings.resize(g.n_texts * g.dim);
  take(g.embeddings.data(), g.embeddings.size() * 4);
  if (header[3] != 0) {
    g.token_states.resize(std::size_t{header[2]} * g.dim);
    take(g.token_states.data(), g.token_states.size() * 4);
  }
  if (at != b.size()) throw std::runtime_error(path.string() + ": trailing bytes");
  g.n_corpus = g.n_texts;
  return g;
}

// The parity runs once per dense kernel (tests/meson.build) set MINILM_PARITY_SAMPLE=1: they
// compare a sample of each corpus with the reference, while the default run, on the fastest
// kernel, compares all of it. The sample keeps every shape class the kernels and attention meet:
// the first 40 texts (each corpus opens with its edge cases: empty, one character, symbols,
// accents), every 29th (lengths spread over the whole range, so that token counts fall at every
// offset from the kernels' panel and tile sizes), the 3 longest (truncated at the model's maximum
// length) and the last 3 (the corpus's last text stays its last).
inline bool sampling() {
  const char* s = std::getenv("MINILM_PARITY_SAMPLE");
  return s != nullptr && *s != '\0' && std::string_view(s) != "0";
}

// The rows of g that a run compares, in increasing order: all of them unless sampling().
inline std::vector<std::size_t> sample_rows(const golden& g) {
  const bool sample = sampling();
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < g.n_texts; ++i) {
    if (!sample || i < 40 || i % 29 == 0 || i + 3 >= g.n_texts) rows.push_back(i);
  }
  if (sample) {
    std::vector<std::size_t> by_length(g.n_texts);
    for (std::size_t i = 0; i < g.n_texts; ++i) by_length[i] = i;
    std::stable_sort(by_length.begin(), by_length.end(), [&](std::size_t a, std::size_t b) {
      return g.offsets[a + 1] - g.offsets[a] > g.offsets[b + 1] - g.offsets[b];
    });
    rows.insert(rows.end(), by_length.begin(), by_length.begin() + static_cast<long>(std::min<std::size_t>(3, g.n_texts)));
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  }
  return rows;
}

// g's rows, in the order given.
inline golden select(const golden& g, const std::vector<std::size_t>& rows) {
  golden s;
  s.n_texts = rows.size();
  s.dim = g.dim;
  s.n_corpus = g.n_corpus;
  s.offsets.push_back(0);
  for (std::size_t r : rows) {
    const auto from = static_cast<long>(g.offsets[r]), to = static_cast<long>(g.offsets[r + 1]);
    s.ids.insert(s.ids.end(), g.ids.begin() + from, g.ids.begin() + to);
    s.offsets.push_back(s.ids.size());
    s.embeddings.insert(s.embeddings.end(), g.embeddings.begin() + static_cast<long>(r * g.dim),
                        g.embeddings.begin() + static_cast<long>((r + 1) * g.dim));
    if (!g.token_states.empty()) {
      s.token_states.insert(s.token_states.end(), g.token_states.begin() + from * static_cast<long>(g.dim),
                            g.token_states.begin() + to * static_cast<long>(g.dim));
    }
  }
  return s;
}

inline std::vector<std::string> select(const std::vector<std::string>& texts, const std::vector<std::size_t>& rows) {
  std::vector<std::string> s;
  for (std::size_t r : rows) s.push_back(texts.at(r));
  return s;
}

// A corpus and its golden, sampled as sampling() says.
struct corpus {
  std::vector<std::string> texts;
  golden g;
};

inline corpus read_corpus(const fs::path& texts_file, const fs::path& golden_file) {
  const golden full = read_golden(golden_file);
  const std::vector<std::string> texts = read_texts(texts_file);
  if (texts.size() != full.n_texts) {
    throw std::runtime_error(texts_file.string() + " holds " + std::to_string(texts.size()) + " texts, " +
                             golden_file.string() + " " + std::to_string(full.n_texts));
  }
  if (!sampling()) return {texts, full};
  const std::vector<std::size_t> rows = sample_rows(full);
  return {select(texts, rows), select(full, rows)};
}

// How far a set of rows is from the reference: the largest absolute difference of any
// component, the largest |reference| (for scale), and the smallest cosine between a row and
// its reference row.
struct difference {
  double max_abs = 0;
  double max_ref = 0;
  double min_cosine = 1;
  std::size_t worst_row = 0;
};

inline difference compare(const float* got, const float* want, std::size_t n_rows, std::size_t dim) {
  difference d;
  for (std::size_t r = 0; r < n_rows; ++r) {
    double dot = 0, gg = 0, ww = 0;
    for (std::size_t j = 0; j < dim; ++j) {
      const double g = got[r * dim + j], w = want[r * dim + j];
      if (std::abs(g - w) > d.max_abs || std::isnan(g)) {
        d.max_abs = std::isnan(g) ? INFINITY : std::abs(g - w);
        d.worst_row = r;
      }
      d.max_ref = std::max(d.max_ref, std::abs(w));
      dot += g * w;
      gg += g * g;
      ww += w * w;
    }
    const double cosine = gg == 0 && ww == 0 ? 1.0 : dot / std::sqrt(gg * ww);
    if (!(cosine >= d.min_cosine)) d.min_cosine = cosine;
  }
  return d;
}

}  // namespace encoder_golden
