// Malformed tokenizer files: vocab.txt and tokenizer.json broken in the ways a hand-edited or
// foreign tokenizer breaks them. Each is refused with a minilm::error naming the file and the
// field or token, or (duplicate vocabulary lines) has the documented behaviour.
#include "test_malformed.hpp"

#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

using minilm::errc;
using malformed::check_error;
using malformed::error_of;
using test_support::write_file;

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> tiny_vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", ",", "!"};

std::string vocab_lines(const std::vector<std::string>& tokens) {
  std::string s;
  for (const auto& t : tokens) s += t + "\n";
  return s;
}

// A tokenizer.json in the layout Hugging Face's BertTokenizerFast saves, over tiny_vocab.
std::string tokenizer_json() {
  std::string vocab;
  for (std::size_t i = 0; i < tiny_vocab.size(); ++i) {
    vocab += (i ? "," : "") + ("\"" + tiny_vocab[i] + "\":" + std::to_string(i));
  }
  return R"({"version":"1.0","truncation":null,"padding":null,)"
         R"("added_tokens":[{"id":0,"special":true,"content":"[PAD]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false}],)"
         R"("normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},)"
         R"("pre_tokenizer":{"type":"BertPreTokenizer"},)"
         R"("post_processor":{"type":"TemplateProcessing",)"
         R"("single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],)"
         R"("pair":[],)"
         R"("special_tokens":{"[CLS]":{"id":"[CLS]","ids":[2],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[3],"tokens":["[SEP]"]}}},)"
         R"("decoder":{"type":"WordPiece","prefix":"##","cleanup":true},)"
         R"("model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{)" +
         vocab + "}}}";
}

std::string tokenizer_json_with(const std::string& from, const std::string& to) {
  std::string s = tokenizer_json();
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

minilm::tokenizer load(const fs::path& dir) { return minilm::tokenizer::load(minilm::read_model_folder(dir)); }

using tokenizer_case = malformed::folder_case;  // file: vocab.txt, tokenizer.json or tokenizer_config.json

void check_cases(const std::vector<tokenizer_case>& cases) {
  malformed::check_folder_cases(cases, [](const fs::path& dir) { load(dir); });
}

}  // namespace

TEST_CASE("the tiny tokenizer.json these cases break is itself valid") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path());
  write_file(dir / "tokenizer.json", tokenizer_json());
  const auto tok = load(dir.path());
  CHECK(tok.vocab_size() == tiny_vocab.size());
  CHECK(tok.encode("Hello, world!").ids == std::vector<std::int32_t>{2, 5, 7, 6, 8, 3});
}

TEST_CASE("vocab.txt without the tokens BERT needs, empty, or with duplicate lines") {
  check_cases({
      {"no [UNK]", "vocab.txt", vocab_lines({"[PAD]", "[CLS]", "[SEP]", "hello"}), errc::invalid_tokenizer, {"'[UNK]' is not in the vocabulary"}},
      {"no [CLS]", "vocab.txt", vocab_lines({"[PAD]", "[UNK]", "[SEP]", "hello"}), errc::invalid_tokenizer, {"'[CLS]' is not in the vocabulary"}},
      {"no [SEP]", "vocab.txt", vocab_lines({"[PAD]", "[UNK]", "[CLS]", "hello"}), errc::invalid_tokenizer, {"'[SEP]' is not in the vocabulary"}},
      {"empty", "vocab.txt", "", errc::invalid_tokenizer, {"the vocabulary is empty"}},
      {"binary junk", "vocab.txt", std::string("\0\xff\xfe\x01", 4), errc::invalid_tokenizer, {"is not in the vocabulary"}},
      {"a tokenizer_config.json that is not JSON", "tokenizer_config.json", "{", errc::invalid_json, {"not valid JSON"}},
      {"a cased tokenizer_config.json", "tokenizer_config.json", R"({"do_lower_case":false})", errc::unsupported, {"field 'do_lower_case'"}},
      {"a tokenizer_config.json naming an unknown [UNK]", "tokenizer_config.json", R"({"unk_token":"<unk>"})", errc::invalid_tokenizer, {"'<unk>' is not in the vocabulary"}, "vocab.txt"},
  });
}

TEST_CASE("duplicate vocab.txt lines: the later line's id wins, as in transformers' load_vocab") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path());
  write_file(dir / "vocab.txt", vocab_lines({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "hello"}));
  const auto tok = load(dir.path());
  CHECK(tok.vocab_size() == 7);  // lines, as the embedding matrix counts them
  CHECK(tok.token_to_id("hello") == 6);
  CHECK(tok.encode("hello world").ids == std::vector<std::int32_t>{2, 6, 5, 3});
}

