// A program in another project, built against dependency('minilm').
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <minilm/encoder.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer MODEL_DIR\n");
    return 2;
  }
  try {
    const minilm::encoder model = minilm::encoder::load(argv[1]);
    const minilm::embeddings e = model.encode(std::vector<std::string>{"hello world", "a vendored encoder"});
    double norm = 0;
    for (float v : e[0]) norm += double(v) * v;
    std::printf("consumer: %zu embeddings of dimension %zu, first norm %.6f\n", e.size(), e.dimension, std::sqrt(norm));
    return e.size() == 2 && std::abs(std::sqrt(norm) - 1.0) < 1e-5 ? 0 : 1;
  } catch (const minilm::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
