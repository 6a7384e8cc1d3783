// src/tokenizer/sentencepiece_model.cpp: the sentencepiece ModelProto (sentencepiece.bpe.model),
// read from the protobuf wire format directly, so that no protobuf library is needed.
//
// The fields minilm reads (sentencepiece_model.proto):
//   ModelProto      1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
//   SentencePiece   1 piece (string), 2 score (float), 3 type (enum)
//   TrainerSpec     3 model_type (enum), 35 byte_fallback (bool), 40-43 unk/bos/eos/pad_id (int32)
//   NormalizerSpec  1 name, 2 precompiled_charsmap (bytes), 3 add_dummy_prefix,
//                   4 remove_extra_whitespaces, 5 escape_whitespaces (bools)
// Other fields are skipped by their wire type, as protobuf parsers do. Every length is checked
// against the bytes left before anything is allocated, so a corrupt file costs at most its own
// size; errors name the file and the byte offset.
#include "sentencepiece_model.hpp"

#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "minilm/error.hpp"
#include "unicode.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

enum wire_type : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

const char* wire_name(std::uint32_t w) {
  switch (w) {
    case varint: return "varint";
    case fixed64: return "64-bit";
    case length_delimited: return "length-delimited";
    case fixed32: return "32-bit";
    default: return "group (unsupported)";
  }
}

// A cursor over [begin, end) of the file; offsets in messages are from the start of the file.
class reader {
 public:
  reader(std::string_view file, std::size_t begin, std::size_t end, const std::string& source)
      : file_(file), pos_(begin), end_(end), source_(source) {}

  bool done() const noexcept { return pos_ >= end_; }
  std::size_t offset() const noexcept { return pos_; }

  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    throw error(errc::invalid_tokenizer, source_ + ": byte offset " + std::to_string(at) + ": " + what);
  }

  std::uint64_t read_varint() {
    const std::size_t start = pos_;
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
      if (pos_ >= end_) fail(start, "truncated varint");
      const auto b = static_cast<unsigned char>(file_[pos_++]);
      if (shift == 63 && b > 1) fail(start, "varint longer than 64 bits");
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail(start, "varint longer than 10 bytes");
  }

  // A field's key: its number and wire type.
  std::pair<std::uint32_t, std::uint32_t> read_key() {
    const std::size_t at = pos_;
    const std::uint64_t key = read_varint();
    const std::uint64_t number = key >> 3;
    if (number == 0 || number > 0x1FFFFFFF) fail(at, "field number " + std::to_string(number) + " is invalid");
    return {static_cast<std::uint32_t>(number), static_cast<std::uint32_t>(key & 7)};
  }

  // The extent of a length-delimited value: [begin, end) within this reader.
  std::pair<std::size_t, std::size_t> read_length() {
    const std::size_t at = pos_;
    const std::uint64_t n = read_varint();
    if (n > end_ - pos_) {
      fail(at, "length " + std::to_string(n) + " runs past the end of its message (" + std::to_string(end_ - pos_) +
                   " bytes left)");
    }
    const std::size_t begin = pos_;
    pos_ += static_cast<std::size_t>(n);
    return {begin, pos_};
  }

  std::uint32_t read_fixed32() {
    if (end_ - pos_ < 4) fail(pos_, "truncated 32-bit value");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(file_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return v;
  }

  void skip(std::uint32_t wire, std::size_t key_at) {
    switch (wire) {
      case varint: read_varint(); break;
      case fixed64:
        if (end_ - pos_ < 8) fail(pos_, "truncated 64-bit value");
        pos_ += 8;
        break;
      case length_delimited: read_length(); break;
      case fixed32: read_fixed32(); break;
      default: fail(key_at, std::string("wire type ") + std::to_string(wire) + " (" + wire_name(wire) + ") is not supported");
    }
  }

  // Checks that a known field has the wire type its declaration implies.
  void expect(std::uint32_t wire, std::uint32_t want, std::size_t key_at, const char* field) const {
    if (wire != want) {
      fail(key_at, std::string(field) + " has wire type " + std::to_string(wire) + " (" + wire_name(wire) + "), expected " +
                       wire_name(want));
    }
  }

  std::string_view bytes(std::pair<std::size_t, std::size_t> extent) const {
    return file_.substr(extent.first, extent.second - extent.first);
  }
  reader sub(std::pair<std::size_t, std::size_t> extent) const { return {file_, extent.first, extent.second, source_}; }

 private:
  std::string_view file_;
  std::size_t pos_, end_;
  const std::string& source_;
};

