// minilm/model_folder.hpp: what a sentence-transformers model folder says about itself.
//
//   minilm::model_folder folder = minilm::read_model_folder("models/all-MiniLM-L6-v2");
//   folder.config.hidden_size;   // 384, from config.json
//   folder.pooling.mode;         // pooling_mode::mean, from 1_Pooling/config.json
//   folder.normalize;            // true: modules.json lists a Normalize module
//   folder.max_seq_length;       // 256, from sentence_bert_config.json
//   folder.prompts;              // config_sentence_transformers.json: none for this model
//
// Only reads: files are opened O_RDONLY, nothing is created, locked or modified, and
// no write permission is needed anywhere. data_config.json and README.md are never opened.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"
#include "modes.hpp"

MINILM_BEGIN_NAMESPACE

// The fields of a config.json that the forward pass uses. model_type "bert" is BERT; "xlm-roberta",
// "roberta" and "camembert" are the RoBERTa family, the same encoder but for where positions
// start (position_offset).
struct bert_config {
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t n_layers = 0;           // num_hidden_layers
  std::int64_t n_heads = 0;            // num_attention_heads
  std::int64_t intermediate_size = 0;
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 2;    // may be 1 (the RoBERTa family): every type id is then 0
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;       // default 0 for BERT, 1 for the RoBERTa family, as transformers
  std::string hidden_act = "gelu";              // only "gelu" (the erf form) is supported
  std::string position_embedding_type = "absolute";  // only "absolute" is supported
  std::string model_type = "bert";
  // The position id of a sequence's first token: 0 for BERT; pad_token_id + 1 for the RoBERTa
  // family, where token i has position pad_token_id + 1 + i and a token whose id is pad_token_id
  // has position pad_token_id and is not counted (transformers' create_position_ids_from_input_ids).
  std::int64_t position_offset = 0;

  std::int64_t head_size() const noexcept { return hidden_size / n_heads; }
  // model_type "xlm-roberta", "roberta" or "camembert".
  bool roberta_family() const noexcept { return position_offset != 0; }
  // The longest sequence the position table takes, special tokens included: 512 for BERT's 512
  // positions, 512 for XLM-R's 514 (pad_token_id 1).
  std::int64_t max_tokens() const noexcept { return max_position_embeddings - position_offset; }
};

struct pooling_config {
  std::int64_t dimension = 0;  // word_embedding_dimension
  pooling_mode mode = pooling_mode::mean;
  bool include_prompt = true;  // false: a prompt's tokens are left out of the pooling
};

// A named prompt of config_sentence_transformers.json: text put before every text encoded with it.
struct prompt {
  std::string name;
  std::string text;
};

struct model_folder {
  std::filesystem::path path;
  bert_config config;
  pooling_config pooling;
  bool normalize = false;            // modules.json lists sentence_transformers.models.Normalize
  std::int64_t max_seq_length = 0;   // tokens, with [CLS] and [SEP]: sentence_bert_config.json, else
                                     // min(model_max_length, max_position_embeddings), and never
                                     // more than config.max_tokens()
  bool do_lower_case = false;        // sentence_bert_config.json (applied before the tokenizer)
  // config_sentence_transformers.json: "prompts" in file order (a null text reads as ""), and
  // "default_prompt_name", the prompt applied when a call names none. As sentence-transformers,
  // "query" and "document" are known names even when the file does not list them (their text
  // is then ""), so a default_prompt_name must be one of the file's names or one of those two.
  std::vector<prompt> prompts;
  std::optional<std::string> default_prompt_name;

  std::filesystem::path weights;     // model.safetensors
  // Tokenizer files; empty when the folder does not have them.
  std::filesystem::path tokenizer_json;
  std::filesystem::path vocab_txt;
  std::filesystem::path sentencepiece_model;  // sentencepiece.bpe.model or sentencepiece.model
  std::filesystem::path tokenizer_config_json;
};

// Reads config.json, modules.json, sentence_bert_config.json, the pooling config and
// config_sentence_transformers.json with simdjson and checks them for sizes minilm can use.
// Throws minilm::error naming the file and the field. Does not open the weights: see
// minilm/weights.hpp.
MINILM_API model_folder read_model_folder(const std::filesystem::path& path);

// Reads and checks just a config.json.
MINILM_API bert_config read_bert_config(const std::filesystem::path& config_json);

MINILM_END_NAMESPACE
