// What bench_tokenizer and bench_encoder share: where the model and the test data are, from the
// environment that bench/micro/meson.build sets (MINILM_MODEL_DIR, MINILM_SOURCE_ROOT), else relative
// to the working directory.
#pragma once

#include <cstdlib>
#include <filesystem>

namespace bench_common {

// $name when set and not empty, else `fallback`.
inline std::filesystem::path env_path(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::filesystem::path(v) : std::filesystem::path(fallback);
}

inline std::filesystem::path model_dir() { return env_path("MINILM_MODEL_DIR", "models/all-MiniLM-L6-v2"); }

// The folder that tools/setup/fetch_multilingual.sh fills: random-weight multilingual models around the
// real multilingual-e5-small tokenizer.json.
inline std::filesystem::path multilingual_dir() { return env_path("MINILM_MULTILINGUAL_DIR", "models"); }

// The repository's root, where tests/data is.
inline std::filesystem::path source_root() { return env_path("MINILM_SOURCE_ROOT", "."); }

}  // namespace bench_common
