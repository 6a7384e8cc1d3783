// The tokenizer: id-for-id parity with Hugging Face tokenizers on a 26,000-line corpus
// (goldens made by tools/goldens/make_tokenizer_goldens.py), then the API's promises one by one.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

#include "support.hpp"
#include "test_data.hpp"
#include "test_malformed.hpp"

using minilm::errc;
namespace fs = std::filesystem;

namespace {

fs::path data_dir() { return test_data::source_root() / "tests" / "data" / "tokenizer"; }

using test_data::gunzip;
using test_data::id_golden;
using test_data::show;
using test_data::split_lines;

struct corpus {
  std::vector<std::string> texts;
  std::vector<id_golden> goldens;
};

const corpus& load_corpus() {
  static const corpus c = [] {
    corpus out;
    out.texts = split_lines(gunzip(data_dir() / "corpus.txt.gz"));
    out.goldens = test_data::read_id_goldens(data_dir() / "goldens.txt.gz");
    return out;
  }();
  return c;
}

const minilm::model_folder& real_folder() {
  static const minilm::model_folder f = minilm::read_model_folder(test_support::model_dir());
  return f;
}

const minilm::tokenizer& real_tokenizer() {
  static const minilm::tokenizer t = minilm::tokenizer::load(real_folder());
  return t;
}

minilm::error error_of(const minilm::tokenizer& tok, std::string_view text) {
  try {
    tok.encode(text);
  } catch (const minilm::error& e) {
    return e;
  }
  FAIL("no error for the text");
  return minilm::error(errc::io, "");
}

// tokenizer.json with one substring replaced; loading it must fail.
minilm::error load_error_with(const std::string& from, const std::string& to) {
  test_support::temp_dir dir;
  std::ifstream in(real_folder().tokenizer_json, std::ios::binary);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = json.find(from);
  REQUIRE(at != std::string::npos);
  json.replace(at, from.size(), to);
  test_support::write_file(dir / "tokenizer.json", json);
  minilm::model_folder f = real_folder();
  f.tokenizer_json = dir / "tokenizer.json";
  try {
    minilm::tokenizer::load(f);
  } catch (const minilm::error& e) {
    return e;
  }
  FAIL("the tokenizer loaded");
  return minilm::error(errc::io, "");
}

}  // namespace

TEST_CASE("every corpus line gives the ids Hugging Face tokenizers gives") {
  const corpus& c = load_corpus();
  REQUIRE(c.texts.size() == c.goldens.size());
  REQUIRE(c.texts.size() >= 20000);
  const auto& tok = real_tokenizer();
  std::size_t mismatches = 0, truncated = 0, n_tokens = 0;
  for (std::size_t i = 0; i < c.texts.size(); ++i) {
    const minilm::encoding e = tok.encode(c.texts[i]);
    const id_golden& g = c.goldens[i];
    n_tokens += e.ids.size();
    truncated += e.n_truncated > 0;
    if (e.ids != g.ids || e.n_truncated != g.n_truncated) {
      if (++mismatches <= 10) {
        MESSAGE("line " << i + 1 << ": '" << c.texts[i].substr(0, 80) << "'\n  got  " << show(e.ids) << " (dropped "
                        << e.n_truncated << ")\n  want " << show(g.ids) << " (dropped " << g.n_truncated << ")");
      }
    }
    if (e.type_ids != std::vector<std::int32_t>(e.ids.size(), 0) ||
        e.attention_mask != std::vector<std::int32_t>(e.ids.size(), 1)) {
      ++mismatches;
    }
  }
  MESSAGE("tokenizer parity: compared " << c.texts.size() << " lines (" << n_tokens << " tokens, " << truncated
                                        << " truncated) with tokenizers' goldens: " << mismatches << " mismatches");
  CHECK(mismatches == 0);
  CHECK(truncated >= 5);  // the corpus does exercise truncation
}

