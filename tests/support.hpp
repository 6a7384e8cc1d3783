// tests/support.hpp: what several tests share: where the real model is, temporary
// folders, and a writer for small safetensors files built in memory.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_support {

namespace fs = std::filesystem;

// The real all-MiniLM-L6-v2 folder (tools/setup/fetch_model.sh places it).
inline fs::path model_dir() {
  const char* env = std::getenv("MINILM_MODEL_DIR");
  fs::path dir = env && *env ? fs::path(env) : fs::path("models/all-MiniLM-L6-v2");
  if (!fs::exists(dir / "model.safetensors")) {
    throw std::runtime_error("the real model is not at '" + dir.string() +
                             "': run tools/setup/fetch_model.sh or set MINILM_MODEL_DIR");
  }
  return dir;
}

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
class temp_dir {
 public:
  // A random name that nothing else holds: create_directory fails on one that exists, so
  // two processes never share a folder (mkdtemp's guarantee, on every platform).
  temp_dir() {
    thread_local std::mt19937_64 random{std::random_device{}()};
    const fs::path base = fs::temp_directory_path();
    for (int attempt = 0; attempt < 100; ++attempt) {
      const fs::path candidate = base / ("minilm-test-" + std::to_string(random()));
      if (fs::create_directory(candidate)) {
        path_ = candidate;
        return;
      }
    }
    throw std::runtime_error("cannot create a temporary folder in " + base.string());
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// `link` made to show `target` (a file or a folder): a symbolic link, or on Windows, where
// making one takes a privilege that tests do not have, a copy.
inline void link_or_copy(const fs::path& target, const fs::path& link) {
#if defined(_WIN32)
  fs::copy(target, link, fs::copy_options::recursive);
#else
  if (fs::is_directory(target)) {
    fs::create_directory_symlink(fs::absolute(target), link);
  } else {
    fs::create_symlink(fs::absolute(target), link);
  }
#endif
}

inline void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// Builds safetensors bytes: tensors are laid out in the order added, F32 data filled with
// `fill(i)` for element i. header_json() can be replaced wholesale to build broken files.
class safetensors_builder {
 public:
  safetensors_builder& add_f32(const std::string& name, std::vector<std::int64_t> shape, float first = 0.0f) {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    std::string bytes(n * 4, '\0');
    for (std::size_t i = 0; i < n; ++i) {
      const float v = first + static_cast<float>(i) * 0.001f;
      std::memcpy(bytes.data() + 4 * i, &v, 4);
    }
    return add_raw(name, "F32", std::move(shape), bytes);
  }
  safetensors_builder& add_raw(const std::string& name, const std::string& dtype, std::vector<std::int64_t> shape,
                               const std::string& bytes) {
    if (!entries_.empty()) entries_ += ",";
    entries_ += "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":[";
    for (std::size_t i = 0; i < shape.size(); ++i) entries_ += (i ? "," : "") + std::to_string(shape[i]);
    entries_ += "],\"data_offsets\":[" + std::to_string(data_.size()) + "," + std::to_string(data_.size() + bytes.size()) + "]}";
    data_ += bytes;
    return *this;
  }
  safetensors_builder& metadata(const std::string& json_object) {
    metadata_ = json_object;
    return *this;
  }
  std::string header_json() const {
    std::string h = "{";
    if (!metadata_.empty()) h += "\"__metadata__\":" + metadata_ + (entries_.empty() ? "" : ",");
    return h + entries_ + "}";
  }
  const std::string& data() const { return data_; }
  // The whole file, header padded with spaces to a multiple of 8 as writers do.
  std::string build() const { return assemble(header_json(), data_); }

  static std::string assemble(std::string header, const std::string& data) {
    while (header.size() % 8 != 0) header += ' ';
    return length_prefix(header.size()) + header + data;
  }
  static std::string length_prefix(std::uint64_t n) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
    return out;
  }

 private:
  std::string entries_;
  std::string metadata_;
  std::string data_;
};

}  // namespace test_support

namespace test_support {

// The shape of a tiny BERT model folder written by write_tiny_bert_folder().
struct tiny_bert {
  int vocab = 16, hidden = 8, layers = 2, heads = 2, intermediate = 12, positions = 10, types = 2;
  std::string prefix;           // "" or "bert."
  std::string dtype = "F32";    // F32, F16 or BF16 for every float tensor
  bool normalize = true;
  std::string pooling = "pooling_mode_mean_tokens";
};

// Every tensor name and shape BertModel has (plus position_ids and the pooler, which the
// encoder does not use), in file order.
inline std::vector<std::pair<std::string, std::vector<std::int64_t>>> tiny_bert_tensors(const tiny_bert& m) {
  using shape = std::vector<std::int64_t>;
  const std::int64_t h = m.hidden;
  std::vector<std::pair<std::string, shape>> t = {
      {"embeddings.word_embeddings.weight", {m.vocab, h}},
      {"embeddings.position_embeddings.weight", {m.positions, h}},
      {"embeddings.token_type_embeddings.weight", {m.types, h}},
      {"embeddings.LayerNorm.weight", {h}},
      {"embeddings.LayerNorm.bias", {h}},
  };
  for (int i = 0; i < m.layers; ++i) {
    const std::string l = "encoder.layer." + std::to_string(i) + ".";
    for (const char* n : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
      t.push_back({l + n + ".weight", {h, h}});
      t.push_back({l + n + ".bias", {h}});
    }
    t.push_back({l + "attention.output.LayerNorm.weight", {h}});
    t.push_back({l + "attention.output.LayerNorm.bias", {h}});
    t.push_back({l + "intermediate.dense.weight", {m.intermediate, h}});
    t.push_back({l + "intermediate.dense.bias", {m.intermediate}});
    t.push_back({l + "output.dense.weight", {h, m.intermediate}});
    t.push_back({l + "output.dense.bias", {h}});
    t.push_back({l + "output.LayerNorm.weight", {h}});
    t.push_back({l + "output.LayerNorm.bias", {h}});
  }
  t.push_back({"pooler.dense.weight", {h, h}});
  t.push_back({"pooler.dense.bias", {h}});
  return t;
}

inline std::string tiny_bert_config_json(const tiny_bert& m) {
  return "{\"architectures\":[\"BertModel\"],\"model_type\":\"bert\",\"hidden_act\":\"gelu\",\"layer_norm_eps\":1e-12,"
         "\"vocab_size\":" + std::to_string(m.vocab) + ",\"hidden_size\":" + std::to_string(m.hidden) +
         ",\"num_hidden_layers\":" + std::to_string(m.layers) + ",\"num_attention_heads\":" + std::to_string(m.heads) +
         ",\"intermediate_size\":" + std::to_string(m.intermediate) +
         ",\"max_position_embeddings\":" + std::to_string(m.positions) +
         ",\"type_vocab_size\":" + std::to_string(m.types) + ",\"pad_token_id\":0,\"position_embedding_type\":\"absolute\"}";
}

// Writes a complete sentence-transformers folder with deterministic (meaningless) weights
// and a vocab.txt of `vocab` tokens ([PAD], [UNK], [CLS], [SEP], [MASK], then a, b, c, ...).
inline void write_tiny_bert_folder(const fs::path& dir, const tiny_bert& m = {}) {
  fs::create_directories(dir / "1_Pooling");
  write_file(dir / "config.json", tiny_bert_config_json(m));
  std::string modules = R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},)"
                        R"({"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"})";
  if (m.normalize) modules += R"(,{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"})";
  write_file(dir / "modules.json", modules + "]");
  write_file(dir / "sentence_bert_config.json", "{\"max_seq_length\":" + std::to_string(m.positions) + ",\"do_lower_case\":false}");
  write_file(dir / "1_Pooling" / "config.json",
             "{\"word_embedding_dimension\":" + std::to_string(m.hidden) + ",\"" + m.pooling + "\":true}");
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (int i = 5; i < m.vocab; ++i) vocab += std::string(1, static_cast<char>('a' + (i - 5) % 26)) + std::to_string(i) + "\n";
  write_file(dir / "vocab.txt", vocab);

  safetensors_builder b;
  b.metadata(R"({"format":"pt"})");
  b.add_raw("embeddings.position_ids", "I64", {1, m.positions}, std::string(8 * static_cast<std::size_t>(m.positions), '\0'));
  float next = 0.01f;
  for (const auto& [name, shape] : tiny_bert_tensors(m)) {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    if (m.dtype == "F32") {
      b.add_f32(m.prefix + name, shape, next);
    } else {
      // 16-bit floats: the upper half of the float's bits is BF16; F16 gets 0x3C00 (1.0).
      std::string bytes(2 * n, '\0');
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h = 0x3C00;
        if (m.dtype == "BF16") {
          const float v = next + static_cast<float>(i) * 0.001f;
          std::uint32_t bits;
          std::memcpy(&bits, &v, 4);
          h = static_cast<std::uint16_t>(bits >> 16);
        }
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      }
      b.add_raw(m.prefix + name, m.dtype, shape, bytes);
    }
    next += 0.01f;
  }
  write_file(dir / "model.safetensors", b.build());
}

}  // namespace test_support
