// Fuzz target: encoding arbitrary bytes with a tiny model (test_support::write_tiny_bert_folder:
// 2 layers, hidden size 8, 10 positions, mean pooling, Normalize). The input is split at '\n'
// into a batch of at most 16 texts.
//
// Promises checked: one finite unit-length vector per text, and each text's vector bitwise
// the same as when it is encoded alone. Invalid UTF-8 is the only error allowed.
#include <cmath>
#include <cstring>
#include <vector>

#include <minilm/encoder.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const minilm::encoder model = minilm::encoder::load(fuzz::scratch_model_folder());
  const std::string_view text = fuzz::as_text(data, size);
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= text.size() && lines.size() < 16;) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  try {
    const minilm::embeddings e = model.encode(lines);
    FUZZ_CHECK(e.size() == lines.size() && e.dimension == model.dimension());
    for (std::size_t i = 0; i < e.size(); ++i) {
      double norm = 0;
      for (const float v : e[i]) {
        FUZZ_CHECK(std::isfinite(v));
        norm += double{v} * v;
      }
      FUZZ_CHECK(std::fabs(norm - 1.0) < 1e-4);
    }
    const std::vector<float> alone = model.encode_one(lines.back());
    FUZZ_CHECK(alone.size() == e.dimension);
    FUZZ_CHECK(std::memcmp(alone.data(), e[e.size() - 1].data(), sizeof(float) * e.dimension) == 0);
  } catch (const minilm::error& err) {
    FUZZ_CHECK(err.code() == minilm::errc::invalid_text);
  }
  return 0;
}
