// minilm quantize: write the int8 copy of a model folder (minilm/quantize.hpp).
#include <chrono>
#include <cstdio>
#include <string>

#include <minilm/quantize.hpp>

#include "cli.hpp"

int cli::run_quantize(args a) {
  const std::string dir = a.take("--model", default_model_dir());
  const std::optional<std::string> out = a.take_optional("--out");
  if (!out || out->empty()) {
    std::fprintf(stderr, "minilm quantize: --out DIR is required (a folder that does not exist yet, or is empty)\n");
    return 2;
  }
  minilm::quantize_options options;
  if (const auto n = a.take_optional("--outliers")) options.n_outliers = std::stoul(*n);
  const auto start = std::chrono::steady_clock::now();
  const minilm::quantize_result r = minilm::quantize_model(dir, *out, options);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("wrote %s: %zu linear weights as int8 per output channel (%zu outlier channels each in F32), "
              "%llu bytes (from %llu, sha256 %s); %zu other files copied; %.2f s\n",
              r.weights.string().c_str(), r.n_quantized, options.n_outliers, static_cast<unsigned long long>(r.bytes),
              static_cast<unsigned long long>(r.source_bytes), r.source_sha256.c_str(), r.n_files_copied, s);
  return 0;
}
