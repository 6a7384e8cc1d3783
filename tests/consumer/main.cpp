// A program in another project, built against dependency('minilm').
#include <cstdio>

#include <minilm/encoder.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer MODEL_DIR\n");
    return 2;
  }
  try {
    const minilm::model_folder folder = minilm::read_model_folder(argv[1]);
    const auto file = minilm::safetensors_file::open(folder.weights);
    const minilm::bert_weights weights = minilm::bind_bert_weights(file, folder.config);
    std::printf("consumer: %zu layers, hidden %lld\n", weights.layers.size(),
                static_cast<long long>(folder.config.hidden_size));
  } catch (const minilm::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
