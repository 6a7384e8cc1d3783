// Fuzz target: the model.safetensors of an int8 tiny model (minilm/quantize.hpp's format: I8
// linear weights, their scales, outlier channels), written into the tiny model folder, which is
// then loaded and used to encode a short text.
//
// Promises checked: loading either succeeds or throws minilm::error; a model that loads gives a
// vector of the model's dimension, bitwise the same twice, and of unit length when its values are
// finite (the F32 tensors are not checked for finiteness at load: weights that overflow give
// NaN or infinity in the embedding, as they would in F32, but never undefined behaviour).
#include <cmath>
#include <cstring>
#include <vector>

#include <minilm/encoder.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path& folder = fuzz::scratch_model_folder();
  test_support::write_file(folder / "model.safetensors", std::string(fuzz::as_text(data, size)));
  try {
    const minilm::encoder model = minilm::encoder::load(folder);
    const std::vector<float> v = model.encode_one("a5 b6 c7");
    FUZZ_CHECK(v.size() == model.dimension());
    double norm = 0;
    for (const float x : v) norm += double{x} * x;
    FUZZ_CHECK(!std::isfinite(norm) || norm == 0 || std::fabs(norm - 1.0) < 1e-4);
    const std::vector<float> again = model.encode_one("a5 b6 c7");
    FUZZ_CHECK(std::memcmp(v.data(), again.data(), v.size() * sizeof(float)) == 0);
  } catch (const minilm::error&) {
  }
  return 0;
}
