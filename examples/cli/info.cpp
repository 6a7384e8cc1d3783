// minilm info: open a model folder the way every minilm process does and say what it holds.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include <minilm/model_folder.hpp>
#include <minilm/safetensors.hpp>
#include <minilm/weights.hpp>

#include "cli.hpp"

namespace {

// A string as a JSON string literal.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
    } else {
      out += ch;
    }
  }
  return out + '"';
}

// query "query: ", passage "passage: " (default query); or none
std::string prompts_line(const minilm::model_folder& folder) {
  std::string line;
  for (const minilm::prompt& p : folder.prompts) line += (line.empty() ? "" : ", ") + p.name + " " + json_string(p.text);
  if (line.empty()) line = "none";
  if (folder.default_prompt_name) line += " (default " + *folder.default_prompt_name + ")";
  return line;
}

}  // namespace

int cli::run_info(args a) {
  const std::string dir = a.take("--model", default_model_dir());
  const auto start = std::chrono::steady_clock::now();
  const minilm::model_folder folder = minilm::read_model_folder(dir);
  const auto file = minilm::safetensors_file::open(folder.weights);
  const minilm::bert_weights weights = minilm::bind_bert_weights(file, folder.config);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  const auto& c = folder.config;
  std::printf("model folder    %s\n", dir.c_str());
  std::printf("%-15s %lld layers, hidden %lld, %lld heads, ffn %lld, vocab %lld, positions %lld", c.model_type.c_str(),
              static_cast<long long>(c.n_layers), static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.n_heads), static_cast<long long>(c.intermediate_size),
              static_cast<long long>(c.vocab_size), static_cast<long long>(c.max_position_embeddings));
  if (c.roberta_family()) {
    std::printf(" (from %lld: %lld tokens)", static_cast<long long>(c.position_offset),
                static_cast<long long>(c.max_tokens()));
  }
  std::printf("\n");
  std::printf("pooling         %s, normalize %s, max_seq_length %lld%s\n", minilm::pooling_mode_name(folder.pooling.mode),
              folder.normalize ? "yes" : "no", static_cast<long long>(folder.max_seq_length),
              folder.pooling.include_prompt ? "" : ", prompt tokens left out");
  std::printf("prompts         %s\n", prompts_line(folder).c_str());
  std::printf("weights         %s: %zu tensors, %zu bytes mapped read-only, prefix '%s', %zu bytes converted\n",
              folder.weights.string().c_str(), file.tensors().size(), file.size_bytes(), weights.prefix.c_str(),
              weights.converted_bytes);
  std::printf("precision       %s", minilm::weight_precision_name(weights.precision));
  if (weights.precision == minilm::weight_precision::int8) {
    const auto& meta = file.metadata();
    const auto scheme = meta.find("minilm.quantization"), source = meta.find("minilm.source"),
               sha = meta.find("minilm.source_sha256");
    std::printf(" (%s: linear layers int8 per output channel, activations per token; from %s, sha256 %s)",
                scheme->second.c_str(), source != meta.end() ? source->second.c_str() : "?",
                sha != meta.end() ? sha->second.c_str() : "?");
  }
  std::printf("\n");
  const std::filesystem::path& tokenizer = !folder.tokenizer_json.empty()        ? folder.tokenizer_json
                                           : !folder.sentencepiece_model.empty() ? folder.sentencepiece_model
                                                                                 : folder.vocab_txt;
  std::printf("tokenizer       %s\n", tokenizer.string().c_str());
  std::printf("opened in       %.3f ms\n", ms);
  return 0;
}
