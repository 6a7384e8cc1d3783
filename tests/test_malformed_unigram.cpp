// Malformed Unigram tokenizers: a tokenizer.json with model "Unigram" and sentencepiece.bpe.model
// files broken the ways a hand-edited, truncated or foreign file breaks them. Each is refused with
// a minilm::error naming the file and the field or byte offset, with the expected error code; a
// .model cut short at any byte gives such an error or a working tokenizer, never a crash.
#include "test_malformed.hpp"

#include <cmath>
#include <cstring>

#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

using minilm::errc;
using test_support::write_file;

namespace fs = std::filesystem;

namespace {

// ---- tokenizer.json --------------------------------------------------------------------------

// A small Unigram tokenizer.json in the layout of XLM-R's, taken as written (the tiny folder's
// config.json says "bert" and there is no tokenizer_config.json), without a charsmap.
std::string unigram_json() {
  return R"({"version":"1.0","truncation":null,"padding":null,)"
         R"("added_tokens":[{"id":0,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},)"
         R"({"id":2,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},)"
         R"({"id":9,"content":"<mask>","single_word":false,"lstrip":true,"rstrip":false,"normalized":false,"special":true}],)"
         R"("normalizer":{"type":"Sequence","normalizers":[{"type":"Replace","pattern":{"Regex":" {2,}"},"content":" "}]},)"
         R"("pre_tokenizer":{"type":"Metaspace","replacement":"\u2581","add_prefix_space":true},)"
         R"("post_processor":{"type":"TemplateProcessing",)"
         R"("single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],)"
         R"("pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[0],"tokens":["<s>"]},"</s>":{"id":"</s>","ids":[2],"tokens":["</s>"]}}},)"
         R"("decoder":{"type":"Metaspace","replacement":"\u2581","add_prefix_space":true},)"
         R"("model":{"type":"Unigram","unk_id":3,"vocab":[["<s>",0.0],["<pad>",0.0],["</s>",0.0],["<unk>",0.0],)"
         R"(["\u2581a",-1.0],["a",-2.0],["b",-2.5],["\u2581",-3.0],["ab",-1.5],["<mask>",0.0]]}})";
}

std::string unigram_json_with(const std::string& from, const std::string& to) {
  std::string s = unigram_json();
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

// The file with a Precompiled step (charsmap in base64) before its Replace.
std::string with_charsmap(const std::string& base64) {
  return unigram_json_with(R"([{"type":"Replace",)", R"([{"type":"Precompiled","precompiled_charsmap":")" + base64 + R"("},{"type":"Replace",)");
}

minilm::tokenizer load(const fs::path& dir) { return minilm::tokenizer::load(minilm::read_model_folder(dir)); }

// A tiny model folder with `files` written over it (vocab.txt removed), then loaded.
struct unigram_case {
  std::string what;
  std::vector<std::pair<std::string, std::string>> files;  // name, contents
  errc code;
  std::vector<std::string> needles;
  std::string named_file;  // the file the message must name
};

void check_cases(const std::vector<unigram_case>& cases) {
  test_support::temp_dir dir;
  int i = 0;
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const fs::path folder = dir / std::to_string(i++);
    test_support::write_tiny_bert_folder(folder);
    fs::remove(folder / "vocab.txt");
    for (const auto& [name, contents] : c.files) write_file(folder / name, contents);
    const auto e = malformed::error_of([&] { load(folder); });
    REQUIRE(e.has_value());
    INFO("message: " << std::string(e->what()));
    CHECK(minilm::errc_name(e->code()) == std::string(minilm::errc_name(c.code)));
    CHECK(std::string(e->what()).find((folder / c.named_file).string()) != std::string::npos);
    for (const auto& n : c.needles) CHECK(std::string(e->what()).find(n) != std::string::npos);
  }
}

unigram_case json_case(std::string what, std::string json, errc code, std::vector<std::string> needles) {
  return {std::move(what), {{"tokenizer.json", std::move(json)}}, code, std::move(needles), "tokenizer.json"};
}