TEST_CASE("the batch forms hold the same ids as encode()") {
  const corpus& c = load_corpus();
  const auto& tok = real_tokenizer();
  std::vector<std::string_view> texts(c.texts.begin(), c.texts.begin() + 3000);
  texts.push_back(c.texts.back());  // a long, truncated line
  texts.push_back("");
  const minilm::packed_batch p = tok.encode_batch(texts);
  const minilm::padded_batch q = tok.encode_batch_padded(texts);
  REQUIRE(p.size() == texts.size());
  REQUIRE(p.offsets.size() == texts.size() + 1);
  CHECK(p.type_ids.size() == p.ids.size());
  REQUIRE(q.n_sequences == texts.size());
  CHECK(q.ids.size() == q.n_sequences * q.max_len);
  CHECK(q.pad_id == 0);
  std::size_t longest = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const minilm::encoding e = tok.encode(texts[i]);
    longest = std::max(longest, e.ids.size());
    CHECK(std::vector<std::int32_t>(p.ids.begin() + static_cast<long>(p.offsets[i]),
                                    p.ids.begin() + static_cast<long>(p.offsets[i + 1])) == e.ids);
    CHECK(p.n_truncated[i] == e.n_truncated);
    CHECK(q.lengths[i] == e.ids.size());
    for (std::size_t j = 0; j < q.max_len; ++j) {
      const bool real = j < e.ids.size();
      if (q.at(i, j) != (real ? e.ids[j] : q.pad_id) || q.attention_mask[i * q.max_len + j] != (real ? 1 : 0) ||
          q.type_ids[i * q.max_len + j] != 0) {
        FAIL("padded row " << i << " differs at column " << j);
      }
    }
  }
  CHECK(q.max_len == longest);
  CHECK(p.n_tokens() == p.offsets.back());
  CHECK(tok.encode_batch({}).size() == 0);
  CHECK(tok.encode_batch_padded({}).max_len == 0);
}

TEST_CASE("the model's settings: 256 tokens from sentence_bert_config.json, not tokenizer.json's 128") {
  const auto& tok = real_tokenizer();
  CHECK(tok.max_length() == 256);
  CHECK(tok.pad_id() == 0);
  CHECK(tok.vocab_size() == 30522);
  CHECK(tok.token_to_id("[CLS]") == 101);
  CHECK(tok.token_to_id("##ing") == 2075);
  CHECK(tok.token_to_id("no such token") == -1);
  CHECK(tok.encode("Hello, world!").ids == std::vector<std::int32_t>{101, 7592, 1010, 2088, 999, 102});
  // Special tokens written in the text are matched before normalization, case-sensitively.
  CHECK(tok.encode("hello [MASK] world").ids == std::vector<std::int32_t>{101, 7592, 103, 2088, 102});
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "word ";
  const auto e = tok.encode(long_text);
  CHECK(e.ids.size() == 256);
  CHECK(e.n_truncated == 300 - 254);
  CHECK(e.ids.back() == 102);

  minilm::tokenizer_options small;
  small.max_length = 8;
  const auto t8 = minilm::tokenizer::load(real_folder(), small);
  const auto e8 = t8.encode(long_text);
  CHECK(e8.ids.size() == 8);
  CHECK(e8.n_truncated == 300 - 6);
  minilm::tokenizer_options too_small;
  too_small.max_length = 2;
  CHECK_THROWS_AS(minilm::tokenizer::load(real_folder(), too_small), minilm::error);
}

TEST_CASE("texts are stripped like Python's str.strip()") {
  const auto& tok = real_tokenizer();
  const auto want = tok.encode("hello world").ids;
  CHECK(tok.encode(" \t\r hello world\x1c\x1f\xc2\x85\xe3\x80\x80").ids == want);
  CHECK(tok.encode("\xe2\x80\xa8hello world\xe2\x80\xa9").ids == want);
  CHECK(tok.encode("   ").ids == std::vector<std::int32_t>{101, 102});
  CHECK(tok.encode("").ids == std::vector<std::int32_t>{101, 102});
}

