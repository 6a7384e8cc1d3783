// The encoder on the real all-MiniLM-L6-v2: parity with sentence-transformers (goldens made by
// tools/goldens/make_encoder_goldens.py), bitwise determinism across batches and thread counts, errors.
#include <doctest/doctest.h>

#include <minilm/encoder.hpp>
#include <minilm/similarity.hpp>
#include <minilm/tokenizer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "test_encoder_golden.hpp"
#include "test_malformed.hpp"

namespace {

using encoder_golden::compare;
using encoder_golden::data_dir;
namespace fs = std::filesystem;

// Parity thresholds with sentence-transformers (float32 on both sides).
constexpr double max_abs_tolerance = 1e-5;
constexpr double min_cosine_tolerance = 0.999999;

const minilm::encoder& real_model(std::size_t n_threads = 1) {
  static const minilm::encoder one = minilm::encoder::load(test_support::model_dir());
  static const minilm::encoder two = [] {
    minilm::encoder_options o;
    o.n_threads = 2;
    return minilm::encoder::load(test_support::model_dir(), o);
  }();
  static const minilm::encoder three = [] {
    minilm::encoder_options o;
    o.n_threads = 3;
    return minilm::encoder::load(test_support::model_dir(), o);
  }();
  return n_threads == 1 ? one : n_threads == 2 ? two : three;
}

// The parity corpus and sentence-transformers' outputs for it (a sample in the runs per kernel:
// encoder_golden::sampling()).
const encoder_golden::corpus& corpus() {
  static const encoder_golden::corpus c = encoder_golden::read_corpus(data_dir() / "texts.txt", data_dir() / "minilm-l6.golden");
  return c;
}

const std::vector<std::string>& texts() { return corpus().texts; }

const encoder_golden::golden& golden() { return corpus().g; }

std::vector<std::string_view> views(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The lines of code in encoder.hpp's opening example, and in the block of this file between
// "example begin" and "example end", without comment markers, indentation or blank lines.
std::vector<std::string> example_lines(const fs::path& file, std::string_view begin, std::string_view end,
                                       std::string_view strip) {
  std::vector<std::string> lines;
  std::istringstream in(encoder_golden::read_bytes(file));
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (!inside) {
      inside = line.find(begin) != std::string::npos;
      continue;
    }
    if (line.find(end) != std::string::npos) break;
    if (line.rfind(strip, 0) == 0) line.erase(0, strip.size());
    line.erase(0, line.find_first_not_of(' ') == std::string::npos ? line.size() : line.find_first_not_of(' '));
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// The minilm::error that f() throws; fails the test when it throws none.
template <typename F>
minilm::error error_of(F&& f) {
  try {
    f();
  } catch (const minilm::error& e) {
    return e;
  }
  FAIL("no error");
  return minilm::error(minilm::errc::io, "");
}

minilm::errc code_of(auto&& f) { return error_of(f).code(); }

}  // namespace

TEST_CASE("the usage example in encoder.hpp runs, word for word") {
  const fs::path root = data_dir().parent_path().parent_path().parent_path();
  const auto in_header = example_lines(root / "include/minilm/encoder.hpp", "#include <minilm/encoder.hpp>",
                                       "// An encoder is immutable", "//");
  const auto in_test = example_lines(root / "tests/test_encoder.cpp", "// example " "begin", "// example " "end", "");
  REQUIRE(in_header.size() > 5);
  CHECK(in_header == in_test);

  // Run from a folder where the example's relative path leads to the real model.
  test_support::temp_dir tmp;
  fs::create_directories(tmp / "models");
  test_support::link_or_copy(test_support::model_dir(), tmp / "models" / "all-MiniLM-L6-v2");
  const fs::path cwd = fs::current_path();
  fs::current_path(tmp.path());
  struct restore {
    fs::path p;
    ~restore() { fs::current_path(p); }
  } restore_cwd{cwd};

  // example begin
  const minilm::encoder model = minilm::encoder::load("models/all-MiniLM-L6-v2");
  const std::vector<std::string> texts = {"A man is eating food.", "A man is eating a piece of bread."};
  const minilm::embeddings e = model.encode(texts);
  // e.size() == 2, e.dimension == 384; e[i] is text i's vector (unit length: the folder
  // asks for Normalize), e.values all of them, row-major.
  float s = minilm::cosine(e[0], e[1]);   // <minilm/similarity.hpp>

  std::vector<float> one = model.encode_one("How do I cook rice?");

  minilm::encoder_options options;   // each option defaults to what the folder says
  options.n_threads = 2;
  options.pooling = minilm::pooling_mode::cls;
  const minilm::encoder cls_model = minilm::encoder::load("models/all-MiniLM-L6-v2", options);
  // example end

  CHECK(e.size() == 2);
  CHECK(e.dimension == 384);
  CHECK(e.values.size() == 2 * 384);
  CHECK(s > 0.5f);
  CHECK(s < 1.0f);
  CHECK(one.size() == 384);
  CHECK(cls_model.pooling() == minilm::pooling_mode::cls);
  CHECK(cls_model.n_threads() == 2);
  CHECK(model.pooling() == minilm::pooling_mode::mean);
  CHECK(model.normalize());
  CHECK(model.max_seq_length() == 256);
  CHECK(model.dimension() == 384);
}

namespace {

// The real model on all the golden ids at once (several forward passes), on 2 threads: the
// parity figures, and the reference the determinism tests compare bits with.
struct parity_run {
  minilm::embeddings e;
  double seconds = 0;
};
const parity_run& parity() {
  static const parity_run run = [] {
    parity_run r;
    const auto start = std::chrono::steady_clock::now();
    r.e = real_model(2).encode_ids(golden().ids, golden().offsets);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
  }();
  return run;
}

}  // namespace

TEST_CASE("forward pass on the reference's token ids matches sentence-transformers") {
  const auto& g = golden();
  REQUIRE(g.n_texts == texts().size());
  REQUIRE(g.n_corpus >= 2000);
  const minilm::embeddings& e = parity().e;
  REQUIRE(e.size() == g.n_texts);
  const auto d = compare(e.values.data(), g.embeddings.data(), g.n_texts, g.dim);
  MESSAGE(std::setprecision(12) << "all-MiniLM-L6-v2 on " << g.n_texts << " texts (" << g.ids.size()
          << " tokens, ids from the reference): max |difference| per component " << d.max_abs << " (text "
          << d.worst_row << "), min cosine " << d.min_cosine << ", " << parity().seconds << " s on 2 threads");
  CHECK(d.max_abs <= max_abs_tolerance);
  CHECK(d.min_cosine >= min_cosine_tolerance);
}

TEST_CASE("texts give the reference's ids, and the same embeddings as those ids") {
  const auto& g = golden();
  // Every text's ids, from minilm's tokenizer.
  std::size_t id_mismatches = 0;
  const minilm::packed_batch p = real_model().tokenizer().encode_batch(views(texts()));
  REQUIRE(p.size() == g.n_texts);
  for (std::size_t i = 0; i < g.n_texts; ++i) {
    const auto want = g.ids_of(i);
    if (!std::equal(p.ids.begin() + static_cast<long>(p.offsets[i]), p.ids.begin() + static_cast<long>(p.offsets[i + 1]),
                    want.begin(), want.end())) {
      ++id_mismatches;
    }
  }
  CHECK(id_mismatches == 0);
  // Texts end to end, on a subset (the edge cases, every 10th line, the long texts).
  std::vector<std::string> subset;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < g.n_texts; ++i) {
    if (i < 16 || i % 10 == 0 || i + 12 >= g.n_texts) {
      subset.push_back(texts()[i]);
      index.push_back(i);
    }
  }
  const minilm::embeddings e = real_model(2).encode(subset);
  REQUIRE(e.size() == subset.size());
  std::vector<float> want;
  for (std::size_t i : index) want.insert(want.end(), g.embeddings.begin() + i * g.dim, g.embeddings.begin() + (i + 1) * g.dim);
  const auto d = compare(e.values.data(), want.data(), subset.size(), g.dim);
  MESSAGE(std::setprecision(12) << "all-MiniLM-L6-v2 on " << subset.size() << " texts tokenized by minilm: max |difference| "
          << d.max_abs << ", min cosine " << d.min_cosine);
  CHECK(d.max_abs <= max_abs_tolerance);
  CHECK(d.min_cosine >= min_cosine_tolerance);
}

TEST_CASE("per-token hidden states match sentence-transformers' token_embeddings") {
  const auto g = encoder_golden::read_golden(data_dir() / "minilm-l6-tokens.golden");
  REQUIRE(!g.token_states.empty());
  minilm::encode_options o;
  o.token_states = true;
  const minilm::embeddings e = real_model().encode_ids(g.ids, g.offsets, o);
  REQUIRE(e.token_states.size() == g.token_states.size());
  REQUIRE(e.token_offsets == g.offsets);
  const auto d = compare(e.token_states.data(), g.token_states.data(), g.ids.size(), g.dim);
  MESSAGE(std::setprecision(12) << "token states of " << g.n_texts << " texts (" << g.ids.size() << " tokens): max |difference| "
          << d.max_abs << " (largest |value| " << d.max_ref << "), min cosine " << d.min_cosine);
  CHECK(d.max_abs <= max_abs_tolerance);
  CHECK(d.min_cosine >= min_cosine_tolerance);
  const auto dp = compare(e.values.data(), g.embeddings.data(), g.n_texts, g.dim);
  CHECK(dp.max_abs <= max_abs_tolerance);
  CHECK(e.tokens(1).size() == (g.offsets[2] - g.offsets[1]) * g.dim);
}

TEST_CASE("an embedding is bitwise the same in any batch, at any position, on any number of threads") {
  // The reference: all 2,028 texts in one call on 2 threads (cut into several forward passes).
  // Compared with: texts of many lengths (so that every token count modulo the GEMM panels
  // occurs) alone, in other batches and orders, on 1, 2 and 3 threads.
  const minilm::embeddings& all = parity().e;
  std::vector<std::size_t> sample;
  for (std::size_t i = 0; i < 40; ++i) sample.push_back(i);
  for (std::size_t i = 40; i < texts().size(); i += 37) sample.push_back(i);
  for (std::size_t i = texts().size() - 3; i < texts().size(); ++i) sample.push_back(i);  // > 256 pieces
  std::vector<std::string_view> batch;
  for (std::size_t i : sample) batch.push_back(texts()[i]);

  SUBCASE("alone, on 1 thread") {
    std::size_t differ = 0;
    for (std::size_t k = 0; k < sample.size(); ++k) differ += !same_bits(real_model(1).encode_one(batch[k]), all[sample[k]]);
    CHECK(differ == 0);
  }
  SUBCASE("reversed, in one batch, on 1 and 3 threads") {
    std::vector<std::string_view> reversed(batch.rbegin(), batch.rend());
    for (std::size_t threads : {1, 3}) {
      const minilm::embeddings e = real_model(threads).encode(reversed);
      std::size_t differ = 0;
      for (std::size_t k = 0; k < sample.size(); ++k) differ += !same_bits(e[sample.size() - 1 - k], all[sample[k]]);
      CHECK_MESSAGE(differ == 0, threads << " threads");
    }
  }
  SUBCASE("shuffled into small batches of many sizes, with a reused workspace") {
    std::vector<std::size_t> order(sample.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937 rng(7);
    std::shuffle(order.begin(), order.end(), rng);
    minilm::workspace ws;
    std::size_t differ = 0, at = 0;
    for (std::size_t size = 1; at < order.size(); size = size % 13 + 2) {
      std::vector<std::string_view> part;
      for (std::size_t k = at; k < std::min(order.size(), at + size); ++k) part.push_back(batch[order[k]]);
      const minilm::embeddings e = real_model(at % 2 ? 2 : 3).encode(part, {.scratch = &ws});
      for (std::size_t k = 0; k < part.size(); ++k) differ += !same_bits(e[k], all[sample[order[at + k]]]);
      at += part.size();
    }
    CHECK(differ == 0);
  }
  SUBCASE("token states too") {
    minilm::encode_options o;
    o.token_states = true;
    const std::vector<std::string_view> two = {batch[5], batch[1]};
    const minilm::embeddings a = real_model(1).encode(two, o);
    const minilm::embeddings b = real_model(3).encode(std::span<const std::string_view>(&batch[1], 1), o);
    CHECK(same_bits(a.tokens(1), b.tokens(0)));
  }
}

TEST_CASE("an empty list gives an empty result") {
  const minilm::embeddings e = real_model().encode(std::vector<std::string>{});
  CHECK(e.size() == 0);
  CHECK(e.dimension == 384);
}

TEST_CASE("options override the model folder") {
  minilm::encoder_options o;
  o.normalize = false;
  o.pooling = minilm::pooling_mode::max;
  o.max_seq_length = 16;
  const minilm::encoder m = minilm::encoder::load(test_support::model_dir(), o);
  CHECK_FALSE(m.normalize());
  CHECK(m.pooling() == minilm::pooling_mode::max);
  CHECK(m.max_seq_length() == 16);
  minilm::encode_options with_tokens;
  with_tokens.token_states = true;
  const std::vector<std::string> t = {texts().back()};
  const minilm::embeddings e = m.encode(t, with_tokens);
  REQUIRE(e.token_offsets.size() == 2);
  CHECK(e.token_offsets[1] == 16);
  // Max pooling without normalization: each component is the largest over the tokens.
  for (std::size_t j = 0; j < e.dimension; ++j) {
    float max = e.token_states[j];
    for (std::size_t t2 = 1; t2 < 16; ++t2) max = std::max(max, e.token_states[t2 * e.dimension + j]);
    CHECK(e[0][j] == max);
  }
}

TEST_CASE("bad input is a minilm::error naming it") {
  const minilm::encoder& m = real_model();
  const std::vector<std::int32_t> ids = {101, 2023, 102};
  CHECK(code_of([&] { m.encode_ids(ids, std::vector<std::size_t>{0, 4}); }) == minilm::errc::invalid_argument);
  CHECK(code_of([&] { m.encode_ids(ids, std::vector<std::size_t>{1, 3}); }) == minilm::errc::invalid_argument);
  CHECK(code_of([&] { m.encode_ids(ids, std::vector<std::size_t>{0, 0, 3}); }) == minilm::errc::invalid_argument);
  CHECK(code_of([&] { m.encode_ids(ids, std::vector<std::size_t>{}); }) == minilm::errc::invalid_argument);
  const std::vector<std::int32_t> bad_id = {101, 30522, 102};
  try {
    m.encode_ids(bad_id, std::vector<std::size_t>{0, 3});
    FAIL("no error");
  } catch (const minilm::error& e) {
    CHECK(std::string(e.what()).find("30522") != std::string::npos);
  }
  const std::vector<std::int32_t> negative = {101, -1, 102};
  CHECK(code_of([&] { m.encode_ids(negative, std::vector<std::size_t>{0, 3}); }) == minilm::errc::invalid_argument);
  const std::vector<std::int32_t> too_long(513, 1000);
  CHECK(code_of([&] { m.encode_ids(too_long, std::vector<std::size_t>{0, 513}); }) == minilm::errc::invalid_argument);
  minilm::encoder_options o;
  o.max_seq_length = 513;
  CHECK(code_of([&] { minilm::encoder::load(test_support::model_dir(), o); }) == minilm::errc::invalid_argument);
  o.max_seq_length = 1;
  CHECK(code_of([&] { minilm::encoder::load(test_support::model_dir(), o); }) == minilm::errc::invalid_argument);
  CHECK(code_of([&] { minilm::encoder::load("/nonexistent/folder"); }) == minilm::errc::io);
  CHECK(code_of([&] { m.encode_one("bad \xff utf-8"); }) == minilm::errc::invalid_text);
}

TEST_CASE("a failure inside a batch names the text, in text_index() and in the message") {
  const minilm::encoder& m = real_model();
  const std::vector<std::string> bad_utf8 = {"fine", "also fine", "bad \xff byte", "fine again"};
  const minilm::error e = error_of([&] { m.encode(bad_utf8); });
  CHECK(e.code() == minilm::errc::invalid_text);
  CHECK(e.text_index() == 2u);
  CHECK(std::string(e.what()).starts_with("minilm: text 2: "));

  std::vector<std::int32_t> ids = {101, 2023, 102};
  ids.insert(ids.end(), 513, 1000);  // a second sequence longer than the 512 positions
  const minilm::error too_long = error_of([&] { m.encode_ids(ids, std::vector<std::size_t>{0, 3, 516}); });
  CHECK(too_long.code() == minilm::errc::invalid_argument);
  CHECK(too_long.text_index() == 1u);
  CHECK(std::string(too_long.what()).find("text 1: ") != std::string::npos);

  // Errors that are not about one text of a batch carry no index.
  CHECK_FALSE(error_of([&] { minilm::encoder::load("/nonexistent/folder"); }).text_index().has_value());
  CHECK_FALSE(error_of([&] { m.encode_one("bad \xff byte"); }).text_index().has_value());
}

TEST_CASE("encode() into the caller's memory gives the same bits, and checks the size") {
  const minilm::encoder& m = real_model();
  const std::vector<std::string_view> views = {"A man is eating food.", "", "How do I cook rice?"};
  const minilm::embeddings expected = m.encode(views);
  std::vector<float> out(views.size() * m.dimension(), -1.0f);
  m.encode(views, out);
  CHECK(out == expected.values);
  minilm::workspace ws;
  std::fill(out.begin(), out.end(), -1.0f);
  m.encode(views, out, {.scratch = &ws});
  CHECK(out == expected.values);

  std::vector<float> short_out(out.size() - 1);
  const minilm::error e = error_of([&] { m.encode(views, short_out); });
  CHECK(e.code() == minilm::errc::invalid_argument);
  CHECK(std::string(e.what()).find("3 texts of dimension 384 need 1152") != std::string::npos);
}

TEST_CASE("embeddings::tokens(i) checks i, and that token states were asked for") {
  const minilm::encoder& m = real_model();
  const std::vector<std::string> t = {"one text", "two texts"};
  const minilm::embeddings without = m.encode(t);
  CHECK_THROWS_AS(without.tokens(0), minilm::error);
  minilm::encode_options with_tokens;
  with_tokens.token_states = true;
  const minilm::embeddings with = m.encode(t, with_tokens);
  CHECK(with.tokens(1).size() == (with.token_offsets[2] - with.token_offsets[1]) * with.dimension);
  const minilm::error e = error_of([&] { (void)with.tokens(2); });
  CHECK(e.code() == minilm::errc::invalid_argument);
  CHECK(std::string(e.what()).find("text 2 of 2") != std::string::npos);
}

TEST_CASE("cosine() and similarity() are sentence-transformers' cos_sim") {
  // cos_sim(a, b) = normalize(a) . normalize(b), with normalize's guard against zero vectors.
  const std::vector<float> a = {3, 4, 0}, b = {4, 3, 0}, zero = {0, 0, 0};
  CHECK(minilm::cosine(a, b) == doctest::Approx(24.0 / 25.0).epsilon(1e-7));
  CHECK(minilm::cosine(a, a) == doctest::Approx(1.0).epsilon(1e-7));
  CHECK(minilm::cosine(a, zero) == 0.0f);
  CHECK_THROWS_AS(minilm::cosine(a, std::vector<float>{1, 2}), minilm::error);

  minilm::encoder_options raw;
  raw.normalize = false;  // so that the norms matter
  const minilm::encoder m = minilm::encoder::load(test_support::model_dir(), raw);
  const std::vector<std::string> t = {"A man is eating food.", "A man is eating a piece of bread.", "The sky is blue."};
  const minilm::embeddings e = m.encode(t);
  const minilm::embeddings q = m.encode(std::vector<std::string>{"Someone eats."});
  const minilm::similarity_matrix s = minilm::similarity(e, q);
  REQUIRE(s.rows == 3);
  REQUIRE(s.cols == 1);
  for (std::size_t i = 0; i < 3; ++i) {
    double dot = 0, na = 0, nb = 0;
    for (std::size_t j = 0; j < e.dimension; ++j) {
      dot += double(e[i][j]) * q[0][j];
      na += double(e[i][j]) * e[i][j];
      nb += double(q[0][j]) * q[0][j];
    }
    CHECK(s(i, 0) == doctest::Approx(dot / std::sqrt(na * nb)).epsilon(1e-6));
    CHECK(s(i, 0) == minilm::cosine(e[i], q[0]));
  }
  CHECK(s(0, 0) > s(2, 0));  // eating is closer to eating than to the sky
  const minilm::similarity_matrix self = minilm::similarity(e, e);
  for (std::size_t i = 0; i < 3; ++i) CHECK(self(i, i) == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("a tokenizer with more tokens than the embedding table is refused at load") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path());  // vocab_size 16, and 16 lines of vocab.txt
  CHECK(minilm::encoder::load(dir.path()).dimension() == 8);
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (int i = 5; i < 17; ++i) vocab += "w" + std::to_string(i) + "\n";
  test_support::write_file(dir / "vocab.txt", vocab);
  try {
    minilm::encoder::load(dir.path());
    FAIL("no error");
  } catch (const minilm::error& e) {
    CHECK(e.code() == minilm::errc::invalid_config);
    CHECK(std::string(e.what()).find("vocab_size (16) is smaller than the tokenizer's vocabulary (17 tokens)") !=
          std::string::npos);
  }
}

TEST_CASE("minilm embed writes the library's embeddings, one per input line") {
  const char* cli = std::getenv("MINILM_CLI");
  if (cli == nullptr || *cli == '\0') {
    MESSAGE("MINILM_CLI is not set (examples disabled): the command-line tool is not tested");
    return;
  }
  test_support::temp_dir tmp;
  // An empty line, a '\r' kept in its line, and a last line without '\n'.
  const std::vector<std::string> lines = {"first line", "", "a line with a carriage return\r", texts()[100],
                                          "no newline at the end"};
  std::string input;
  for (std::size_t i = 0; i < lines.size(); ++i) input += lines[i] + (i + 1 < lines.size() ? "\n" : "");
  test_support::write_file(tmp / "in.txt", input);
  const std::string model = test_support::model_dir().string();
  const minilm::embeddings want = real_model().encode(lines);

  SUBCASE("jsonl: floats that read back bit for bit") {
    // Started without a shell, which would quote differently on each platform.
    const auto r = malformed::run_cli({"embed", "--model", model, "--batch-size", "2", "--threads", "2"}, tmp / "in.txt");
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    test_support::write_file(tmp / "out.jsonl", r.out);
    const auto out = encoder_golden::read_texts(tmp / "out.jsonl");
    REQUIRE(out.size() == lines.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::vector<float> got;
      const char* p = out[i].c_str() + 1;
      for (char* end = nullptr;; p = end + 1) {
        got.push_back(std::strtof(p, &end));
        if (*end != ',') break;
      }
      CHECK(same_bits(got, want[i]));
    }
  }
  SUBCASE("npy: a float32 [n, dim] array") {
    const auto r = malformed::run_cli({"embed", "--model", model, "--format", "npy", "--batch-size", "3"}, tmp / "in.txt");
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string& npy = r.out;
    REQUIRE(npy.size() == 128 + want.values.size() * 4);
    CHECK(npy.substr(0, 6) == "\x93NUMPY");
    CHECK(npy.find("'shape': (5, 384)") != std::string::npos);
    CHECK(std::memcmp(npy.data() + 128, want.values.data(), want.values.size() * 4) == 0);
  }
}