// ---- sentencepiece.bpe.model, in protobuf wire format ------------------------------------------

std::string varint(std::uint64_t v) {
  std::string out;
  do {
    out.push_back(static_cast<char>((v & 0x7F) | (v > 0x7F ? 0x80 : 0)));
    v >>= 7;
  } while (v != 0);
  return out;
}
std::string field_varint(int number, std::int64_t v) { return varint(static_cast<std::uint64_t>(number) << 3) + varint(static_cast<std::uint64_t>(v)); }
std::string field_bytes(int number, const std::string& v) { return varint(static_cast<std::uint64_t>(number) << 3 | 2) + varint(v.size()) + v; }
std::string field_float(int number, float f) {
  std::string out = varint(static_cast<std::uint64_t>(number) << 3 | 5);
  char b[4];
  std::memcpy(b, &f, 4);
  return out + std::string(b, 4);
}
std::string piece(const std::string& text, float score, int type = 1) {
  return field_bytes(1, field_bytes(1, text) + field_float(2, score) + field_varint(3, type));
}

// A small XLM-R style model: <unk> <s> </s>, then "▁a" "a" "b" "▁" "ab"; Unigram, no charsmap.
std::string small_model(int model_type = 1) {
  return piece("<unk>", 0, 2) + piece("<s>", 0, 3) + piece("</s>", 0, 3) + piece("\xe2\x96\x81" "a", -1) + piece("a", -2) +
         piece("b", -2.5f) + piece("\xe2\x96\x81", -3) + piece("ab", -1.5f) +
         field_bytes(2, field_varint(3, model_type) + field_varint(40, 0) + field_varint(41, 1) + field_varint(42, 2) +
                            field_varint(43, -1)) +
         field_bytes(3, field_bytes(1, "identity") + field_varint(3, 1) + field_varint(4, 1) + field_varint(5, 1));
}

const std::string xlmr_config = R"({"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512})";

unigram_case model_case(std::string what, std::string model, errc code, std::vector<std::string> needles) {
  return {std::move(what),
          {{"sentencepiece.bpe.model", std::move(model)}, {"tokenizer_config.json", xlmr_config}},
          code,
          std::move(needles),
          "sentencepiece.bpe.model"};
}

}  // namespace

TEST_CASE("the small Unigram tokenizer.json and .model these cases break are themselves valid") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path());
  fs::remove(dir / "vocab.txt");
  write_file(dir / "tokenizer.json", unigram_json());
  const auto tok = load(dir.path());
  CHECK(tok.vocab_size() == 10);
  // The ids tokenizers 0.23.3 gives for this file: "a  b ab" -> Replace -> "a b ab" -> Metaspace
  // -> "▁a" "▁b" "▁ab" -> Viterbi: "▁a" | "▁" "b" | "▁a" "b" (-3.5 beats "▁" "ab", -4.5).
  CHECK(tok.encode("a  b ab").ids == std::vector<std::int32_t>{0, 4, 7, 6, 4, 6, 2});
  // lstrip: the space before <mask> goes with it; "c" is unknown.
  CHECK(tok.encode("a <mask>c").ids == std::vector<std::int32_t>{0, 4, 9, 7, 3, 2});

  test_support::temp_dir spm;
  test_support::write_tiny_bert_folder(spm.path());
  fs::remove(spm / "vocab.txt");
  write_file(spm / "sentencepiece.bpe.model", small_model());
  write_file(spm / "tokenizer_config.json", xlmr_config);
  const auto t = load(spm.path());
  CHECK(t.vocab_size() == 10);  // <s> <pad> </s> <unk>, 5 pieces, <mask>
  CHECK(t.token_to_id("ab") == 8);
  CHECK(t.token_to_id("<mask>") == 9);
  // As transformers 5.24's XLMRobertaTokenizer gives them for this folder.
  CHECK(t.encode("a b  ab <mask>").ids == std::vector<std::int32_t>{0, 4, 7, 6, 4, 6, 9, 2});
  CHECK(t.encode("a b ab <mask> c").ids == std::vector<std::int32_t>{0, 4, 7, 6, 4, 6, 9, 7, 3, 2});
}