TEST_CASE("invalid UTF-8 is an error naming the byte offset, or dropped on request") {
  const auto& tok = real_tokenizer();
  struct bad {
    std::string text;
    std::size_t offset;
  };
  const bad cases[] = {
      {"ab\xff", 2},                 // never valid
      {"abc\x80 def", 3},            // lone continuation byte
      {"x\xc0\x80", 1},              // overlong NUL
      {"x\xe0\x80\xaf", 1},          // overlong '/'
      {"caf\xc3", 3},                // truncated at the end
      {"\xe2\x82 x", 0},             // truncated in the middle
      {"\xed\xa0\x80", 0},           // surrogate U+D800
      {"ok \xf4\x90\x80\x80", 3},    // above U+10FFFF
      {"ok \xf5\x80\x80\x80", 3},
      {"[MASK]\xff", 6},             // after an added token
      {"  \xff", 2},                 // offset in the original text, before stripping
  };
  for (const bad& b : cases) {
    const minilm::error e = error_of(tok, b.text);
    INFO(e.what());
    CHECK(e.code() == errc::invalid_text);
    CHECK(std::string(e.what()).find("byte offset " + std::to_string(b.offset)) != std::string::npos);
  }

  minilm::tokenizer_options replace;
  replace.on_invalid_utf8 = minilm::invalid_utf8::replace;
  const auto lenient = minilm::tokenizer::load(real_folder(), replace);
  // U+FFFD is dropped by BertNormalizer's clean_text, as when Python decodes with errors="replace".
  CHECK(lenient.encode("caf\xff\xfe" "e ok").ids == tok.encode("cafe ok").ids);
  CHECK(lenient.encode("x\xe2\x82").ids == tok.encode("x").ids);

  // Random bytes: never a crash; either ids or an invalid_text error, and replace mode never throws.
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string s(rng() % 64, '\0');
    for (char& ch : s) ch = static_cast<char>(rng() % 4 == 0 ? 'a' + rng() % 26 : rng() & 0xFF);
    try {
      const auto e = tok.encode(s);
      CHECK(e.ids.size() >= 2);
    } catch (const minilm::error& e) {
      CHECK(e.code() == errc::invalid_text);
    }
    CHECK_NOTHROW(lenient.encode(s));
  }
}

TEST_CASE("vocab.txt + tokenizer_config.json give the same ids as tokenizer.json") {
  minilm::model_folder f = real_folder();
  f.tokenizer_json.clear();
  REQUIRE(!f.vocab_txt.empty());
  const auto from_vocab = minilm::tokenizer::load(f);
  const auto& tok = real_tokenizer();
  CHECK(from_vocab.vocab_size() == tok.vocab_size());
  CHECK(from_vocab.pad_id() == tok.pad_id());
  CHECK(from_vocab.max_length() == tok.max_length());
  const corpus& c = load_corpus();
  std::size_t differ = 0;
  for (const auto& text : c.texts) differ += from_vocab.encode(text).ids != tok.encode(text).ids;
  CHECK(differ == 0);
}

TEST_CASE("tokenizer.json settings minilm does not implement are errors that name them") {
  auto check = [](const minilm::error& e, errc code, const std::string& needle) {
    INFO(e.what());
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
    CHECK(std::string(e.what()).find("tokenizer.json") != std::string::npos);
  };
  check(load_error_with("\"lowercase\":true", "\"lowercase\":false"), errc::unsupported, "normalizer.lowercase");
  check(load_error_with("\"BertPreTokenizer\"", "\"Whitespace\""), errc::unsupported, "pre_tokenizer");
  check(load_error_with("\"max_input_chars_per_word\"", "\"byte_fallback\":true,\"max_input_chars_per_word\""),
        errc::unsupported, "model.byte_fallback");
  check(load_error_with("\"type\":\"WordPiece\",\"unk_token\"", "\"type\":\"BPE\",\"unk_token\""),
        errc::unsupported, "model.type");
  check(load_error_with("\"lstrip\":false", "\"lstrip\":true"), errc::unsupported, "added_tokens[0].lstrip");
  check(load_error_with("\"version\"", "\"frobnicate\":1,\"version\""), errc::unsupported, "frobnicate");
  check(load_error_with("\"unk_token\":\"[UNK]\",\"continuing", "\"unk_token\":\"[NOPE]\",\"continuing"), errc::invalid_tokenizer,
        "model.unk_token");
  check(load_error_with("\"model\":{", "\"model\":["), errc::invalid_tokenizer, "not valid JSON");
}

