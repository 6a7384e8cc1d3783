// The encoder on the real model, on the cases bench/peers/compare.py runs beside its peers:
//
//   1x12     one query of 12 tokens ([CLS] + 10 word pieces + [SEP]): latency
//   32x128   32 texts of exactly 128 tokens (words of the parity corpus, then " a")
//   32x256   the same with 256 tokens
//   mixed    the 2,028 texts of the parity corpus (tests/data/encoder/texts.txt), 32 per call
//
// each on 1 thread and on every hardware thread (the /threads: argument), texts to embeddings
// (tokenization included), one reused workspace. Counters: sentences/s and tokens/s; GFLOP/s,
// the forward pass's multiply-adds (x2) over the time: the dense layers' 2 * tokens * (4 h^2 +
// 2 h f) per layer and attention's 2 * 2 * L^2 * h per sequence and layer (h hidden, f the
// feed-forward width, L a text's length); dense_share, the dense layers' part of those FLOPs.
// Compare GFLOP/s with bench_sgemm_peak's figure for the machine.
//
// encode_one: one 12-token query, on 1 thread and on every hardware thread, through the
// default call (encode_one: a workspace borrowed from the encoder) and through an explicit,
// reused workspace, the two calls in alternation; default_us and workspace_us are the medians
// of their calls' times, default/workspace their ratio. (The time per iteration covers both.)
//
// Two more: open_to_first_embedding (read the folder, map and bind the weights, load the
// tokenizer, embed one text; the page cache warm) and peak_rss_kb (resident set after all runs,
// from getrusage), reported as counters of that benchmark.
//
//   build/bench/micro/bench_encoder [--benchmark_filter=...]
//   MINILM_MODEL_DIR=models/all-MiniLM-L6-v2-int8 build/bench/micro/bench_encoder   (the int8 folder of
//                                                 `minilm quantize`; the label names the precision)
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <minilm/encoder.hpp>
#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

#include "bench_common.hpp"