TEST_CASE("tokenizer.json: the Unigram model broken") {
  check_cases({
      json_case("no unk_id", unigram_json_with(R"("unk_id":3,)", ""), errc::invalid_tokenizer, {"missing required field 'unk_id'"}),
      json_case("unk_id past the vocabulary", unigram_json_with(R"("unk_id":3)", R"("unk_id":10)"), errc::invalid_tokenizer, {"field 'model.unk_id'", "outside"}),
      json_case("unk_id null", unigram_json_with(R"("unk_id":3)", R"("unk_id":null)"), errc::invalid_tokenizer, {"field 'model.unk_id'"}),
      json_case("a score that is a string", unigram_json_with(R"(["b",-2.5])", R"(["b","-2.5"])"), errc::invalid_tokenizer, {"field 'model.vocab[6]'", "score of 'b' is not a finite number"}),
      json_case("a NaN score (not JSON)", unigram_json_with(R"(["b",-2.5])", R"(["b",NaN])"), errc::invalid_tokenizer, {"not valid JSON"}),
      json_case("a score out of range", unigram_json_with(R"(["b",-2.5])", R"(["b",-1e999])"), errc::invalid_tokenizer, {"tokenizer.json"}),
      json_case("an entry without its score", unigram_json_with(R"(["b",-2.5])", R"(["b"])"), errc::invalid_tokenizer, {"field 'model.vocab[6]'", "expected [piece, score]"}),
      json_case("a duplicate piece", unigram_json_with(R"(["ab",-1.5])", R"(["b",-1.5])"), errc::invalid_tokenizer, {"field 'model.vocab[8]'", "piece 'b' appears twice (first at index 6)"}),
      json_case("a vocabulary object (WordPiece's form)", unigram_json_with(R"("vocab":[)", R"("vocab":{"a":0},"x":[)"), errc::unsupported, {"field 'model.x'"}),
      json_case("an empty vocabulary", R"({"model":{"type":"Unigram","unk_id":0,"vocab":[]},"normalizer":null,"pre_tokenizer":null,"post_processor":null})", errc::invalid_tokenizer, {"field 'model.vocab'", "between 1 and 2^24"}),
      json_case("byte_fallback", unigram_json_with(R"("unk_id":3,)", R"("unk_id":3,"byte_fallback":true,)"), errc::unsupported, {"field 'model.byte_fallback'"}),
      json_case("an unknown model setting", unigram_json_with(R"("unk_id":3,)", R"("unk_id":3,"fuse_unk":false,)"), errc::unsupported, {"field 'model.fuse_unk'"}),
  });
}

