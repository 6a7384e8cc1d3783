// src/tokenizer/sentencepiece_model.hpp: the sentencepiece ModelProto (sentencepiece.bpe.model),
// as far as minilm reads it; src/tokenizer/sentencepiece_model.cpp parses the wire format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

struct sentencepiece_proto {
  enum piece_type : std::int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };
  struct piece {
    std::string text;
    float score = 0;
    std::int32_t type = normal;
  };
  std::vector<piece> pieces;
  std::int32_t model_type = 1;  // TrainerSpec.ModelType: 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR
  std::int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  bool byte_fallback = false;
  std::string normalizer_name;
  std::string precompiled_charsmap;
  bool add_dummy_prefix = true, remove_extra_whitespaces = true, escape_whitespaces = true;

  // Parses the protobuf wire format; `source` names the file in errors, which give the byte
  // offset. Allocation is bounded by the input's size.
  static sentencepiece_proto parse(std::string_view bytes, const std::string& source);
};

}  // namespace detail
MINILM_END_NAMESPACE
