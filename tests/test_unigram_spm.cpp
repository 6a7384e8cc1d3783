// minilm's reading of sentencepiece.bpe.model beside the sentencepiece library's (Debian
// libsentencepiece-dev): the same pieces and scores at the fairseq offset; then how often the
// library's own encoding gives other ids than sentence-transformers (a measurement, printed),
// while minilm's must give none.
//
// Where the two differ: sentencepiece normalizes by longest match over the bytes and adds its
// dummy prefix once per text, Hugging Face normalizes per grapheme cluster and splits on White_Space
// first; sentencepiece never emits control pieces such as "<s>" from text, tokenizers' Viterbi does.
#include <doctest/doctest.h>

#include <sentencepiece_processor.h>

#include <algorithm>

#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

#include "tokenizer/unigram.hpp"
#include "unigram_support.hpp"

using namespace unigram_support;

namespace {

const fs::path& spm_folder() {
  static const fs::path f = multilingual_folder("random-xlm-roberta-spm");
  return f;
}

sentencepiece::SentencePieceProcessor& library() {
  static sentencepiece::SentencePieceProcessor sp;
  static const bool loaded = [] {
    const auto status = sp.Load((spm_folder() / "sentencepiece.bpe.model").string());
    if (!status.ok()) FAIL("sentencepiece cannot load the model: " << status.ToString());
    return true;
  }();
  (void)loaded;
  return sp;
}

// The library's ids for a text as the XLM-R tokenizer numbers them: spm id + 1 from id 3 on,
// its <unk> at 3, inside <s> ... </s> and truncated to 512 like the goldens.
std::vector<std::int32_t> library_ids(const std::string& text) {
  auto& sp = library();
  std::vector<int> raw;
  const auto status = sp.Encode(text, &raw);
  if (!status.ok()) FAIL("sentencepiece cannot encode: " << status.ToString());
  std::vector<std::int32_t> ids = {0};
  for (int id : raw) {
    if (id >= 3) ids.push_back(id + 1);
    else if (id == sp.unk_id()) ids.push_back(3);
    else if (id == sp.bos_id()) ids.push_back(0);
    else ids.push_back(2);
  }
  if (ids.size() > 511) ids.resize(511);
  ids.push_back(2);
  return ids;
}

}  // namespace

TEST_CASE("minilm's table is the library's, piece by piece, one id up (the fairseq offset)") {
  const auto model = minilm::detail::read_sentencepiece_folder(minilm::read_model_folder(spm_folder()));
  const minilm::detail::unigram_model& u = *model;
  auto& sp = library();
  const int n = sp.GetPieceSize();
  REQUIRE(n > 3);
  REQUIRE(u.size() == static_cast<std::size_t>(n) + 2);  // + <pad> + <mask>
  // fairseq's first four: <s> <pad> </s> <unk>, the library's control and unknown pieces.
  CHECK(u.piece(0) == sp.IdToPiece(sp.bos_id()));
  CHECK(u.piece(1) == "<pad>");
  CHECK(u.piece(2) == sp.IdToPiece(sp.eos_id()));
  CHECK(u.piece(3) == sp.IdToPiece(sp.unk_id()));
  CHECK(u.piece(u.size() - 1) == "<mask>");
  std::size_t differ = 0;
  for (int i = 3; i < n; ++i) {
    const std::size_t id = static_cast<std::size_t>(i) + 1;
    const bool same = u.piece(id) == sp.IdToPiece(i) && u.scores[id] == static_cast<double>(sp.GetScore(i)) &&
                      u.token_to_id(u.piece(id)) == static_cast<std::int32_t>(id);
    if (!same && ++differ <= 5) {
      MESSAGE("spm id " << i << ": library '" << sp.IdToPiece(i) << "' " << sp.GetScore(i) << ", minilm '" << u.piece(id)
                        << "' " << u.scores[id]);
    }
  }
  MESSAGE("compared " << n - 3 << " pieces with the sentencepiece library: " << differ << " differ");
  CHECK(differ == 0);
}

TEST_CASE("over the corpus and edge cases: the library's own ids against sentence-transformers', and minilm's") {
  const texts& t = golden_texts();
  const std::vector<id_golden> goldens = read_id_goldens(data_file("unigram_goldens.txt.gz"));
  REQUIRE(goldens.size() == t.all.size());
  const auto tok = minilm::tokenizer::load(minilm::read_model_folder(spm_folder()));
  const std::size_t n = t.n_corpus + t.n_edge;  // the valid UTF-8 texts
  std::size_t library_differs = 0, library_corpus = 0, minilm_differs = 0;
  std::string examples;
  for (std::size_t i = 0; i < n; ++i) {
    if (library_ids(t.all[i]) != goldens[i].ids) {
      ++library_differs;
      library_corpus += i < t.n_corpus;
      if (library_differs <= 8) {
        examples += "\n  text " + std::to_string(i) + " '" + printable(t.all[i], 50) + "': library " +
                    show(library_ids(t.all[i])) + "\n" + std::string(20, ' ') + "want " + show(goldens[i].ids);
      }
    }
    minilm_differs += tok.encode(t.all[i]).ids != goldens[i].ids;
  }
  MESSAGE("sentencepiece " << "library (EncodeAsIds, +1 offset, <s> </s>) gives other ids than sentence-transformers on "
                           << library_differs << " of " << n << " texts (" << library_corpus << " of " << t.n_corpus
                           << " corpus lines, " << library_differs - library_corpus << " of " << t.n_edge
                           << " edge cases); minilm on " << minilm_differs << ". First ones:" << examples);
  CHECK(minilm_differs == 0);
}
