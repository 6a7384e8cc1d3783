// The XLM-R Unigram tokenizer: id-for-id parity with sentence-transformers on the 26,000-line
// corpus and ~650 edge cases (goldens made by tools/goldens/make_unigram_goldens.py), for the three
// multilingual folders (tokenizer.json or sentencepiece.bpe.model, each read as transformers 5
// reads it), and for tokenizer.json taken as written; then the API's promises.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>

#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

#include "support.hpp"
#include "unigram_support.hpp"

using minilm::errc;
using namespace unigram_support;

namespace {

// Encodes every golden text and counts the texts whose ids or truncation differ.
std::size_t mismatches_against(const minilm::tokenizer& tok, const std::vector<id_golden>& goldens, const std::string& what) {
  const texts& t = golden_texts();
  REQUIRE(t.all.size() == goldens.size());
  std::size_t mismatches = 0, n_tokens = 0, truncated = 0;
  for (std::size_t i = 0; i < t.all.size(); ++i) {
    const minilm::encoding e = tok.encode(t.all[i]);
    const id_golden& g = goldens[i];
    n_tokens += e.ids.size();
    truncated += e.n_truncated > 0;
    if (e.ids != g.ids || e.n_truncated != g.n_truncated) {
      if (++mismatches <= 10) {
        MESSAGE(what << ": text " << i << " '" << printable(t.all[i]) << "'\n  got  " << show(e.ids) << " (dropped "
                     << e.n_truncated << ")\n  want " << show(g.ids) << " (dropped " << g.n_truncated << ")");
      }
    }
  }
  MESSAGE(what << ": compared " << t.all.size() << " texts (" << t.n_corpus << " corpus lines, " << t.n_edge
               << " edge cases, " << t.n_invalid << " not UTF-8; " << n_tokens << " tokens, " << truncated
               << " truncated) with the goldens: " << mismatches << " differ");
  CHECK(truncated >= 5);  // the texts do exercise truncation
  return mismatches;
}

minilm::tokenizer load(const fs::path& folder) {
  minilm::tokenizer_options options;
  options.on_invalid_utf8 = minilm::invalid_utf8::replace;  // the goldens hold U+FFFD for those texts
  return minilm::tokenizer::load(minilm::read_model_folder(folder), options);
}

// A copy of `source` (links to its files, or copies of them) whose tokenizer_config.json names
// PreTrainedTokenizerFast and whose config.json names no tokenizer class, so that tokenizer.json
// is taken as written; `tokenizer_json`, when given, replaces that file.
void as_written_copy(const fs::path& source, const fs::path& dir, const std::string* tokenizer_json = nullptr) {
  for (const auto& entry : fs::directory_iterator(source)) {
    const std::string name = entry.path().filename().string();
    if (name == "tokenizer_config.json" || name == "config.json" || (tokenizer_json && name == "tokenizer.json")) continue;
    test_support::link_or_copy(entry.path(), dir / name);
  }
  test_support::write_file(dir / "tokenizer_config.json",
                           R"({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512})");
  std::ifstream in(source / "config.json", std::ios::binary);
  std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string key = R"("tokenizer_class": "XLMRobertaTokenizer",)";
  const auto at = config.find(key);
  REQUIRE(at != std::string::npos);
  test_support::write_file(dir / "config.json", config.replace(at, key.size(), ""));
  if (tokenizer_json) test_support::write_file(dir / "tokenizer.json", *tokenizer_json);
}

const std::vector<id_golden>& xlm_roberta_goldens() {
  static const std::vector<id_golden> g = read_id_goldens(data_file("unigram_goldens.txt.gz"));
  return g;
}

const minilm::tokenizer& bert_xlmr() {
  static const minilm::tokenizer t = load(multilingual_folder("random-bert-xlmr"));
  return t;
}

}  // namespace

TEST_CASE("random-bert-xlmr (tokenizer.json, XLMRobertaTokenizer) gives sentence-transformers' ids on every text") {
  CHECK(mismatches_against(bert_xlmr(), xlm_roberta_goldens(), "random-bert-xlmr") == 0);
}

TEST_CASE("random-xlm-roberta (tokenizer.json) gives the same ids") {
  CHECK(mismatches_against(load(multilingual_folder("random-xlm-roberta")), xlm_roberta_goldens(), "random-xlm-roberta") == 0);
}