TEST_CASE("one tokenizer serves many threads at once") {
  const corpus& c = load_corpus();
  const auto& tok = real_tokenizer();
  std::vector<std::size_t> failures(2, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < c.texts.size(); i += 2) failures[t] += tok.encode(c.texts[i]).ids != c.goldens[i].ids;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures[0] + failures[1] == 0);
  minilm::tokenizer copy = tok;
  const minilm::tokenizer moved = std::move(copy);
  CHECK(moved.encode("moved").ids == tok.encode("moved").ids);
}

TEST_CASE("minilm tokenize prints one JSON array per stdin line") {
  const char* cli = std::getenv("MINILM_CLI");
  if (cli == nullptr || *cli == '\0') {
    MESSAGE("MINILM_CLI is not set (examples disabled): skipped");
    return;
  }
  const corpus& c = load_corpus();
  test_support::temp_dir dir;
  std::string input;
  std::vector<std::size_t> picked;
  for (std::size_t i = 0; i < c.texts.size(); i += 97) {
    picked.push_back(i);
    input += c.texts[i] + "\n";
  }
  picked.push_back(c.texts.size() - 1);
  input += c.texts.back();  // no final newline: still a line
  test_support::write_file(dir / "in.txt", input);
  const std::string model = test_support::model_dir().string();
  // Started without a shell, which would quote differently on each platform.
  const auto r = malformed::run_cli({"tokenize", "--model", model}, dir / "in.txt");
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream out(r.out);
  std::string line;
  std::size_t n = 0, differ = 0;
  while (std::getline(out, line)) {
    REQUIRE(n < picked.size());
    std::string want = "[";
    for (std::size_t j = 0; j < c.goldens[picked[n]].ids.size(); ++j) {
      want += (j ? "," : "") + std::to_string(c.goldens[picked[n]].ids[j]);
    }
    differ += line != want + "]";
    ++n;
  }
  CHECK(n == picked.size());
  CHECK(differ == 0);

  // Invalid UTF-8: a non-zero exit and a message naming the line and the byte offset.
  test_support::write_file(dir / "bad.txt", "fine\nnot \xff fine\n");
  const auto bad = malformed::run_cli({"tokenize", "--model", model}, dir / "bad.txt");
  CHECK(bad.exit_code != 0);
  const std::string& message = bad.err;
  INFO(message);
  CHECK(message.find("line 2") != std::string::npos);
  CHECK(message.find("byte offset 4") != std::string::npos);
}

TEST_CASE("do_lower_case from sentence_bert_config.json lowercases before BertNormalizer") {
  // sentence-transformers puts a Lowercase normalizer in front of the model's; for an uncased
  // BERT the reference gives the same ids on the whole corpus with and without it (checked
  // with tokenizers 0.23.3), and special tokens are still matched case-sensitively.
  minilm::model_folder f = real_folder();
  f.do_lower_case = true;
  const auto lowering = minilm::tokenizer::load(f);
  const corpus& c = load_corpus();
  std::size_t differ = 0;
  for (std::size_t i = 0; i < c.texts.size(); ++i) differ += lowering.encode(c.texts[i]).ids != c.goldens[i].ids;
  CHECK(differ == 0);
  CHECK(lowering.encode("Hello [MASK] \xc4\xb0stanbul").ids == std::vector<std::int32_t>{101, 7592, 103, 9960, 102});
  CHECK(lowering.encode("HELLO [mask]").ids == real_tokenizer().encode("hello [mask]").ids);
}
