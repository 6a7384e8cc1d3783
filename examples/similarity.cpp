// similarity: embed a few sentences with the real model and print their pairwise cosine
// similarities.
//
//   ./build/examples/similarity [model folder]
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <minilm/encoder.hpp>
#include <minilm/similarity.hpp>

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : MINILM_DEFAULT_MODEL_DIR;
  const std::vector<std::string> sentences = {
      "A man is eating food.",
      "A man is eating a piece of bread.",
      "The new movie is awesome.",
      "The new movie is so great.",
      "A cheetah is running behind its prey.",
      "A monkey is playing drums.",
  };
  const minilm::encoder model = minilm::encoder::load(dir);
  const minilm::embeddings e = model.encode(sentences);

  const minilm::similarity_matrix cosine = minilm::similarity(e, e);
  for (std::size_t i = 0; i < sentences.size(); ++i) std::printf("[%zu] %s\n", i, sentences[i].c_str());
  std::printf("\ncosine similarity\n    ");
  for (std::size_t j = 0; j < sentences.size(); ++j) std::printf("    [%zu]", j);
  std::printf("\n");
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    std::printf("[%zu] ", i);
    for (std::size_t j = 0; j < sentences.size(); ++j) std::printf(" %6.3f", cosine(i, j));
    std::printf("\n");
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