namespace {

namespace fs = std::filesystem;

using bench_common::model_dir;

std::vector<std::string> corpus_lines() {
  const fs::path path = bench_common::source_root() / "tests" / "data" / "encoder" / "texts.txt";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string() + " (set MINILM_SOURCE_ROOT)");
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < all.size();) {
    const std::size_t end = std::min(all.find('\n', start), all.size());
    lines.emplace_back(all.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// count texts of exactly n_tokens tokens ([CLS] and [SEP] included) from the corpus' words,
// starting at word `first`, the way bench/peers/compare.py makes its own.
std::vector<std::string> texts_of_tokens(const minilm::tokenizer& tok, const std::vector<std::string>& words,
                                         std::size_t n_tokens, std::size_t count, std::size_t first) {
  auto length = [&](const std::string& text) {
    const minilm::encoding e = tok.encode(text);
    return e.ids.size() + e.n_truncated;  // before truncation
  };
  std::vector<std::string> texts;
  std::size_t w = first;
  for (std::size_t t = 0; t < count; ++t) {
    std::string text;
    for (;;) {
      const std::string candidate = text.empty() ? words[w % words.size()] : text + " " + words[w % words.size()];
      if (length(candidate) > n_tokens) break;
      text = candidate;
      ++w;
    }
    while (length(text) < n_tokens) text += " a";  // one word piece each
    if (length(text) != n_tokens) throw std::logic_error("could not make a text of the length asked");
    texts.push_back(std::move(text));
  }
  return texts;
}

struct fixture {
  minilm::tokenizer tok;  // only to build the cases: each benchmark loads its own encoder
  std::map<std::string, std::vector<std::string>> cases;

  static fixture& get() {
    static fixture f = make();
    return f;
  }
  static fixture make() {
    fixture f{minilm::tokenizer::load(minilm::read_model_folder(model_dir())), {}};
    std::vector<std::string> lines = corpus_lines();
    std::vector<std::string> words;
    for (const std::string& line : lines) {
      for (std::size_t i = 0; i < line.size();) {
        const std::size_t end = std::min(line.find(' ', i), line.size());
        if (end > i) words.push_back(line.substr(i, end - i));
        i = end + 1;
      }
    }
    f.cases["1x12"] = texts_of_tokens(f.tok, words, 12, 1, 0);
    f.cases["32x128"] = texts_of_tokens(f.tok, words, 128, 32, 1000);
    f.cases["32x256"] = texts_of_tokens(f.tok, words, 256, 32, 20000);
    f.cases["mixed"] = std::move(lines);
    return f;
  }
};

const char* const case_names[] = {"1x12", "32x128", "32x256", "mixed"};

// The forward pass's FLOPs for texts of these token counts (see the top of the file).
struct flops {
  double dense = 0, attention = 0;
};

flops forward_flops(const minilm::model_folder& folder, const std::vector<std::size_t>& lengths) {
  const auto& c = folder.config;
  const double h = double(c.hidden_size), f = double(c.intermediate_size), layers = double(c.n_layers);
  flops r;
  for (const std::size_t l : lengths) {
    r.dense += 2.0 * double(l) * (4 * h * h + 2 * h * f) * layers;
    r.attention += 2.0 * 2.0 * double(l) * double(l) * h * layers;
  }
  return r;
}

// Arguments: case (index into case_names), threads.
void encode(benchmark::State& state) {
  fixture& f = fixture::get();
  minilm::encoder_options load_options;
  load_options.n_threads = static_cast<std::size_t>(state.range(1));
  const minilm::encoder model = minilm::encoder::load(model_dir(), load_options);
  const std::string name = case_names[state.range(0)];
  const std::vector<std::string>& texts = f.cases.at(name);
  std::vector<std::string_view> views(texts.begin(), texts.end());
  std::vector<std::size_t> lengths;
  for (const auto& t : texts) {
    lengths.push_back(std::min(model.tokenizer().encode(t).ids.size(), model.max_seq_length()));
  }
  minilm::workspace ws;
  constexpr std::size_t batch = 32;
  auto pass = [&] {
    for (std::size_t i = 0; i < views.size(); i += batch) {
      const auto n = std::min(batch, views.size() - i);
      benchmark::DoNotOptimize(model.encode(std::span(views).subspan(i, n), {.scratch = &ws}));
    }
  };
  pass();  // warm-up: the workspace's first touch, the pool's threads
  for (auto _ : state) pass();

  const flops fl = forward_flops(model.folder(), lengths);
  std::size_t tokens = 0;
  for (const std::size_t l : lengths) tokens += l;
  using benchmark::Counter;
  state.counters["sentences/s"] = Counter(double(texts.size()), Counter::kIsIterationInvariantRate);
  state.counters["tokens/s"] = Counter(double(tokens), Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = Counter((fl.dense + fl.attention) * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["dense_share"] = fl.dense / (fl.dense + fl.attention);
  state.SetLabel(name + " " + minilm::weight_precision_name(model.precision()));
}

void register_encode() {
  const auto all = static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  for (std::int64_t c = 0; c < 4; ++c) {
    for (std::int64_t threads : {std::int64_t{1}, all}) {
      auto* b = benchmark::RegisterBenchmark("encode", encode)->Args({c, threads})->ArgNames({"case", "threads"});
      b->Unit(benchmark::kMillisecond)->UseRealTime();
      if (c == 3) b->Iterations(2);  // seconds per pass
      if (threads == 1 && all == 1) break;
    }
  }
}

// Argument: threads. Each iteration makes both calls, in turns first and second.
void encode_one(benchmark::State& state) {
  fixture& f = fixture::get();
  minilm::encoder_options load_options;
  load_options.n_threads = static_cast<std::size_t>(state.range(0));
  const minilm::encoder model = minilm::encoder::load(model_dir(), load_options);
  const std::string& text = f.cases.at("1x12").front();
  const std::string_view view = text;
  minilm::workspace ws;
  auto timed = [](auto&& call) {
    const auto start = std::chrono::steady_clock::now();
    call();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  };
  auto default_call = [&] { benchmark::DoNotOptimize(model.encode_one(text)); };
  auto workspace_call = [&] { benchmark::DoNotOptimize(model.encode(std::span(&view, 1), {.scratch = &ws})); };
  default_call();  // warm-up
  workspace_call();
  std::vector<double> default_us, workspace_us;
  bool default_first = true;
  for (auto _ : state) {
    if (default_first) {
      default_us.push_back(timed(default_call));
      workspace_us.push_back(timed(workspace_call));
    } else {
      workspace_us.push_back(timed(workspace_call));
      default_us.push_back(timed(default_call));
    }
    default_first = !default_first;
  }
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  const double d = median(default_us), w = median(workspace_us);
  state.counters["default_us"] = d;
  state.counters["workspace_us"] = w;
  state.counters["default/workspace"] = d / w;
}

void register_encode_one() {
  const auto all = static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  for (std::int64_t threads : {std::int64_t{1}, all}) {
    benchmark::RegisterBenchmark("encode_one", encode_one)
        ->Arg(threads)
        ->ArgName("threads")
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    if (all == 1) break;
  }
}

void open_to_first_embedding(benchmark::State& state) {
  const fs::path dir = model_dir();
  minilm::encoder::load(dir).encode_one("warm the page cache");
  for (auto _ : state) {
    const minilm::encoder model = minilm::encoder::load(dir);
    benchmark::DoNotOptimize(model.encode_one("How do I share one model between worker processes?"));
  }
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_kb"] = double(usage.ru_maxrss);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_encode();
  register_encode_one();
  benchmark::RegisterBenchmark("open_to_first_embedding", open_to_first_embedding)->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
