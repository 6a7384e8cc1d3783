// minilm: sentence embeddings from a model folder, on the command line.
#include <cstdio>
#include <exception>
#include <string>

#if defined(_WIN32)
#include <fcntl.h>
#include <io.h>
#endif

#include <minilm/error.hpp>

#include "cli.hpp"

namespace {
const char* usage =
    "usage: minilm <command> [--model DIR] [options]\n"
    "\n"
    "commands:\n"
    "  info       load the model folder and print what it holds\n"
    "  tokenize   read lines from stdin, print one JSON array of token ids per line\n"
    "  embed      read lines from stdin, print one embedding per line\n"
    "             (--prompt-name NAME or --prompt TEXT puts a prompt before each)\n"
    "  quantize   write an int8 copy of the model folder: --out DIR (a new folder)\n"
    "             [--outliers N: input channels per layer kept in F32, default 8]\n"
    "\n"
    "The model folder defaults to $MINILM_MODEL, else " MINILM_DEFAULT_MODEL_DIR ".\n";
}

int main(int argc, char** argv) {
#if defined(_WIN32)
  // Lines end at '\n' alone (messages too), and --format npy writes raw bytes: no CRLF translation.
  _setmode(_fileno(stdin), _O_BINARY);
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
#endif
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  cli::args a;
  for (int i = 2; i < argc; ++i) a.items.emplace_back(argv[i]);
  try {
    if (command == "info") return cli::run_info(a);
    if (command == "tokenize") return cli::run_tokenize(a);
    if (command == "embed") return cli::run_embed(a);
    if (command == "quantize") return cli::run_quantize(a);
  } catch (const minilm::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minilm: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "minilm: unknown command '%s'\n\n%s", command.c_str(), usage);
  return 2;
}
