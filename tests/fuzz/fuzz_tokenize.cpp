// Fuzz target: tokenizing arbitrary bytes with the real all-MiniLM-L6-v2 vocabulary (the
// folder the tests use; MINILM_MODEL_DIR overrides it). The first byte picks the options:
// bit 0 replaces invalid UTF-8 instead of refusing it, bit 1 truncates at 8 tokens. The rest
// is the text, also split at '\n' into a batch.
//
// Promises checked: [CLS] ... [SEP] around exactly the first word pieces of the text, ids in
// the vocabulary, at most max_length() of them, and a batch equal to the texts one by one.
#include <cstdlib>
#include <vector>

#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

#include "fuzz_support.hpp"

namespace {

const minilm::tokenizer& tokenizer_for(unsigned flags) {
  static const minilm::model_folder folder = [] {
    const char* env = std::getenv("MINILM_MODEL_DIR");
    return minilm::read_model_folder(env != nullptr && *env != '\0' ? env : MINILM_FUZZ_MODEL_DIR);
  }();
  static const minilm::tokenizer tokenizers[4] = {
      minilm::tokenizer::load(folder, {0, minilm::invalid_utf8::error}),
      minilm::tokenizer::load(folder, {0, minilm::invalid_utf8::replace}),
      minilm::tokenizer::load(folder, {8, minilm::invalid_utf8::error}),
      minilm::tokenizer::load(folder, {8, minilm::invalid_utf8::replace}),
  };
  return tokenizers[flags & 3];
}

void check_one(const minilm::tokenizer& tok, std::string_view text, const minilm::encoding& e) {
  const std::int32_t cls = tok.token_to_id("[CLS]"), sep = tok.token_to_id("[SEP]");
  FUZZ_CHECK(e.ids.size() >= 2 && e.ids.size() <= tok.max_length());
  FUZZ_CHECK(e.ids.front() == cls && e.ids.back() == sep);
  FUZZ_CHECK(e.type_ids.size() == e.ids.size() && e.attention_mask.size() == e.ids.size());
  for (const std::int32_t id : e.ids) FUZZ_CHECK(id >= 0 && static_cast<std::size_t>(id) < tok.vocab_size());
  const std::vector<std::int32_t> pieces = tok.word_pieces(text);
  const std::size_t kept = e.ids.size() - 2;
  FUZZ_CHECK(kept + e.n_truncated == pieces.size());
  FUZZ_CHECK(std::equal(pieces.begin(), pieces.begin() + static_cast<std::ptrdiff_t>(kept), e.ids.begin() + 1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return -1;
  const minilm::tokenizer& tok = tokenizer_for(data[0]);
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  try {
    check_one(tok, text, tok.encode(text));
  } catch (const minilm::error& e) {
    FUZZ_CHECK(e.code() == minilm::errc::invalid_text);
  }

  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= text.size() && lines.size() < 64;) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  try {
    const minilm::packed_batch packed = tok.encode_batch(lines);
    const minilm::padded_batch padded = tok.encode_batch_padded(lines);
    FUZZ_CHECK(packed.size() == lines.size() && padded.n_sequences == lines.size());
    FUZZ_CHECK(packed.type_ids.size() == packed.ids.size());
    FUZZ_CHECK(padded.ids.size() == padded.n_sequences * padded.max_len);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const minilm::encoding e = tok.encode(lines[i]);
      FUZZ_CHECK(packed.length(i) == e.ids.size() && padded.lengths[i] == e.ids.size());
      FUZZ_CHECK(std::equal(e.ids.begin(), e.ids.end(), packed.ids.begin() + static_cast<std::ptrdiff_t>(packed.offsets[i])));
      for (std::size_t j = 0; j < padded.max_len; ++j) {
        FUZZ_CHECK(padded.at(i, j) == (j < e.ids.size() ? e.ids[j] : padded.pad_id));
        FUZZ_CHECK(padded.attention_mask[i * padded.max_len + j] == (j < e.ids.size() ? 1 : 0));
      }
    }
  } catch (const minilm::error& e) {
    FUZZ_CHECK(e.code() == minilm::errc::invalid_text);
  }
  return 0;
}