TEST_CASE("tokenizer.json: the normalizer, pre-tokenizer and added tokens broken or unsupported") {
  check_cases({
      json_case("bad base64", with_charsmap("AB$D"), errc::invalid_tokenizer, {"field 'normalizer.normalizers[0].precompiled_charsmap'", "base64"}),
      json_case("a truncated charsmap", with_charsmap("EAAAAAAA"), errc::invalid_tokenizer, {"field 'normalizer.normalizers[0].precompiled_charsmap'", "precompiled charsmap"}),
      json_case("an empty charsmap", with_charsmap(""), errc::invalid_tokenizer, {"field 'normalizer.normalizers[0].precompiled_charsmap'", "empty"}),
      json_case("an unknown normalizer in the Sequence", unigram_json_with(R"({"type":"Replace",)", R"({"type":"Replace","pattern":{"String":"x"},"content":"y"},{"type":"NFKC"},{"type":"Replace",)"), errc::unsupported, {"field 'normalizer.normalizers[1].type'", "normalizer 'NFKC' is not supported"}),
      json_case("a regex other than c{n,}", unigram_json_with(R"({"Regex":" {2,}"})", R"({"Regex":"\\s+"})"), errc::unsupported, {"field 'normalizer.normalizers[0].pattern.Regex'", "not supported"}),
      json_case("a regex with {n}", unigram_json_with(R"({"Regex":" {2,}"})", R"({"Regex":" {2}"})"), errc::unsupported, {"pattern.Regex"}),
      json_case("a pattern of neither kind", unigram_json_with(R"({"Regex":" {2,}"})", R"({"Glob":"*"})"), errc::unsupported, {"field 'normalizer.normalizers[0].pattern'"}),
      json_case("Metaspace with two characters", unigram_json_with(R"("pre_tokenizer":{"type":"Metaspace","replacement":"\u2581")", R"("pre_tokenizer":{"type":"Metaspace","replacement":"__")"), errc::invalid_tokenizer, {"field 'pre_tokenizer.replacement'", "exactly one character"}),
      json_case("Metaspace with an unknown prepend_scheme", unigram_json_with(R"("add_prefix_space":true},"post)", R"("prepend_scheme":"sometimes"},"post)"), errc::unsupported, {"field 'pre_tokenizer.prepend_scheme'"}),
      json_case("add_prefix_space false against prepend_scheme always", unigram_json_with(R"("add_prefix_space":true},"post)", R"("add_prefix_space":false},"post)"), errc::invalid_tokenizer, {"field 'pre_tokenizer.add_prefix_space'"}),
      json_case("prepend_scheme first after WhitespaceSplit", unigram_json_with(R"("pre_tokenizer":{"type":"Metaspace","replacement":"\u2581","add_prefix_space":true})", R"("pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"Metaspace","replacement":"\u2581","prepend_scheme":"first"}]})"), errc::unsupported, {"field 'pre_tokenizer.pretokenizers[1].prepend_scheme'"}),
      json_case("another pre-tokenizer", unigram_json_with(R"("pre_tokenizer":{"type":"Metaspace","replacement":"\u2581","add_prefix_space":true})", R"("pre_tokenizer":{"type":"BertPreTokenizer"})"), errc::unsupported, {"field 'pre_tokenizer'"}),
      json_case("no pre-tokenizer", unigram_json_with(R"("pre_tokenizer":{"type":"Metaspace","replacement":"\u2581","add_prefix_space":true})", R"("pre_tokenizer":null)"), errc::unsupported, {"field 'pre_tokenizer'"}),
      json_case("a single_word added token", unigram_json_with(R"("content":"<mask>","single_word":false)", R"("content":"<mask>","single_word":true)"), errc::unsupported, {"field 'added_tokens[2].single_word'"}),
      json_case("a new added token at a wrong id", unigram_json_with(R"("id":9,"content":"<mask>")", R"("id":4,"content":"<new>")"), errc::invalid_tokenizer, {"field 'added_tokens[2].id'", "its id must be 10"}),
      {"a tokenizer class minilm does not know",
       {{"tokenizer.json", unigram_json()}, {"tokenizer_config.json", R"({"tokenizer_class":"CamembertTokenizer"})"}},
       errc::unsupported, {"field 'tokenizer_class'", "CamembertTokenizer"}, "tokenizer_config.json"},
      {"XLMRobertaTokenizer with a bos_token that is no piece",
       {{"tokenizer.json", unigram_json()}, {"tokenizer_config.json", R"({"tokenizer_class":"XLMRobertaTokenizer","bos_token":"<bos>"})"}},
       errc::unsupported, {"bos_token '<bos>' is not in the vocabulary"}, "tokenizer_config.json"},
  });
}

