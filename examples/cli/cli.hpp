// examples/cli/cli.hpp: shared pieces of the `minilm` command-line tool.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cli {

// The model folder: --model DIR, else $MINILM_MODEL, else the folder tools/setup/fetch_model.sh fills.
inline std::string default_model_dir() {
  if (const char* env = std::getenv("MINILM_MODEL"); env != nullptr && *env != '\0') return env;
  return MINILM_DEFAULT_MODEL_DIR;
}

// Minimal flag parsing: "--name value" and "--name=value".
struct args {
  std::vector<std::string> items;

  // Removes --name and its value; returns fallback when absent.
  std::string take(std::string_view name, std::string fallback) { return take_optional(name).value_or(fallback); }
  // Removes --name and its value; nullopt when absent (a value may be empty: --name "").
  std::optional<std::string> take_optional(std::string_view name) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i] == name && i + 1 < items.size()) {
        std::string v = items[i + 1];
        items.erase(items.begin() + static_cast<long>(i), items.begin() + static_cast<long>(i) + 2);
        return v;
      }
      if (items[i].rfind(std::string(name) + "=", 0) == 0) {
        std::string v = items[i].substr(name.size() + 1);
        items.erase(items.begin() + static_cast<long>(i));
        return v;
      }
    }
    return std::nullopt;
  }
  bool take_flag(std::string_view name) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i] == name) {
        items.erase(items.begin() + static_cast<long>(i));
        return true;
      }
    }
    return false;
  }
};

// Subcommands; each returns the process exit code and reports errors on stderr.
int run_info(args a);
int run_tokenize(args a);
int run_embed(args a);
int run_quantize(args a);

}  // namespace cli
