// minilm info: open a model folder the way every minilm process does and say what it holds.
#include <chrono>
#include <cstdio>

#include <minilm/model_folder.hpp>
#include <minilm/safetensors.hpp>
#include <minilm/weights.hpp>

#include "cli.hpp"

int cli::run_info(args a) {
  const std::string dir = a.take("--model", default_model_dir());
  const auto start = std::chrono::steady_clock::now();
  const minilm::model_folder folder = minilm::read_model_folder(dir);
  const auto file = minilm::safetensors_file::open(folder.weights);
  const minilm::bert_weights weights = minilm::bind_bert_weights(file, folder.config);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  const auto& c = folder.config;
  std::printf("model folder    %s\n", dir.c_str());
  std::printf("bert            %lld layers, hidden %lld, %lld heads, ffn %lld, vocab %lld, positions %lld\n",
              static_cast<long long>(c.n_layers), static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.n_heads), static_cast<long long>(c.intermediate_size),
              static_cast<long long>(c.vocab_size), static_cast<long long>(c.max_position_embeddings));
  std::printf("pooling         %s, normalize %s, max_seq_length %lld\n", minilm::pooling_mode_name(folder.pooling.mode),
              folder.normalize ? "yes" : "no", static_cast<long long>(folder.max_seq_length));
  std::printf("weights         %s: %zu tensors, %zu bytes mapped read-only, prefix '%s', %zu bytes converted\n",
              folder.weights.c_str(), file.tensors().size(), file.size_bytes(), weights.prefix.c_str(),
              weights.converted_bytes);
  std::printf("tokenizer       %s\n", !folder.tokenizer_json.empty() ? folder.tokenizer_json.c_str() : folder.vocab_txt.c_str());
  std::printf("opened in       %.3f ms\n", ms);
  return 0;
}