TEST_CASE("a vocab.txt larger than any vocabulary is refused before it is read") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path());
  fs::remove(dir / "tokenizer.json");
  write_file(dir / "vocab.txt", vocab_lines({"[PAD]", "[UNK]", "[CLS]", "[SEP]"}));
  fs::resize_file(dir / "vocab.txt", std::uintmax_t{1} << 30);  // sparse: 1 GiB of NUL bytes
  malformed::check_error(malformed::error_of([&] { load(dir.path()); }), errc::invalid_tokenizer,
                         {"vocab.txt: 1073741824 bytes, more than a vocabulary file may hold (25165824)"});
}

TEST_CASE("tokenizer.json of an unsupported model type, or broken") {
  check_cases({
      {"BPE", "tokenizer.json", tokenizer_json_with(R"("model":{"type":"WordPiece")", R"("model":{"type":"BPE")"), errc::unsupported, {"field 'model.type'", "model 'BPE' is not supported"}},
      {"Unigram with WordPiece's settings", "tokenizer.json", tokenizer_json_with(R"("model":{"type":"WordPiece")", R"("model":{"type":"Unigram")"), errc::unsupported, {"field 'model.unk_token'", "unknown setting"}},
      {"not JSON", "tokenizer.json", "{\"model\":", errc::invalid_tokenizer, {"not valid JSON"}},
      {"an array", "tokenizer.json", "[]", errc::invalid_tokenizer, {"expected an object"}},
      {"an empty vocabulary", "tokenizer.json", tokenizer_json_with(R"("[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"[MASK]":4,"hello":5,"world":6,",":7,"!":8)", ""), errc::invalid_tokenizer, {"field 'model.vocab'", "between 1 and 2^24 entries"}},
      {"an id used twice", "tokenizer.json", tokenizer_json_with(R"("world":6)", R"("world":5)"), errc::invalid_tokenizer, {"field 'model.vocab.world'", "id 5 is used twice"}},
      {"an id outside the vocabulary", "tokenizer.json", tokenizer_json_with(R"("world":6)", R"("world":600)"), errc::invalid_tokenizer, {"field 'model.vocab.world'", "value 600 is outside"}},
      {"a negative id", "tokenizer.json", tokenizer_json_with(R"("world":6)", R"("world":-6)"), errc::invalid_tokenizer, {"field 'model.vocab.world'"}},
      {"unk_token missing from the vocabulary", "tokenizer.json", tokenizer_json_with(R"("unk_token":"[UNK]")", R"("unk_token":"<unk>")"), errc::invalid_tokenizer, {"field 'model.unk_token'", "'<unk>' is not in the vocabulary"}},
      {"[CLS] id outside the vocabulary", "tokenizer.json", tokenizer_json_with(R"("ids":[2])", R"("ids":[2000000])"), errc::invalid_tokenizer, {"post_processor", "outside the vocabulary"}},
      {"a cased normalizer", "tokenizer.json", tokenizer_json_with(R"("lowercase":true)", R"("lowercase":false)"), errc::unsupported, {"field 'normalizer.lowercase'"}},
      {"another normalizer", "tokenizer.json", tokenizer_json_with(R"("normalizer":{"type":"BertNormalizer")", R"("normalizer":{"type":"NFKC")"), errc::unsupported, {"normalizer 'NFKC' is not supported"}},
      {"another pre-tokenizer", "tokenizer.json", tokenizer_json_with(R"({"type":"BertPreTokenizer"})", R"({"type":"Metaspace"})"), errc::unsupported, {"field 'pre_tokenizer'"}},
      {"vocabulary tokens that are not strings to ids", "tokenizer.json", tokenizer_json_with(R"("hello":5)", R"("hello":"5")"), errc::invalid_tokenizer, {"field 'model.vocab.hello'", "expected an integer"}},
  });
}

TEST_CASE("a special token of the template whose ids and tokens differ in length is refused, as tokenizers does") {
  // Found by fuzzing (tests/fuzz/regressions/tokenizer_json/): with "ids": [] the [SEP] of
  // the template silently vanished, so "" encoded as [CLS] alone.
  check_cases({
      {"[SEP] without ids", "tokenizer.json", tokenizer_json_with(R"("ids":[3])", R"("ids":[])"), errc::invalid_tokenizer, {"[SEP]"}},
      {"[CLS] with two ids for one token", "tokenizer.json", tokenizer_json_with(R"("ids":[2])", R"("ids":[2,2])"), errc::invalid_tokenizer, {"[CLS]"}},
  });
}
