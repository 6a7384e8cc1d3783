// Fuzz target: the JSON files of a model folder. The first input byte picks the file
// (config.json, modules.json, 1_Pooling/config.json or sentence_bert_config.json), the rest
// replaces it in an otherwise valid tiny model folder, which is then read and, when its
// config is accepted, bound to the folder's weights (which the config may contradict).
#include <fstream>
#include <iterator>

#include <minilm/model_folder.hpp>
#include <minilm/safetensors.hpp>
#include <minilm/weights.hpp>

#include "fuzz_support.hpp"

namespace {
const char* const files[] = {"config.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json"};

struct original_files {
  std::string contents[std::size(files)];
  original_files() {
    for (std::size_t i = 0; i < std::size(files); ++i) {
      contents[i] = read_whole(fuzz::scratch_model_folder() / files[i]);
    }
  }
  static std::string read_whole(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return -1;
  static const original_files originals;
  const std::filesystem::path& folder = fuzz::scratch_model_folder();
  const std::size_t which = data[0] % std::size(files);
  test_support::write_file(folder / files[which], std::string(fuzz::as_text(data + 1, size - 1)));
  try {
    const auto m = minilm::read_model_folder(folder);
    const auto& c = m.config;
    FUZZ_CHECK(c.hidden_size > 0 && c.n_heads > 0 && c.hidden_size % c.n_heads == 0);
    FUZZ_CHECK(c.n_layers > 0 && c.vocab_size > 0 && c.intermediate_size > 0);
    FUZZ_CHECK(c.max_position_embeddings > 0 && c.type_vocab_size > 0);
    FUZZ_CHECK(c.pad_token_id >= 0 && c.pad_token_id < c.vocab_size);
    FUZZ_CHECK(m.pooling.dimension == c.hidden_size);
    FUZZ_CHECK(m.max_seq_length >= 2 && m.max_seq_length <= c.max_position_embeddings);
    const auto file = minilm::safetensors_file::open(m.weights);
    const auto weights = minilm::bind_bert_weights(file, c);
    FUZZ_CHECK(weights.layers.size() == static_cast<std::size_t>(c.n_layers));
  } catch (const minilm::error&) {
  }
  test_support::write_file(folder / files[which], originals.contents[which]);
  return 0;
}
