// Fuzz target: tokenizer.json. The input replaces the tokenizer.json of a tiny model folder;
// a tokenizer that loads must then keep its promises on a few texts, whatever special tokens
// its template adds: the same special tokens around every text, the text's first word pieces
// between them, at most max_length() ids in all.
#include <algorithm>

#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

#include "fuzz_support.hpp"

namespace {
void check_encodings(const minilm::tokenizer& tok) {
  // The empty text has no word pieces: what it gets is the template's special tokens.
  const std::size_t n_special = tok.encode("").ids.size();
  FUZZ_CHECK(n_special <= tok.max_length());
  for (const std::string_view text : {"Hello, world!", "unaffable [MASK] 中文 e\xcc\x81t\xc3\xa9 hello hello hello"}) {
    const minilm::encoding e = tok.encode(text);
    FUZZ_CHECK(e.ids.size() >= n_special && e.ids.size() <= tok.max_length());
    FUZZ_CHECK(e.type_ids.size() == e.ids.size() && e.attention_mask.size() == e.ids.size());
    for (const std::int32_t id : e.ids) FUZZ_CHECK(id >= 0);
    const std::vector<std::int32_t> pieces = tok.word_pieces(text);
    FUZZ_CHECK(e.ids.size() - n_special + e.n_truncated == pieces.size());
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path& folder = fuzz::scratch_model_folder();
  test_support::write_file(folder / "tokenizer.json", std::string(fuzz::as_text(data, size)));
  try {
    const auto m = minilm::read_model_folder(folder);
    FUZZ_CHECK(!m.tokenizer_json.empty());
    check_encodings(minilm::tokenizer::load(m));
  } catch (const minilm::error&) {
  }
  return 0;
}
