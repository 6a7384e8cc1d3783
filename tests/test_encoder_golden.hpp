// tests/test_encoder_golden.hpp: reading the goldens tools/goldens/make_encoder_goldens.py writes, and
// comparing embeddings with them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
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
  return g;
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
