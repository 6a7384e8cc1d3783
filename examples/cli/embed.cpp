#include <cstdio>

#include "cli.hpp"

int cli::run_embed(args) {
  std::fprintf(stderr, "minilm: embed is not available yet\n");
  return 1;
}
