// Tokenizer throughput on the parity corpus (tests/data/tokenizer/corpus.txt.gz: 26,000
// lines of real text in two dozen scripts plus generated edge cases), with all-MiniLM-L6-v2's
// WordPiece tokenizer and (BM_unigram_*) multilingual-e5-small's SentencePiece Unigram one
// (models/random-bert-xlmr, tools/setup/fetch_multilingual.sh).
//
//   build/bench/micro/bench_tokenizer [--benchmark_filter=...]
//
// Counters: bytes_per_second is input UTF-8 bytes per second; tokens/s counts the ids
// produced ([CLS] and [SEP] included), the same way bench/peers/compare_tokenizer.py counts them
// for Hugging Face tokenizers.
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

#include "bench_common.hpp"

namespace {

namespace fs = std::filesystem;

fs::path unigram_folder() { return bench_common::multilingual_dir() / "random-bert-xlmr"; }

struct fixture {
  std::string text;
  std::vector<std::string_view> lines;
  std::vector<std::string_view> latin;  // the English fortunes at the top of the corpus
  std::size_t latin_bytes = 0;
  minilm::tokenizer tok;

  static fixture& get() {
    static fixture f = make(bench_common::model_dir());
    return f;
  }
  static fixture& unigram() {
    static fixture f = make(unigram_folder());
    return f;
  }
  static fixture make(const fs::path& model) {
    const fs::path corpus = bench_common::source_root() / "tests" / "data" / "tokenizer" / "corpus.txt.gz";
    gzFile g = gzopen(corpus.string().c_str(), "rb");
    if (g == nullptr) throw std::runtime_error("cannot open " + corpus.string() + " (set MINILM_SOURCE_ROOT)");
    std::string text;
    char buf[1 << 16];
    int n;
    while ((n = gzread(g, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
    gzclose(g);
    auto folder = minilm::read_model_folder(model);
    fixture f{std::move(text), {}, {}, 0, minilm::tokenizer::load(folder)};
    std::size_t start = 0;
    for (std::size_t i = 0; i < f.text.size(); ++i) {
      if (f.text[i] == '\n') {
        f.lines.emplace_back(f.text.data() + start, i - start);
        start = i + 1;
      }
    }
    for (std::size_t i = 0; i < 9000 && i < f.lines.size(); ++i) {
      f.latin.push_back(f.lines[i]);
      f.latin_bytes += f.lines[i].size();
    }
    return f;
  }
};

std::size_t total_bytes(const std::vector<std::string_view>& lines) {
  std::size_t n = 0;
  for (auto l : lines) n += l.size();
  return n;
}

// tokens: ids produced by one pass over `lines`.
void report(benchmark::State& state, const std::vector<std::string_view>& lines, std::size_t tokens) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(lines)));
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["lines"] = static_cast<double>(lines.size());
}

// encode() one line at a time, the whole corpus per iteration.
void encode_each(benchmark::State& state, fixture& f, bool latin_only) {
  const auto& lines = latin_only ? f.latin : f.lines;
  std::size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (auto line : lines) {
      auto e = f.tok.encode(line);
      tokens += e.ids.size();
      benchmark::DoNotOptimize(e.ids.data());
    }
  }
  report(state, lines, tokens);
}
void BM_encode_corpus(benchmark::State& state) { encode_each(state, fixture::get(), false); }
void BM_encode_english(benchmark::State& state) { encode_each(state, fixture::get(), true); }
void BM_unigram_encode_corpus(benchmark::State& state) { encode_each(state, fixture::unigram(), false); }
void BM_unigram_encode_english(benchmark::State& state) { encode_each(state, fixture::unigram(), true); }

// encode_batch(): batches of range(0) lines, packed.
void encode_packed(benchmark::State& state, fixture& f) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  std::size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (std::size_t i = 0; i < f.lines.size(); i += batch) {
      const std::size_t n = std::min(batch, f.lines.size() - i);
      auto b = f.tok.encode_batch(std::span<const std::string_view>(f.lines.data() + i, n));
      tokens += b.n_tokens();
      benchmark::DoNotOptimize(b.ids.data());
    }
  }
  report(state, f.lines, tokens);
}
void BM_encode_batch_packed(benchmark::State& state) { encode_packed(state, fixture::get()); }
void BM_unigram_encode_batch_packed(benchmark::State& state) { encode_packed(state, fixture::unigram()); }

// encode_batch_padded(): batches of range(0) lines, padded to the longest.
void BM_encode_batch_padded(benchmark::State& state) {
  auto& f = fixture::get();
  const auto batch = static_cast<std::size_t>(state.range(0));
  std::size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (std::size_t i = 0; i < f.lines.size(); i += batch) {
      const std::size_t n = std::min(batch, f.lines.size() - i);
      auto b = f.tok.encode_batch_padded(std::span<const std::string_view>(f.lines.data() + i, n));
      for (auto len : b.lengths) tokens += len;
      benchmark::DoNotOptimize(b.ids.data());
    }
  }
  report(state, f.lines, tokens);
}

// Loading tokenizer.json and building the tables: WordPiece (30,522 entries, 0.7 MB) and
// Unigram (250,002 pieces with scores and the normalizer's charsmap, 17 MB).
void load(benchmark::State& state, const fs::path& model) {
  auto folder = minilm::read_model_folder(model);
  for (auto _ : state) {
    auto t = minilm::tokenizer::load(folder);
    benchmark::DoNotOptimize(&t);
  }
}
void BM_load(benchmark::State& state) { load(state, bench_common::model_dir()); }
void BM_unigram_load(benchmark::State& state) { load(state, unigram_folder()); }

}  // namespace

BENCHMARK(BM_encode_corpus)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_encode_english)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_encode_batch_packed)->Arg(32)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_encode_batch_padded)->Arg(32)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_load)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_unigram_encode_corpus)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_unigram_encode_english)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_unigram_encode_batch_packed)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_unigram_load)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
