// Fuzz target: the Unigram tokenizer, loader and hot path together. Input:
//   [mode][u16 little-endian n][n bytes: the tokenizer file][text]
// mode % 3 picks the file: 0 tokenizer.json taken as written, 1 tokenizer.json in a folder whose
// tokenizer_config.json names XLMRobertaTokenizer, 2 sentencepiece.bpe.model (same
// tokenizer_config.json); bit 2 truncates at 8 tokens. The text is split at '\n' into a batch.
//
// A tokenizer that loads must keep its promises on every text: the template's special tokens
// around exactly the first pieces of word_pieces(), at most max_length() ids, no negative id;
// replacing invalid UTF-8 gives the same ids as the strict mode wherever that one succeeds, and
// a batch equals its texts one by one.
#include <algorithm>
#include <vector>

#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

#include "fuzz_support.hpp"

namespace {

const std::filesystem::path& folder() {
  static const std::filesystem::path f = [] {
    const std::filesystem::path p = fuzz::scratch_model_folder();
    std::filesystem::remove(p / "vocab.txt");
    return p;
  }();
  return f;
}

void write_files(unsigned mode, std::string_view file) {
  const auto& dir = folder();
  std::filesystem::remove(dir / "tokenizer.json");
  std::filesystem::remove(dir / "sentencepiece.bpe.model");
  std::filesystem::remove(dir / "tokenizer_config.json");
  test_support::write_file(dir / (mode == 2 ? "sentencepiece.bpe.model" : "tokenizer.json"), std::string(file));
  if (mode != 0) {
    test_support::write_file(dir / "tokenizer_config.json", R"({"tokenizer_class": "XLMRobertaTokenizer"})");
  }
}

void check(const minilm::tokenizer& strict, const minilm::tokenizer& lenient, const std::vector<std::string_view>& texts) {
  const std::vector<std::int32_t> empty = lenient.encode("").ids;  // the template alone
  FUZZ_CHECK(empty.size() < lenient.max_length());
  std::vector<std::vector<std::int32_t>> each;
  for (const std::string_view text : texts) {
    const minilm::encoding e = lenient.encode(text);
    FUZZ_CHECK(e.ids.size() >= empty.size() && e.ids.size() <= lenient.max_length());
    FUZZ_CHECK(e.type_ids.size() == e.ids.size() && e.attention_mask.size() == e.ids.size());
    for (const std::int32_t id : e.ids) FUZZ_CHECK(id >= 0);
    // Special tokens around the text's first pieces.
    const std::vector<std::int32_t> pieces = lenient.word_pieces(text);
    const std::size_t kept = e.ids.size() - empty.size();
    FUZZ_CHECK(kept + e.n_truncated == pieces.size());
    std::vector<std::int32_t> expected;
    bool found = false;  // some split of the template into prefix and suffix fits
    for (std::size_t k = 0; k <= empty.size() && !found; ++k) {
      expected.assign(empty.begin(), empty.begin() + static_cast<std::ptrdiff_t>(k));
      expected.insert(expected.end(), pieces.begin(), pieces.begin() + static_cast<std::ptrdiff_t>(kept));
      expected.insert(expected.end(), empty.begin() + static_cast<std::ptrdiff_t>(k), empty.end());
      found = expected == e.ids;
    }
    FUZZ_CHECK(found);
    try {
      FUZZ_CHECK(strict.encode(text).ids == e.ids);
    } catch (const minilm::error& err) {
      FUZZ_CHECK(err.code() == minilm::errc::invalid_text);
    }
    each.push_back(e.ids);
  }
  const minilm::packed_batch b = lenient.encode_batch(texts);
  FUZZ_CHECK(b.size() == texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    FUZZ_CHECK(std::equal(b.ids.begin() + static_cast<std::ptrdiff_t>(b.offsets[i]),
                          b.ids.begin() + static_cast<std::ptrdiff_t>(b.offsets[i + 1]), each[i].begin(), each[i].end()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return -1;
  const unsigned mode = data[0] % 3;
  const std::size_t max_length = (data[0] & 4) ? 8 : 0;
  const std::size_t n = std::min<std::size_t>(data[1] | static_cast<std::size_t>(data[2]) << 8, size - 3);
  write_files(mode, fuzz::as_text(data + 3, n));
  const std::string_view text = fuzz::as_text(data + 3 + n, size - 3 - n);
  std::vector<std::string_view> texts;
  for (std::size_t start = 0; start <= text.size() && texts.size() < 16;) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    texts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  try {
    const minilm::model_folder f = minilm::read_model_folder(folder());
    const auto strict = minilm::tokenizer::load(f, {max_length, minilm::invalid_utf8::error});
    const auto lenient = minilm::tokenizer::load(f, {max_length, minilm::invalid_utf8::replace});
    check(strict, lenient, texts);
  } catch (const minilm::error&) {
  }
  return 0;
}
