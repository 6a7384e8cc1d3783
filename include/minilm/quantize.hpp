// minilm/quantize.hpp: an int8 copy of a model folder, for about half the time per text.
//
//   minilm::quantize_result r = minilm::quantize_model("models/all-MiniLM-L6-v2", "models/all-MiniLM-L6-v2-int8");
//   const minilm::encoder model = minilm::encoder::load("models/all-MiniLM-L6-v2-int8");
//   model.precision();   // minilm::weight_precision::int8
//
// The new folder is complete: every file of the source but its weights is copied as it is,
// and its model.safetensors holds the weight of every linear layer of the encoder as int8, one
// F32 scale per output channel (symmetric: weight_i8[j][p] = round(weight[j][p] / scale[j]),
// scale[j] = max_p |weight[j][p]| / 127), beside every other tensor unchanged (embeddings,
// LayerNorm, biases). Its metadata names the scheme ("minilm.quantization": "int8-per-channel")
// and the source file's SHA-256 ("minilm.source_sha256"). Per layer, the few input channels
// whose activations run far larger than the rest (LayerNorm's outlier channels: measured by
// running the F32 model on built-in calibration texts) keep F32 weights and are computed in F32,
// so that each token's int8 scale fits the other channels. encoder::load() maps it read-only
// and shared like any folder: nothing is converted at load. At run time each token's
// activations are quantized to int8 before every linear layer (attention, LayerNorm, GELU and
// pooling stay F32); embeddings stay within a cosine of 0.999 or so of the F32 model's
// (bench/README.md gives the measured figures).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "error.hpp"

MINILM_BEGIN_NAMESPACE

struct quantize_options {
  // Per layer, the input channels whose activations run largest on a set of calibration texts
  // (the F32 model's, measured by the quantizer) stay F32: at most 64 (weights.hpp).
  std::size_t n_outliers = 8;
};

struct quantize_result {
  std::filesystem::path weights;    // the new model.safetensors
  std::string source_sha256;        // of the source weights file, lowercase hex
  std::size_t n_quantized = 0;      // tensors made int8
  std::uint64_t source_bytes = 0;   // size of the source weights file
  std::uint64_t bytes = 0;          // size of the new one
  std::size_t n_files_copied = 0;   // the other files of the folder
};

// Writes the int8 folder `out` from the model folder `folder`. `out` must not exist yet, or be
// an empty directory, and must not lie inside `folder`; nothing in `folder` is written. Files
// that hold other copies of the weights (*.bin, *.onnx, *.h5, ... and the onnx/ and openvino/
// folders) and hidden files are not copied. The weights file is written under a temporary
// name and renamed into place once complete. Throws minilm::error: what read_model_folder()
// and bind_bert_weights() throw for the source, errc::invalid_argument for an `out` that is
// not allowed or a source already int8, errc::io naming the file that could not be written.
MINILM_API quantize_result quantize_model(const std::filesystem::path& folder, const std::filesystem::path& out,
                                          const quantize_options& options = {});

MINILM_END_NAMESPACE
