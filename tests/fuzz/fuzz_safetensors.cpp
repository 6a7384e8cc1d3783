// Fuzz target: whole safetensors files, as safetensors_file::from_buffer() sees them.
//
// An accepted file must keep the promises the header makes: every tensor lies inside the
// buffer, after the header, and the tensors tile the data region in order. Converting a
// float tensor reads exactly its bytes (an overread is an ASan report).
#include <minilm/safetensors.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto file = minilm::safetensors_file::from_buffer(fuzz::as_bytes(data, size), "'fuzz.safetensors'");
    const std::byte* const begin = reinterpret_cast<const std::byte*>(data);
    const std::byte* next = begin + 8 + file.header_bytes();
    for (const auto& t : file.tensors()) {
      const auto bytes = t.bytes();
      FUZZ_CHECK(bytes.data() == next);
      FUZZ_CHECK(bytes.size() <= static_cast<std::size_t>(begin + size - bytes.data()));
      FUZZ_CHECK(file.find(t.name()) == &t);
      std::size_t product = 1;
      for (const std::int64_t d : t.shape()) {
        FUZZ_CHECK(d >= 0);
        product *= static_cast<std::size_t>(d);
      }
      FUZZ_CHECK(product == t.n_elements());
      FUZZ_CHECK(t.n_elements() * minilm::dtype_bits(t.type()) == 8 * bytes.size());
      (void)t.describe();
      const auto type = t.type();
      if (type == minilm::dtype::f32 || type == minilm::dtype::f16 || type == minilm::dtype::bf16) {
        FUZZ_CHECK(t.to_f32().size() == t.n_elements());
      }
      next = bytes.data() + bytes.size();
    }
    FUZZ_CHECK(next == begin + size);
  } catch (const minilm::error&) {
  }
  return 0;
}
