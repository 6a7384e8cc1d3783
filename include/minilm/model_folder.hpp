// minilm/model_folder.hpp: what a sentence-transformers model folder says about itself.
//
//   minilm::model_folder folder = minilm::read_model_folder("models/all-MiniLM-L6-v2");
//   folder.config.hidden_size;   // 384, from config.json
//   folder.pooling.mode;         // pooling_mode::mean, from 1_Pooling/config.json
//   folder.normalize;            // true: modules.json lists a Normalize module
//   folder.max_seq_length;       // 256, from sentence_bert_config.json
//
// Only reads: files are opened O_RDONLY, nothing is created, locked or modified, and
// no write permission is needed anywhere. data_config.json and README.md are never opened.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "error.hpp"

MINILM_BEGIN_NAMESPACE

// The fields of a BERT config.json that the forward pass uses.
struct bert_config {
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t n_layers = 0;           // num_hidden_layers
  std::int64_t n_heads = 0;            // num_attention_heads
  std::int64_t intermediate_size = 0;
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;
  std::string hidden_act = "gelu";              // only "gelu" (the erf form) is supported
  std::string position_embedding_type = "absolute";  // only "absolute" is supported
  std::string model_type = "bert";

  std::int64_t head_size() const noexcept { return hidden_size / n_heads; }
};

enum class pooling_mode { mean, cls, max, mean_sqrt_len };
MINILM_API const char* pooling_mode_name(pooling_mode mode) noexcept;

struct pooling_config {
  std::int64_t dimension = 0;  // word_embedding_dimension
  pooling_mode mode = pooling_mode::mean;
};

struct model_folder {
  std::filesystem::path path;
  bert_config config;
  pooling_config pooling;
  bool normalize = false;            // modules.json lists sentence_transformers.models.Normalize
  std::int64_t max_seq_length = 0;   // tokens, with [CLS] and [SEP]: sentence_bert_config.json, else
                                     // min(model_max_length, max_position_embeddings)
  bool do_lower_case = false;        // sentence_bert_config.json (applied before the tokenizer)

  std::filesystem::path weights;     // model.safetensors
  // Tokenizer files; empty when the folder does not have them.
  std::filesystem::path tokenizer_json;
  std::filesystem::path vocab_txt;
  std::filesystem::path sentencepiece_model;  // sentencepiece.bpe.model or sentencepiece.model
  std::filesystem::path tokenizer_config_json;
};

// Reads config.json, modules.json, sentence_bert_config.json and the pooling config with
// simdjson and checks them for sizes minilm can use. Throws minilm::error naming the file
// and the field. Does not open the weights: see minilm/weights.hpp.
MINILM_API model_folder read_model_folder(const std::filesystem::path& path);

// Reads and checks just a config.json.
MINILM_API bert_config read_bert_config(const std::filesystem::path& config_json);

MINILM_END_NAMESPACE
