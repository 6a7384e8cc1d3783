// Fuzz target: vocab.txt (a folder without tokenizer.json). The input replaces the vocab.txt
// of a tiny model folder; a tokenizer that loads must then keep its promises on a few texts.
#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path& folder = fuzz::scratch_model_folder();
  test_support::write_file(folder / "vocab.txt", std::string(fuzz::as_text(data, size)));
  try {
    const auto m = minilm::read_model_folder(folder);
    const auto tok = minilm::tokenizer::load(m);
    FUZZ_CHECK(tok.vocab_size() >= 1);
    FUZZ_CHECK(tok.token_to_id("[UNK]") >= 0 && tok.token_to_id("[CLS]") >= 0 && tok.token_to_id("[SEP]") >= 0);
    for (const std::string_view text : {"Hello, world!", "a5 b6 c7 ##d8 [SEP] [MASK]", "\xe4\xb8\xad", ""}) {
      const minilm::encoding e = tok.encode(text);
      FUZZ_CHECK(e.ids.size() >= 2 && e.ids.size() <= tok.max_length());
      FUZZ_CHECK(e.ids.front() == tok.token_to_id("[CLS]") && e.ids.back() == tok.token_to_id("[SEP]"));
      for (const std::int32_t id : e.ids) FUZZ_CHECK(id >= 0 && static_cast<std::size_t>(id) < tok.vocab_size());
    }
  } catch (const minilm::error&) {
  }
  return 0;
}
