// tests/support.hpp: what several tests share: where the real model is, temporary
// folders, and a writer for small safetensors files built in memory.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace test_support {

namespace fs = std::filesystem;

// The real all-MiniLM-L6-v2 folder (tools/fetch_model.sh places it).
inline fs::path model_dir() {
  const char* env = std::getenv("MINILM_MODEL_DIR");
  fs::path dir = env && *env ? fs::path(env) : fs::path("models/all-MiniLM-L6-v2");
  if (!fs::exists(dir / "model.safetensors")) {
    throw std::runtime_error("the real model is not at '" + dir.string() +
                             "': run tools/fetch_model.sh or set MINILM_MODEL_DIR");
  }
  return dir;
}

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
class temp_dir {
 public:
  temp_dir() {
    std::string templ = (fs::temp_directory_path() / "minilm-test-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
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
