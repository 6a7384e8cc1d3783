// The encoder on BERT shapes other than all-MiniLM-L6-v2's (12 layers, 3 layers, hidden 768,
// CLS / max / mean_sqrt_len pooling, no normalization), against sentence-transformers.
//
// The weights of these models are not committed: they come from a fixed pseudo-random rule that
// tools/goldens/generated_weights.py applies too (uniform(), tensor_value() below), so the test
// rebuilds the exact model.safetensors the reference ran. Committed in tests/data/encoder/<shape>/
// are the folder's JSON files, the texts, and the reference's ids and embeddings (golden). The
// tokenizer files are the real model's.
#include <doctest/doctest.h>

#include <minilm/encoder.hpp>
#include <minilm/model_folder.hpp>

#include <cmath>
#include <cstring>
#include <iomanip>
#include <string>
#include <vector>

#include "support.hpp"
#include "test_encoder_golden.hpp"

namespace {

namespace fs = std::filesystem;

std::uint64_t fnv1a64(std::string_view s) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

// Value i of the stream named `name`: k / 2^15 with k in [-2^15, 2^15), from splitmix64.
float uniform(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z = z ^ (z >> 31);
  const auto k = static_cast<std::int64_t>(z >> 48) - 32768;
  return static_cast<float>(k) / 32768.0f;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The tensor's bytes (F32, little-endian): the same rule as generated_tensor() in tools/goldens/generated_weights.py.
std::string tensor_value(const std::string& name, const std::vector<std::int64_t>& shape) {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  float offset = 0, scale;
  if (ends_with(name, "LayerNorm.weight")) {
    offset = 1.0f;
    scale = 0.25f;
  } else if (ends_with(name, ".bias")) {
    scale = 0.125f;
  } else if (name.find("embeddings") != std::string::npos) {
    scale = 0.5f;
  } else {
    const double n_in = static_cast<double>(shape[1]);
    scale = static_cast<float>(2.0 / std::pow(2.0, std::ceil(std::log2(std::sqrt(n_in)))));
  }
  const std::uint64_t seed = fnv1a64(name);
  std::string bytes(n * 4, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    const float v = offset + scale * uniform(seed, i);
    std::memcpy(bytes.data() + 4 * i, &v, 4);
  }
  return bytes;
}

void write_weights(const fs::path& file, const minilm::bert_config& c) {
  test_support::safetensors_builder b;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
    b.add_raw(name, "F32", shape, tensor_value(name, shape));
  };
  const std::int64_t h = c.hidden_size;
  add("embeddings.word_embeddings.weight", {c.vocab_size, h});
  add("embeddings.position_embeddings.weight", {c.max_position_embeddings, h});
  add("embeddings.token_type_embeddings.weight", {c.type_vocab_size, h});
  add("embeddings.LayerNorm.weight", {h});
  add("embeddings.LayerNorm.bias", {h});
  for (std::int64_t i = 0; i < c.n_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    const std::pair<const char*, std::vector<std::int64_t>> linears[] = {
        {"attention.self.query", {h, h}},  {"attention.self.key", {h, h}},
        {"attention.self.value", {h, h}},  {"attention.output.dense", {h, h}},
        {"intermediate.dense", {c.intermediate_size, h}}, {"output.dense", {h, c.intermediate_size}}};
    for (const auto& [name, shape] : linears) {
      add(p + name + ".weight", shape);
      add(p + name + ".bias", {shape[0]});
    }
    for (const char* norm : {"attention.output.LayerNorm", "output.LayerNorm"}) {
      add(p + norm + ".weight", {h});
      add(p + norm + ".bias", {h});
    }
  }
  b.metadata(R"({"format":"pt"})");
  test_support::write_file(file, b.build());
}

// The shape's folder, rebuilt in a temporary directory.
void build_folder(const fs::path& data, const fs::path& out) {
  fs::create_directories(out / "1_Pooling");
  for (const char* f : {"config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"}) {
    fs::copy_file(data / f, out / f);
  }
  const fs::path real = test_support::model_dir();
  for (const char* f : {"tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}) {
    fs::copy_file(real / f, out / f);
  }
  write_weights(out / "model.safetensors", minilm::read_bert_config(out / "config.json"));
}

struct shape_case {
  const char* name;
  std::int64_t layers, hidden;
  minilm::pooling_mode pooling;
  bool normalize;
};

}  // namespace

TEST_CASE("other BERT shapes match sentence-transformers") {
  const shape_case cases[] = {
      {"l12-mean", 12, 32, minilm::pooling_mode::mean, true},
      {"l3-cls", 3, 48, minilm::pooling_mode::cls, true},
      {"l2-max-raw", 2, 40, minilm::pooling_mode::max, false},
      {"l1-h768-sqrt-raw", 1, 768, minilm::pooling_mode::mean_sqrt_len, false},
  };
  for (const shape_case& sc : cases) {
    SUBCASE(sc.name) {
      const fs::path data = encoder_golden::data_dir() / sc.name;
      test_support::temp_dir tmp;
      build_folder(data, tmp / sc.name);
      minilm::encoder_options options;
      options.n_threads = 2;
      const minilm::encoder m = minilm::encoder::load(tmp / sc.name, options);
      REQUIRE(m.folder().config.n_layers == sc.layers);
      REQUIRE(m.dimension() == static_cast<std::size_t>(sc.hidden));
      REQUIRE(m.pooling() == sc.pooling);
      REQUIRE(m.normalize() == sc.normalize);

      const auto corpus = encoder_golden::read_corpus(data / "texts.txt", data / "golden");
      const auto& texts = corpus.texts;
      const auto& g = corpus.g;
      REQUIRE(texts.size() == g.n_texts);
      const minilm::embeddings from_ids = m.encode_ids(g.ids, g.offsets);
      const auto d = encoder_golden::compare(from_ids.values.data(), g.embeddings.data(), g.n_texts, g.dim);
      MESSAGE(std::setprecision(12) << std::string(sc.name) << " on " << g.n_texts << " texts (" << g.ids.size()
              << " tokens): max |difference| " << d.max_abs << " (largest |value| " << d.max_ref << "), min cosine "
              << d.min_cosine);
      CHECK(d.max_abs <= 1e-5);
      CHECK(d.min_cosine >= 0.999999);

      // From the texts: minilm's tokenizer, then the same numbers.
      const minilm::embeddings from_texts = m.encode(texts);
      REQUIRE(from_texts.size() == g.n_texts);
      const auto dt = encoder_golden::compare(from_texts.values.data(), g.embeddings.data(), g.n_texts, g.dim);
      CHECK(dt.max_abs <= 1e-5);
      CHECK(dt.min_cosine >= 0.999999);
    }
  }
}
