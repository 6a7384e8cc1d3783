// src/int8_format.hpp: the names and limits of minilm's int8 safetensors files (the format is
// described in include/minilm/weights.hpp), shared by their reader (weights.cpp) and their
// writer (quantize.cpp).
#pragma once

#include <cstdint>

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// The value of the metadata field "minilm.quantization" in an int8 file.
inline constexpr const char* int8_scheme = "int8-per-channel";
inline constexpr const char* quantization_field = "minilm.quantization";
// The most outlier channels an int8 layer may name.
inline constexpr std::int64_t max_outliers = 64;

}  // namespace detail
MINILM_END_NAMESPACE
