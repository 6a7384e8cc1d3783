#include "minilm/safetensors.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>

#include "json.hpp"
#include "mapped_file.hpp"

MINILM_BEGIN_NAMESPACE
namespace {

struct dtype_info {
  dtype type;
  std::string_view name;
  unsigned bits;
};

constexpr std::array<dtype_info, 20> dtype_table{{
    {dtype::boolean, "BOOL", 8},   {dtype::u8, "U8", 8},
    {dtype::i8, "I8", 8},          {dtype::i16, "I16", 16},
    {dtype::u16, "U16", 16},       {dtype::i32, "I32", 32},
    {dtype::u32, "U32", 32},       {dtype::i64, "I64", 64},
    {dtype::u64, "U64", 64},       {dtype::f4, "F4", 4},
    {dtype::f6_e2m3, "F6_E2M3", 6}, {dtype::f6_e3m2, "F6_E3M2", 6},
    {dtype::f8_e5m2, "F8_E5M2", 8}, {dtype::f8_e4m3, "F8_E4M3", 8},
    {dtype::f8_e8m0, "F8_E8M0", 8}, {dtype::f16, "F16", 16},
    {dtype::bf16, "BF16", 16},     {dtype::f32, "F32", 32},
    {dtype::f64, "F64", 64},       {dtype::c64, "C64", 64},
}};

const dtype_info* find_dtype(std::string_view name) {
  for (const auto& info : dtype_table) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::uint64_t read_le_u64(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_mul_overflow(a, b, &out);
#else
  out = a * b;  // unsigned: wraps, never undefined
  return a != 0 && out / a != b;
#endif
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1Fu;
  std::uint32_t mant = h & 0x3FFu;
  std::uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf or NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: normalise the mantissa.
    exp = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3FFu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

float bf16_to_float(std::uint16_t h) {
  const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace

std::string_view dtype_name(dtype t) noexcept {
  for (const auto& info : dtype_table) {
    if (info.type == t) return info.name;
  }
  return "?";
}

unsigned dtype_bits(dtype t) noexcept {
  for (const auto& info : dtype_table) {
    if (info.type == t) return info.bits;
  }
  return 0;
}

std::string tensor_view::describe() const {
  return "'" + name_ + "' (" + std::string(dtype_name(type_)) + " " + shape_string(shape_) + ")";
}

const float* tensor_view::f32() const {
  if (type_ != dtype::f32) {
    throw error(errc::invalid_tensor, "tensor " + describe() + " is not F32; use to_f32() to convert it");
  }
  // Offsets are only byte offsets: a header whose length is not a multiple of 8, or an
  // odd-sized tensor before this one, leaves the data unaligned for float.
  if (reinterpret_cast<std::uintptr_t>(data_) % alignof(float) != 0) {
    throw error(errc::invalid_tensor, "tensor " + describe() + " is not aligned for float in the file; use to_f32() to copy it");
  }
  return reinterpret_cast<const float*>(data_);
}

std::vector<float> tensor_view::to_f32() const {
  std::vector<float> out(n_elements_);
  switch (type_) {
    case dtype::f32:
      // memcpy must not see the null data() of an empty vector, even for 0 bytes.
      if (n_bytes_ != 0) std::memcpy(out.data(), data_, n_bytes_);
      break;
    case dtype::f16:
    case dtype::bf16:
      for (std::size_t i = 0; i < n_elements_; ++i) {
        std::uint16_t h;
        std::memcpy(&h, data_ + 2 * i, 2);
        out[i] = type_ == dtype::f16 ? half_to_float(h) : bf16_to_float(h);
      }
      break;
    default:
      throw error(errc::invalid_tensor, "tensor " + describe() + " cannot be converted to F32 (only F32, F16 and BF16 can)");
  }
  return out;
}

safetensors_file safetensors_file::open(const std::filesystem::path& path, const safetensors_limits& limits) {
  safetensors_file file;
  file.source_ = "'" + path.string() + "'";
  file.mapping_ = std::make_shared<const detail::mapped_file>(path);
  file.parse(file.mapping_->data(), file.mapping_->size(), limits);
  return file;
}

safetensors_file safetensors_file::from_buffer(std::span<const std::byte> bytes, std::string source,
                                               const safetensors_limits& limits) {
  safetensors_file file;
  file.source_ = std::move(source);
  file.parse(bytes.data(), bytes.size(), limits);
  return file;
}

void safetensors_file::prefetch() const noexcept {
  if (mapping_) mapping_->prefetch();
}

void safetensors_file::populate(std::span<const std::byte> bytes) const noexcept {
  if (mapping_) mapping_->populate(bytes.data(), bytes.size());
}

const tensor_view* safetensors_file::find(std::string_view name) const noexcept {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const tensor_view& safetensors_file::at(std::string_view name) const {
  if (const tensor_view* t = find(name)) return *t;
  throw error(errc::missing_tensor, source_ + ": no tensor named '" + std::string(name) + "'");
}

// The steps of safetensors_file::parse, in the order it takes them.
namespace {

// Throws errc::invalid_safetensors: "<source>: <what>".
[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw error(errc::invalid_safetensors, source + ": " + what);
}

// Bytes 0-7: the header's length, little-endian, within the limit and the file.
std::uint64_t read_header_length(const std::byte* data, std::size_t size, const safetensors_limits& limits,
                                 const std::string& source) {
  if (size < 8) fail(source, "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  const std::uint64_t n = read_le_u64(data);
  if (n > limits.max_header_bytes) {
    fail(source, "header length " + std::to_string(n) + " (bytes 0-7) exceeds the limit of " +
                     std::to_string(limits.max_header_bytes) + " bytes");
  }
  if (n > size - 8) {
    fail(source, "header length " + std::to_string(n) + " (bytes 0-7) runs past the end of the " +
                     std::to_string(size) + "-byte file");
  }
  return n;
}

// The header (from byte 8): a JSON object.
detail::json_document parse_header_json(std::string_view header, const std::string& source) {
  // The header must start with '{' (the reference checks this before parsing).
  if (header.empty() || header.front() != '{') {
    fail(source, "header (bytes 8-" + std::to_string(8 + header.size()) + ") does not start with '{'");
  }
  auto doc = detail::json_document::parse(header, source + " header", errc::invalid_safetensors);
  const detail::json_value root = doc.root();
  if (!root.is_object()) root.fail(std::string("header is ") + root.type_name() + ", not an object");
  return doc;
}

// "__metadata__": string keys to string values.
void read_metadata(const detail::json_value& value, std::map<std::string, std::string>& metadata) {
  if (!value.is_object()) value.fail(std::string("metadata must be an object, found ") + value.type_name());
  for (const auto& [key, v] : value.members()) {
    if (!v.is_string()) v.fail(std::string("metadata values must be strings, found ") + v.type_name());
    metadata.emplace(std::string(key), std::string(v.as_string()));
  }
}

// One tensor of the header, consistent in itself; where it lies among the others is checked
// by check_tiling.
struct tensor_entry {
  std::string name;
  const dtype_info* info = nullptr;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0, n_elements = 0;
};

// The entry's field `key` of JSON type `kind` ("string" or "array").
detail::json_value required_field(const detail::json_value& value, const tensor_entry& e, std::string_view key,
                                  std::string_view kind) {
  const auto field = value.find(key);
  if (!field || !(kind == "array" ? field->is_array() : field->is_string())) {
    value.fail("tensor '" + e.name + "' has no " + std::string(kind) + " '" + std::string(key) + "'");
  }
  return *field;
}

void check_fields_known(const detail::json_value& value, const tensor_entry& e) {
  for (const auto& [field, fv] : value.members()) {
    if (field != "dtype" && field != "shape" && field != "data_offsets") {
      fv.fail("unknown field in tensor '" + e.name + "'");
    }
  }
}

// "shape": at most max_rank non-negative dimensions whose product fits 64 bits.
void read_shape(const detail::json_value& shape, tensor_entry& e, const safetensors_limits& limits) {
  const auto dims = shape.items();
  if (dims.size() > limits.max_rank) {
    shape.fail("tensor '" + e.name + "' has rank " + std::to_string(dims.size()) + ", more than the limit of " +
               std::to_string(limits.max_rank));
  }
  std::uint64_t count = 1;
  for (const auto& d : dims) {
    std::uint64_t v = 0;
    if (d.raw().get_uint64().get(v) != simdjson::SUCCESS || v > static_cast<std::uint64_t>(INT64_MAX)) {
      d.fail("dimension of tensor '" + e.name + "' is not a non-negative integer");
    }
    if (mul_overflows(count, v, count)) shape.fail("element count of tensor '" + e.name + "' overflows 64 bits");
    e.shape.push_back(static_cast<std::int64_t>(v));
  }
  e.n_elements = count;
}

// "data_offsets": [begin, end], non-negative, end not before begin.
void read_offsets(const detail::json_value& offsets, tensor_entry& e) {
  const auto range = offsets.items();
  if (range.size() != 2) offsets.fail("tensor '" + e.name + "' needs exactly [begin, end]");
  for (const auto& r : range) {
    if (!r.raw().is_uint64() && !(r.raw().is_int64() && r.raw().get_int64().value_unsafe() >= 0)) {
      r.fail("offset of tensor '" + e.name + "' is not a non-negative integer");
    }
  }
  e.begin = range[0].as_uint();
  e.end = range[1].as_uint();
  if (e.end < e.begin) {
    offsets.fail("tensor '" + e.name + "' ends (" + std::to_string(e.end) + ") before it begins (" +
                 std::to_string(e.begin) + ")");
  }
}

// The offsets span exactly the whole bytes that the dtype and shape need.
void check_byte_size(const tensor_entry& e, const detail::json_value& shape, const detail::json_value& offsets) {
  std::uint64_t bits = 0;
  if (mul_overflows(e.n_elements, e.info->bits, bits)) {
    shape.fail("byte size of tensor '" + e.name + "' overflows 64 bits");
  }
  if (bits % 8 != 0) {
    shape.fail("tensor '" + e.name + "' of " + std::string(e.info->name) + " does not fill a whole number of bytes");
  }
  if (bits / 8 != e.end - e.begin) {
    offsets.fail("tensor '" + e.name + "' (" + std::string(e.info->name) + " " + shape_string(e.shape) + ") needs " +
                 std::to_string(bits / 8) + " bytes but its offsets span " + std::to_string(e.end - e.begin));
  }
}

// One tensor: {"dtype": ..., "shape": [...], "data_offsets": [begin, end]} and nothing else.
tensor_entry read_tensor_entry(std::string_view name, const detail::json_value& value,
                               const safetensors_limits& limits) {
  if (!value.is_object()) value.fail(std::string("tensor entry must be an object, found ") + value.type_name());
  tensor_entry e;
  e.name = std::string(name);
  check_fields_known(value, e);
  const detail::json_value dtype_field = required_field(value, e, "dtype", "string");
  e.info = find_dtype(dtype_field.as_string());
  if (e.info == nullptr) {
    dtype_field.fail("unknown dtype '" + std::string(dtype_field.as_string()) + "' for tensor '" + e.name + "'");
  }
  const detail::json_value shape = required_field(value, e, "shape", "array");
  read_shape(shape, e, limits);
  const detail::json_value offsets = required_field(value, e, "data_offsets", "array");
  read_offsets(offsets, e);
  check_byte_size(e, shape, offsets);
  return e;
}

// Every member of the header: the tensors, returned, and the metadata, into `metadata`.
std::vector<tensor_entry> read_entries(const detail::json_value& root, const safetensors_limits& limits,
                                       const std::string& source, std::map<std::string, std::string>& metadata) {
  const auto members = root.members();
  if (members.size() > limits.max_tensors + 1) {
    fail(source, "header lists " + std::to_string(members.size()) + " entries, more than the limit of " +
                     std::to_string(limits.max_tensors));
  }
  std::vector<tensor_entry> entries;
  for (const auto& [key, value] : members) {
    if (key == "__metadata__") {
      read_metadata(value, metadata);
    } else {
      entries.push_back(read_tensor_entry(key, value, limits));
    }
  }
  if (entries.size() > limits.max_tensors) {
    fail(source, "header lists " + std::to_string(entries.size()) + " tensors, more than the limit of " +
                     std::to_string(limits.max_tensors));
  }
  return entries;
}

// The tensors must tile the data region exactly: sorted by offset, each begins where the
// previous one ended, the first at 0 and the last at the end of the file. Sorts `entries`.
void check_tiling(std::vector<tensor_entry>& entries, std::uint64_t data_start, std::uint64_t data_size,
                  const std::string& source) {
  std::sort(entries.begin(), entries.end(), [](const tensor_entry& a, const tensor_entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t expected = 0;
  for (const auto& e : entries) {
    if (e.begin != expected) {
      fail(source, "tensor '" + e.name + "' starts at data offset " + std::to_string(e.begin) +
                       " but the previous tensor ends at " + std::to_string(expected) +
                       (e.begin < expected ? " (overlap)" : " (gap)"));
    }
    expected = e.end;
  }
  if (expected != data_size) {
    fail(source, "tensors cover " + std::to_string(expected) + " bytes of data but the data region (from byte " +
                     std::to_string(data_start) + ") holds " + std::to_string(data_size) +
                     (expected > data_size ? " (file truncated?)" : " (trailing bytes)"));
  }
}

}  // namespace

void safetensors_file::parse(const std::byte* data, std::size_t size, const safetensors_limits& limits) {
  size_ = size;
  const std::uint64_t n = read_header_length(data, size, limits, source_);
  header_bytes_ = static_cast<std::size_t>(n);
  const detail::json_document doc =
      parse_header_json(std::string_view(reinterpret_cast<const char*>(data + 8), header_bytes_), source_);
  std::vector<tensor_entry> entries = read_entries(doc.root(), limits, source_, metadata_);
  check_tiling(entries, 8 + n, size - 8 - n, source_);

  const std::byte* data_start = data + 8 + n;
  tensors_.reserve(entries.size());
  for (auto& e : entries) {
    index_.emplace(e.name, tensors_.size());
    tensors_.push_back(tensor_view(std::move(e.name), e.info->type, std::move(e.shape), data_start + e.begin,
                                   static_cast<std::size_t>(e.end - e.begin), static_cast<std::size_t>(e.n_elements)));
  }
}

MINILM_END_NAMESPACE