TEST_CASE("random-xlm-roberta-spm (sentencepiece.bpe.model, no tokenizer.json) gives the same ids") {
  const fs::path folder = multilingual_folder("random-xlm-roberta-spm");
  REQUIRE(minilm::read_model_folder(folder).tokenizer_json.empty());
  CHECK(mismatches_against(load(folder), xlm_roberta_goldens(), "random-xlm-roberta-spm") == 0);
}

TEST_CASE("tokenizer.json as written (PreTrainedTokenizerFast): Replace \" {2,}\" and Metaspace, as tokenizers runs it") {
  test_support::temp_dir dir;
  as_written_copy(multilingual_folder("random-bert-xlmr"), dir.path());
  const std::vector<id_golden> goldens = read_id_goldens(data_file("unigram_tokenizer_json_goldens.txt.gz"));
  CHECK(mismatches_against(load(dir.path()), goldens, "tokenizer.json as written") == 0);
}

TEST_CASE("tokenizer.json variants: Metaspace schemes and split, WhitespaceSplit, Replace, Strip, added-token flags") {
  // Each variant edits the real tokenizer.json (unigram_variants.json says how) and is compared
  // over the first corpus lines, the edge cases and the texts that are not UTF-8.
  const fs::path source = multilingual_folder("random-bert-xlmr");
  std::ifstream in(source / "tokenizer.json", std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto doc = minilm::detail::json_document::parse_file(data_file("unigram_variants.json"));
  const auto n_corpus = static_cast<std::size_t>(doc.root().at("corpus_lines").as_int());
  const texts& t = golden_texts();
  std::vector<std::string_view> variant_texts(t.all.begin(), t.all.begin() + static_cast<long>(n_corpus));
  variant_texts.insert(variant_texts.end(), t.all.begin() + static_cast<long>(t.n_corpus), t.all.end());
  const std::vector<id_golden> goldens = read_id_goldens(data_file("unigram_variant_goldens.txt.gz"));
  const auto variants = doc.root().at("variants").items();
  REQUIRE(goldens.size() == variants.size() * variant_texts.size());
  for (std::size_t v = 0; v < variants.size(); ++v) {
    const std::string name(variants[v].at("name").as_string());
    CAPTURE(name);
    std::string json = original;
    for (const auto& r : variants[v].at("replacements").items()) {
      const auto pair = r.items();
      const std::string from(pair[0].as_string()), to(pair[1].as_string());
      const auto at = json.find(from);
      REQUIRE(at != std::string::npos);
      json.replace(at, from.size(), to);
    }
    test_support::temp_dir dir;
    as_written_copy(source, dir.path(), &json);
    const auto tok = load(dir.path());
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < variant_texts.size(); ++i) {
      const minilm::encoding e = tok.encode(variant_texts[i]);
      const id_golden& g = goldens[v * variant_texts.size() + i];
      if (e.ids != g.ids || e.n_truncated != g.n_truncated) {
        if (++mismatches <= 5) {
          MESSAGE(name << ": text " << i << " '" << printable(std::string(variant_texts[i])) << "'\n  got  " << show(e.ids)
                       << "\n  want " << show(g.ids));
        }
      }
    }
    MESSAGE("variant " << name << ": " << variant_texts.size() << " texts, " << mismatches << " differ");
    CHECK(mismatches == 0);
  }
}

