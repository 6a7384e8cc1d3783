// minilm/safetensors.hpp: a safetensors file, mapped read-only and validated.
//
//   auto file = minilm::safetensors_file::open("model.safetensors");
//   const minilm::tensor_view& t = file.at("embeddings.word_embeddings.weight");
//   const float* w = t.f32();              // zero-copy: points into the mapping
//   std::vector<float> h = t.to_f32();     // F16/BF16/F32 converted into a new buffer
//
// Opening validates the whole header (format rules: https://github.com/huggingface/safetensors):
// header size, UTF-8 JSON, known dtypes, shapes, offsets that tile the data region with no
// gap, overlap or trailing bytes, no duplicate names, string-to-string metadata, and every
// size computation checked for overflow. After that, tensor views are trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"

MINILM_BEGIN_NAMESPACE

namespace detail {
class mapped_file;
}

enum class dtype {
  boolean, u8, i8, i16, u16, i32, u32, i64, u64,
  f4, f6_e2m3, f6_e3m2, f8_e5m2, f8_e4m3, f8_e8m0,
  f16, bf16, f32, f64, c64,
};

// The name used in safetensors headers ("F32", "BF16", ...).
MINILM_API std::string_view dtype_name(dtype t) noexcept;
// Bits per element (4 and 6 for the sub-byte float formats).
MINILM_API unsigned dtype_bits(dtype t) noexcept;

// One tensor of a safetensors_file, which alone makes them (after validating the header).
class MINILM_API tensor_view {
 public:
  const std::string& name() const noexcept { return name_; }
  dtype type() const noexcept { return type_; }
  const std::vector<std::int64_t>& shape() const noexcept { return shape_; }
  std::size_t rank() const noexcept { return shape_.size(); }
  std::size_t n_elements() const noexcept { return n_elements_; }
  // The raw little-endian bytes, inside the mapping (or the caller's buffer).
  std::span<const std::byte> bytes() const noexcept { return {data_, n_bytes_}; }

  // The data as floats, in place. Throws errc::invalid_tensor unless the dtype is F32 and
  // the data is aligned for float. Files whose header length is a multiple of 8 (as writers
  // pad it) and whose tensors all hold whole floats are; Eigen maps over it are declared
  // unaligned all the same.
  const float* f32() const;
  // Whether f32() can return the data in place.
  bool f32_in_place() const noexcept {
    return type_ == dtype::f32 && reinterpret_cast<std::uintptr_t>(data_) % alignof(float) == 0;
  }
  // A copy converted to float from F32, F16 or BF16 (costs 4 bytes per element of
  // private memory, unlike the shared mapping). Throws errc::invalid_tensor otherwise.
  std::vector<float> to_f32() const;

  // "'name' (F32 [384, 1536])", for messages.
  std::string describe() const;

 private:
  friend class safetensors_file;
  tensor_view(std::string name, dtype type, std::vector<std::int64_t> shape, const std::byte* data,
              std::size_t n_bytes, std::size_t n_elements)
      : name_(std::move(name)), type_(type), shape_(std::move(shape)), data_(data),
        n_bytes_(n_bytes), n_elements_(n_elements) {}

  std::string name_;
  dtype type_;
  std::vector<std::int64_t> shape_;
  const std::byte* data_;
  std::size_t n_bytes_;
  std::size_t n_elements_;
};

struct safetensors_limits {
  std::uint64_t max_header_bytes = 100'000'000;  // the reference implementation's cap
  std::size_t max_rank = 16;
  std::size_t max_tensors = 1'000'000;
};

class MINILM_API safetensors_file {
 public:
  // Maps `path` read-only (O_RDONLY | O_CLOEXEC, PROT_READ, MAP_SHARED) and validates it.
  // Nothing is written, locked or copied; the header JSON is parsed once.
  static safetensors_file open(const std::filesystem::path& path, const safetensors_limits& limits = {});
  // Validates a buffer the caller owns and keeps alive for the life of the result.
  // `source` names the buffer in error messages.
  static safetensors_file from_buffer(std::span<const std::byte> bytes, std::string source = "<buffer>",
                                      const safetensors_limits& limits = {});

  // Tensors in the order of their data offsets.
  const std::vector<tensor_view>& tensors() const noexcept { return tensors_; }
  const tensor_view* find(std::string_view name) const noexcept;
  // Throws errc::missing_tensor naming the file and the tensor.
  const tensor_view& at(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  // The file name (or buffer name) used in messages.
  const std::string& source() const noexcept { return source_; }
  std::size_t size_bytes() const noexcept { return size_; }
  std::size_t header_bytes() const noexcept { return header_bytes_; }
  // Hints the kernel to read the whole file ahead (madvise WILLNEED); no-op for buffers.
  void prefetch() const noexcept;
  // Maps the pages of these bytes (a tensor's, say) into the process now, on Linux 5.14 and
  // later, so that reading them takes no page fault; no-op for buffers and elsewhere.
  void populate(std::span<const std::byte> bytes) const noexcept;
  // The mapping the tensors point into, shared: whoever holds it keeps their data valid after
  // this object is gone (bind_bert_weights() does). Null for a caller's buffer.
  std::shared_ptr<const void> mapping() const noexcept { return mapping_; }

 private:
  safetensors_file() = default;
  void parse(const std::byte* data, std::size_t size, const safetensors_limits& limits);

  std::shared_ptr<const detail::mapped_file> mapping_;  // null for a caller's buffer
  std::string source_;
  std::size_t size_ = 0;
  std::size_t header_bytes_ = 0;
  std::vector<tensor_view> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

MINILM_END_NAMESPACE
