// minilm/weights.hpp: the BERT weights, bound to a mapped safetensors file.
//
//   auto file = minilm::safetensors_file::open(folder.weights);
//   minilm::bert_weights w = minilm::bind_bert_weights(file, folder.config);
//   w.layers[0].query.weight;   // const float*, [hidden, hidden] row-major, in the mapping
//
// The weights hold the mapping they point into: they may outlive the file object.
//
// Binding checks that every tensor the forward pass needs is present with the dtype and
// the shape config.json implies, with or without the prefix of the model_type ("bert." for BERT,
// "roberta." for the RoBERTa family). Extra tensors
// (embeddings.position_ids, pooler.*) are allowed. F32 tensors are used in place; F16
// and BF16 ones, and F32 ones not aligned for float in the file, are converted into private
// memory held by the bert_weights (4 bytes per parameter, no longer shared between processes).
//
// int8 files (written by minilm::quantize_model, <minilm/quantize.hpp>) say so in their
// metadata: "minilm.quantization": "int8-per-channel". In them, the weight of every linear layer
// of the encoder is I8 [out, in] with a scale per output channel, "<layer>.weight_scale" F32 [out]:
// weight[j][p] stands for weight_i8[j][p] * weight_scale[j]. A layer may also name a few input
// channels whose activations run far larger than the others' (outliers), computed in F32:
// "<layer>.outlier_index" I32 [n] (increasing, below in; n at most 64) and
// "<layer>.outlier_weight" F32 [out, n], their columns of the weight; weight_i8 holds 0 there.
// All of it is used in place, like F32 tensors (but the few indices, copied); everything else
// (embeddings, LayerNorm, biases) is as in any other file.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model_folder.hpp"
#include "modes.hpp"
#include "safetensors.hpp"

MINILM_BEGIN_NAMESPACE

// y = x * weight^T + bias, weight stored [out, in] row-major (PyTorch's nn.Linear). In an F32
// model `weight` is set; in an int8 one `weight_i8` and `weight_scale` are.
struct linear_weights {
  const float* weight = nullptr;
  const float* bias = nullptr;
  std::int64_t n_out = 0;
  std::int64_t n_in = 0;
  const std::int8_t* weight_i8 = nullptr;   // [out, in] row-major
  const float* weight_scale = nullptr;      // [out]
  const std::int32_t* outlier_index = nullptr;  // [n_outliers]: input channels computed in F32
  const float* outlier_weight = nullptr;        // [out, n_outliers]
  std::int64_t n_outliers = 0;
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
  weight_precision precision = weight_precision::f32;
  // Converted copies of F16/BF16 (and unaligned F32) tensors; empty for an aligned all-F32 file.
  std::vector<std::unique_ptr<float[]>> converted;
  std::size_t converted_bytes = 0;
  std::vector<std::unique_ptr<std::int32_t[]>> outlier_indices;  // int8: each layer's, copied
  // The file's mapping, which the pointers above point into: held, so that they stay valid when
  // the safetensors_file is gone. Null when it binds a caller's buffer, which the caller keeps.
  std::shared_ptr<const void> mapping;
};

// Throws errc::missing_tensor or errc::invalid_tensor naming the file and the tensor, and
// errc::unsupported for a quantization scheme it does not know.
MINILM_API bert_weights bind_bert_weights(const safetensors_file& file, const bert_config& config);

MINILM_END_NAMESPACE