TEST_CASE("the folder's settings and a few ids") {
  const auto& tok = bert_xlmr();
  CHECK(tok.vocab_size() == 250002);
  CHECK(tok.max_length() == 512);
  CHECK(tok.pad_id() == 1);
  CHECK(tok.token_to_id("<s>") == 0);
  CHECK(tok.token_to_id("<mask>") == 250001);
  CHECK(tok.token_to_id("\xe2\x96\x81" "de") == 8);  // "▁de"
  CHECK(tok.token_to_id("no such piece") == -1);
  // <s> hello world </s>: "▁hell" "o" "▁world".
  CHECK(tok.encode("hello world").ids == std::vector<std::int32_t>{0, 33600, 31, 8999, 2});
  CHECK(tok.encode("").ids == std::vector<std::int32_t>{0, 2});
  // An added token in the text, and the White_Space around it, which makes no piece.
  CHECK(tok.encode("x <mask> y").ids == std::vector<std::int32_t>{0, 1022, 250001, 113, 2});
  // A full-width form normalizes into "<s>", which is then a vocabulary piece, not the added token.
  CHECK(tok.encode("\xef\xbc\x9cs\xef\xbc\x9e").ids == std::vector<std::int32_t>{0, 6, 0, 2});
  const std::vector<std::int32_t> pieces = tok.word_pieces("hello world");
  CHECK(pieces == std::vector<std::int32_t>{33600, 31, 8999});

  minilm::tokenizer_options small;
  small.max_length = 4;
  const auto t4 = minilm::tokenizer::load(minilm::read_model_folder(multilingual_folder("random-bert-xlmr")), small);
  const auto e4 = t4.encode("hello world");
  CHECK(e4.ids == std::vector<std::int32_t>{0, 33600, 31, 2});
  CHECK(e4.n_truncated == 1);
}

TEST_CASE("the batch forms and other threads hold the same ids as encode()") {
  const auto& tok = bert_xlmr();
  const texts& t = golden_texts();
  std::vector<std::string_view> batch(t.all.begin(), t.all.begin() + 2000);
  batch.insert(batch.end(), t.all.begin() + static_cast<long>(t.n_corpus), t.all.begin() + static_cast<long>(t.n_corpus + t.n_edge));
  const minilm::packed_batch p = tok.encode_batch(batch);
  const minilm::padded_batch q = tok.encode_batch_padded(batch);
  REQUIRE(p.size() == batch.size());
  CHECK(q.pad_id == 1);
  std::vector<std::vector<std::int32_t>> from_encode(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    from_encode[i] = tok.encode(batch[i]).ids;
    CHECK(std::vector<std::int32_t>(p.ids.begin() + static_cast<long>(p.offsets[i]),
                                    p.ids.begin() + static_cast<long>(p.offsets[i + 1])) == from_encode[i]);
    CHECK(q.lengths[i] == from_encode[i].size());
  }
  // Four threads at once over the same texts: the per-thread buffers never mix.
  std::vector<std::size_t> differ(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < differ.size(); ++k) {
    threads.emplace_back([&, k] {
      for (std::size_t i = k; i < batch.size(); i += 2) differ[k] += tok.encode(batch[i]).ids != from_encode[i];
    });
  }
  for (auto& th : threads) th.join();
  for (std::size_t d : differ) CHECK(d == 0);
}

TEST_CASE("invalid UTF-8: an error naming the byte offset, or U+FFFD like Python's errors=\"replace\"") {
  const auto strict = minilm::tokenizer::load(minilm::read_model_folder(multilingual_folder("random-bert-xlmr")));
  struct bad {
    std::string text;
    std::size_t offset;
  };
  for (const bad& b : {bad{"ab\xff", 2}, bad{"x <mask>\xc3", 8}, bad{"\xed\xa0\x80", 0}, bad{"ok \xf4\x90\x80\x80", 3}}) {
    try {
      strict.encode(b.text);
      FAIL("no error for '" << printable(b.text) << "'");
    } catch (const minilm::error& e) {
      INFO(e.what());
      CHECK(e.code() == errc::invalid_text);
      CHECK(std::string(e.what()).find("byte offset " + std::to_string(b.offset)) != std::string::npos);
    }
  }
  // Replaced: the same ids as the text with U+FFFD written in it (the goldens cover more).
  CHECK(bert_xlmr().encode("a\xff" "b").ids == bert_xlmr().encode("a\xef\xbf\xbd" "b").ids);
  CHECK(bert_xlmr().encode("a\xe2\x82" "b").ids == bert_xlmr().encode("a\xef\xbf\xbd" "b").ids);
}

TEST_CASE("do_lower_case with a Unigram tokenizer is refused") {
  minilm::model_folder folder = minilm::read_model_folder(multilingual_folder("random-bert-xlmr"));
  folder.do_lower_case = true;
  try {
    minilm::tokenizer::load(folder);
    FAIL("loaded");
  } catch (const minilm::error& e) {
    CHECK(e.code() == errc::unsupported);
    CHECK(std::string(e.what()).find("do_lower_case") != std::string::npos);
  }
}