TEST_CASE("sentencepiece.bpe.model: corrupt or unsupported files name the byte offset") {
  const std::string good = small_model();
  std::string wrong_wire = good;
  wrong_wire[0] = static_cast<char>(1 << 3 | 0);  // pieces as a varint
  check_cases({
      model_case("empty", "", errc::invalid_tokenizer, {"the model has no pieces"}),
      model_case("no pieces", field_bytes(2, field_varint(3, 1)), errc::invalid_tokenizer, {"the model has no pieces"}),
      model_case("a truncated varint", good + "\x80", errc::invalid_tokenizer, {"byte offset " + std::to_string(good.size()), "truncated varint"}),
      model_case("a length past the end", good + field_bytes(1, "xyz").substr(0, 3), errc::invalid_tokenizer, {"byte offset " + std::to_string(good.size() + 1), "runs past the end"}),
      model_case("a piece with the wrong wire type", wrong_wire, errc::invalid_tokenizer, {"byte offset 0", "ModelProto.pieces has wire type 0"}),
      model_case("a group (wire type 3)", good + varint(7 << 3 | 3), errc::invalid_tokenizer, {"byte offset " + std::to_string(good.size()), "wire type 3"}),
      model_case("field number 0", good + varint(0 << 3 | 0) + varint(1), errc::invalid_tokenizer, {"field number 0 is invalid"}),
      model_case("a varint of 11 bytes", good + field_varint(9, 0).substr(0, 1) + std::string(10, '\xff') + "\x01", errc::invalid_tokenizer, {"varint"}),
      model_case("a piece that is not UTF-8", piece("<unk>", 0, 2) + piece("<s>", 0, 3) + piece("</s>", 0, 3) + piece("\xff", -1), errc::invalid_tokenizer, {"not valid UTF-8"}),
      model_case("a NaN score", piece("<unk>", 0, 2) + piece("<s>", 0, 3) + piece("</s>", 0, 3) + piece("x", std::nanf("")), errc::invalid_tokenizer, {"not a finite number"}),
      model_case("a piece without its text", good + field_bytes(1, field_float(2, 1.0f)), errc::invalid_tokenizer, {"a piece without its text"}),
      model_case("a duplicate piece", good + piece("ab", -9), errc::invalid_tokenizer, {"piece 'ab' (id 9) appears twice (first at id 8)"}),
      model_case("unk_id past the pieces", good + field_bytes(2, field_varint(40, 99)), errc::invalid_tokenizer, {"trainer_spec.unk_id 99"}),
      model_case("an eos_id past the pieces", piece("<unk>", 0, 2) + piece("<s>", 0, 3), errc::invalid_tokenizer, {"trainer_spec.eos_id 2 is not a piece"}),
      model_case("fewer than 3 pieces", piece("<unk>", 0, 2) + piece("<s>", 0, 3) + field_bytes(2, field_varint(42, -1)), errc::invalid_tokenizer, {"fewer than 3 pieces"}),
      model_case("a BPE model", small_model(2), errc::unsupported, {"trainer_spec.model_type is 2"}),
      model_case("a corrupt charsmap", good + field_bytes(3, field_bytes(2, std::string("\x10\0\0\0\0", 5))), errc::invalid_tokenizer, {"normalizer_spec.precompiled_charsmap"}),
      {"a .model in a folder that is not XLM-R", {{"sentencepiece.bpe.model", good}}, errc::unsupported, {"XLMRobertaTokenizer"}, "sentencepiece.bpe.model"},
  });
}

TEST_CASE("sentencepiece.bpe.model cut short at every byte: an error or a working tokenizer, never a crash") {
  const std::string good = small_model();
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path());
  fs::remove(dir / "vocab.txt");
  write_file(dir / "tokenizer_config.json", xlmr_config);
  std::size_t errors = 0, loaded = 0;
  for (std::size_t n = 0; n < good.size(); ++n) {
    write_file(dir / "sentencepiece.bpe.model", good.substr(0, n));
    try {
      const auto tok = load(dir.path());
      const auto e = tok.encode("a b ab <mask> c");
      CHECK(e.ids.front() == 0);
      CHECK(e.ids.back() == 2);
      ++loaded;
    } catch (const minilm::error& e) {
      CHECK(std::string(e.what()).find("sentencepiece.bpe.model") != std::string::npos);
      ++errors;
    }
  }
  MESSAGE(good.size() << " truncations: " << errors << " refused, " << loaded << " loaded");
  CHECK(errors > 0);
}