void read_piece(reader r, std::size_t at, sentencepiece_proto::piece& out) {
  bool has_piece = false;
  while (!r.done()) {
    const std::size_t key_at = r.offset();
    const auto key = r.read_key();
    const std::uint32_t number = key.first, wire = key.second;
    if (number == 1) {
      r.expect(wire, length_delimited, key_at, "SentencePiece.piece");
      const auto extent = r.read_length();
      out.text = std::string(r.bytes(extent));
      if (!unicode::valid(out.text)) r.fail(extent.first, "the piece is not valid UTF-8");
      has_piece = true;
    } else if (number == 2) {
      r.expect(wire, fixed32, key_at, "SentencePiece.score");
      const std::uint32_t bits = r.read_fixed32();
      std::memcpy(&out.score, &bits, 4);
      if (!std::isfinite(out.score)) r.fail(key_at, "the score is not a finite number");
    } else if (number == 3) {
      r.expect(wire, varint, key_at, "SentencePiece.type");
      out.type = static_cast<std::int32_t>(r.read_varint());
    } else {
      r.skip(wire, key_at);
    }
  }
  if (!has_piece) r.fail(at, "a piece without its text");
}

void read_trainer_spec(reader r, sentencepiece_proto& m) {
  while (!r.done()) {
    const std::size_t key_at = r.offset();
    const auto key = r.read_key();
    const std::uint32_t number = key.first, wire = key.second;
    auto int32 = [&](const char* field) {
      r.expect(wire, varint, key_at, field);
      return static_cast<std::int32_t>(static_cast<std::uint32_t>(r.read_varint()));
    };
    switch (number) {
      case 3: m.model_type = int32("TrainerSpec.model_type"); break;
      case 35: m.byte_fallback = int32("TrainerSpec.byte_fallback") != 0; break;
      case 40: m.unk_id = int32("TrainerSpec.unk_id"); break;
      case 41: m.bos_id = int32("TrainerSpec.bos_id"); break;
      case 42: m.eos_id = int32("TrainerSpec.eos_id"); break;
      case 43: m.pad_id = int32("TrainerSpec.pad_id"); break;
      default: r.skip(wire, key_at);
    }
  }
}

void read_normalizer_spec(reader r, sentencepiece_proto& m) {
  while (!r.done()) {
    const std::size_t key_at = r.offset();
    const auto key = r.read_key();
    const std::uint32_t number = key.first, wire = key.second;
    auto boolean = [&](const char* field) {
      r.expect(wire, varint, key_at, field);
      return r.read_varint() != 0;
    };
    switch (number) {
      case 1:
        r.expect(wire, length_delimited, key_at, "NormalizerSpec.name");
        m.normalizer_name = std::string(r.bytes(r.read_length()));
        break;
      case 2:
        r.expect(wire, length_delimited, key_at, "NormalizerSpec.precompiled_charsmap");
        m.precompiled_charsmap = std::string(r.bytes(r.read_length()));
        break;
      case 3: m.add_dummy_prefix = boolean("NormalizerSpec.add_dummy_prefix"); break;
      case 4: m.remove_extra_whitespaces = boolean("NormalizerSpec.remove_extra_whitespaces"); break;
      case 5: m.escape_whitespaces = boolean("NormalizerSpec.escape_whitespaces"); break;
      default: r.skip(wire, key_at);
    }
  }
}

}  // namespace

sentencepiece_proto sentencepiece_proto::parse(std::string_view bytes, const std::string& source) {
  sentencepiece_proto m;
  reader r(bytes, 0, bytes.size(), source);
  while (!r.done()) {
    const std::size_t key_at = r.offset();
    const auto key = r.read_key();
    const std::uint32_t number = key.first, wire = key.second;
    if (number == 1 || number == 2 || number == 3) {
      static constexpr const char* names[] = {"", "ModelProto.pieces", "ModelProto.trainer_spec", "ModelProto.normalizer_spec"};
      r.expect(wire, length_delimited, key_at, names[number]);
      const auto extent = r.read_length();
      if (number == 1) {
        read_piece(r.sub(extent), key_at, m.pieces.emplace_back());
      } else if (number == 2) {
        read_trainer_spec(r.sub(extent), m);
      } else {
        read_normalizer_spec(r.sub(extent), m);
      }
    } else {
      r.skip(wire, key_at);
    }
  }
  if (m.pieces.empty()) throw error(errc::invalid_tokenizer, source + ": the model has no pieces");
  const auto n = static_cast<std::int64_t>(m.pieces.size());
  if (m.unk_id < 0 || m.unk_id >= n) {
    throw error(errc::invalid_tokenizer, source + ": trainer_spec.unk_id " + std::to_string(m.unk_id) + " is not a piece");
  }
  for (const auto& [id, name] : {std::pair{m.bos_id, "bos_id"}, {m.eos_id, "eos_id"}, {m.pad_id, "pad_id"}}) {
    if (id < -1 || id >= n) {
      throw error(errc::invalid_tokenizer, source + ": trainer_spec." + name + " " + std::to_string(id) + " is not a piece");
    }
  }
  return m;
}

}  // namespace detail
MINILM_END_NAMESPACE
