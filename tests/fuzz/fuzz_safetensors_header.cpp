// Fuzz target: safetensors headers. The input is [2 bytes: data size, little-endian][header
// JSON]; the target adds the 8-byte length prefix and that many bytes of data, so that the
// fuzzer spends its time on the JSON rules rather than on the length prefix. An accepted
// file is then bound as the weights of the tiny model, whose config it may contradict.
#include <cstring>
#include <vector>

#include <minilm/safetensors.hpp>
#include <minilm/weights.hpp>

#include "fuzz_support.hpp"

namespace {
minilm::bert_config tiny_config() {
  const test_support::tiny_bert m;
  minilm::bert_config c;
  c.vocab_size = m.vocab;
  c.hidden_size = m.hidden;
  c.n_layers = m.layers;
  c.n_heads = m.heads;
  c.intermediate_size = m.intermediate;
  c.max_position_embeddings = m.positions;
  c.type_vocab_size = m.types;
  return c;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return -1;  // not an input of this target: keep it out of the corpus
  const std::size_t data_size = data[0] | (std::size_t{data[1]} << 8);
  const std::string header = test_support::safetensors_builder::length_prefix(size - 2);
  std::vector<std::byte> file(8 + (size - 2) + data_size, std::byte{0x3c});
  std::memcpy(file.data(), header.data(), 8);
  std::memcpy(file.data() + 8, data + 2, size - 2);
  static const minilm::bert_config config = tiny_config();
  try {
    const auto st = minilm::safetensors_file::from_buffer(file, "'fuzz.safetensors'");
    const auto weights = minilm::bind_bert_weights(st, config);
    FUZZ_CHECK(weights.layers.size() == static_cast<std::size_t>(config.n_layers));
    FUZZ_CHECK(weights.word_embeddings != nullptr);
  } catch (const minilm::error&) {
  }
  return 0;
}
