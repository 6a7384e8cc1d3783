#include <cstdio>

#include "cli.hpp"

int cli::run_tokenize(args) {
  std::fprintf(stderr, "minilm: tokenize is not available yet\n");
  return 1;
}
