// minilm/modes.hpp: the two choices a model folder makes that an encoder reports back: how
// token states are pooled into one vector, and how the linear layers' weights are stored.
// The encoder's header takes them from here, without the loader's headers that define where
// they are read (model_folder.hpp, weights.hpp).
#pragma once

#include "version.hpp"

MINILM_BEGIN_NAMESPACE

// sentence-transformers' Pooling modes (1_Pooling/config.json).
enum class pooling_mode { mean, cls, max, mean_sqrt_len };
// "mean", "cls", "max", "mean_sqrt_len".
MINILM_API const char* pooling_mode_name(pooling_mode mode) noexcept;

// How the linear layers' weights are stored.
enum class weight_precision {
  f32,   // F32 (or F16 / BF16 converted to F32 at load)
  int8,  // int8 per output channel with F32 scales; activations are quantized per token at run time
};
// "f32", "int8".
MINILM_API const char* weight_precision_name(weight_precision p) noexcept;

MINILM_END_NAMESPACE
