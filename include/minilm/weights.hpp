// minilm/weights.hpp: the BERT weights, bound to a mapped safetensors file.
//
//   auto file = minilm::safetensors_file::open(folder.weights);
//   minilm::bert_weights w = minilm::bind_bert_weights(file, folder.config);
//   w.layers[0].query.weight;   // const float*, [hidden, hidden] row-major, in the mapping
//
// Binding checks that every tensor the forward pass needs is present with the dtype and
// the shape config.json implies, with or without the prefix of the model_type ("bert." for BERT,
// "roberta." for the RoBERTa family). Extra tensors
// (embeddings.position_ids, pooler.*) are allowed. F32 tensors are used in place; F16
// and BF16 ones, and F32 ones not aligned for float in the file, are converted into private
// memory held by the bert_weights (4 bytes per parameter, no longer shared between processes).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model_folder.hpp"
#include "safetensors.hpp"

MINILM_BEGIN_NAMESPACE

// y = x * weight^T + bias, weight stored [out, in] row-major (PyTorch's nn.Linear).
struct linear_weights {
  const float* weight = nullptr;
  const float* bias = nullptr;
  std::int64_t n_out = 0;
  std::int64_t n_in = 0;
};

struct layer_norm_weights {
  const float* gamma = nullptr;
  const float* beta = nullptr;
  std::int64_t n = 0;
};

struct bert_layer_weights {
  linear_weights query, key, value;     // attention.self.{query,key,value}: [hidden, hidden]
  linear_weights attention_output;      // attention.output.dense: [hidden, hidden]
  layer_norm_weights attention_norm;    // attention.output.LayerNorm
  linear_weights intermediate;          // intermediate.dense: [intermediate, hidden]
  linear_weights output;                // output.dense: [hidden, intermediate]
  layer_norm_weights output_norm;       // output.LayerNorm
};

struct bert_weights {
  const float* word_embeddings = nullptr;        // [vocab, hidden]
  const float* position_embeddings = nullptr;    // [max_positions, hidden]
  const float* token_type_embeddings = nullptr;  // [type_vocab, hidden]
  layer_norm_weights embeddings_norm;
  std::vector<bert_layer_weights> layers;
  // "", "bert." or "roberta.": the prefix the file's tensor names carry.
  std::string prefix;
  // Converted copies of F16/BF16 (and unaligned F32) tensors; empty for an aligned all-F32 file.
  std::vector<std::unique_ptr<float[]>> converted;
  std::size_t converted_bytes = 0;
};

// Throws errc::missing_tensor or errc::invalid_tensor naming the file and the tensor.
MINILM_API bert_weights bind_bert_weights(const safetensors_file& file, const bert_config& config);

MINILM_END_NAMESPACE
