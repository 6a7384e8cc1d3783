// Hostile text: invalid UTF-8, NUL bytes, a 10 MB line, empty and whitespace-only lines,
// 100,000 lines. Each has a documented outcome (minilm/tokenizer.hpp, examples/cli), takes
// memory in proportion to the text, and never crashes.
#include "test_malformed.hpp"

#if !defined(_WIN32)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <chrono>
#include <cmath>

#include <minilm/encoder.hpp>
#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

using minilm::errc;
using malformed::check_error;
using malformed::error_of;

namespace fs = std::filesystem;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;  // the sanitizers' own memory makes RSS meaningless
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

namespace {

const minilm::model_folder& real_folder() {
  static const minilm::model_folder folder = minilm::read_model_folder(test_support::model_dir());
  return folder;
}

const minilm::tokenizer& real_tokenizer() {
  static const minilm::tokenizer tok = minilm::tokenizer::load(real_folder());
  return tok;
}

#if !defined(_WIN32)
// Runs `work` in a child process and returns how much its peak resident memory grew, in
// bytes, over what it held before (the parent's state, inherited through fork). Windows has
// no fork(), and its peak working set cannot be reset: not measured there.
std::size_t peak_memory_growth(const std::function<void()>& work) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      work();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      code = 1;
    }
    ::_exit(code);
  }
  struct rusage before {};
  ::getrusage(RUSAGE_SELF, &before);
  int status = 0;
  struct rusage usage {};
  REQUIRE(::wait4(pid, &status, 0, &usage) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const long grown_kb = usage.ru_maxrss - before.ru_maxrss;
  return grown_kb > 0 ? static_cast<std::size_t>(grown_kb) * 1024 : 0;
}
#endif

std::vector<std::int32_t> ids_of(std::string_view text) { return real_tokenizer().encode(text).ids; }

}  // namespace

TEST_CASE("invalid UTF-8 is refused with its byte offset, or replaced on request") {
  for (const auto& [bad, at] : std::vector<std::pair<std::string, std::size_t>>{
           {"a\xff" "b", 1}, {"caf\xc3", 3}, {"\xed\xa0\x80 surrogate", 0}, {"ok \xc0\x80 overlong", 3},
           {"\xf4\x90\x80\x80 beyond U+10FFFF", 0}, {"hello \x80", 6}}) {
    // Copies: a lambda cannot capture a structured binding before C++20's P1091 (clang 16).
    const std::string text = bad;
    const std::size_t offset = at;
    CAPTURE(text);
    check_error(error_of([&] { real_tokenizer().encode(text); }), errc::invalid_text,
                {"not valid UTF-8 at byte offset " + std::to_string(offset)});
  }
  minilm::tokenizer_options replace;
  replace.on_invalid_utf8 = minilm::invalid_utf8::replace;
  const auto lenient = minilm::tokenizer::load(real_folder(), replace);
  // U+FFFD is dropped by BertNormalizer, so the invalid byte disappears.
  CHECK(lenient.encode("a\xff" "b").ids == ids_of("ab"));
  CHECK(lenient.encode("hello \x80 world").ids == ids_of("hello world"));
}

TEST_CASE("invalid UTF-8 in a batch names the text and its byte offset") {
  const std::vector<std::string_view> texts = {"ok", "also ok", "bad \xff byte"};
  for (const bool padded : {false, true}) {
    CAPTURE(padded);
    const auto e = error_of([&] {
      if (padded) {
        real_tokenizer().encode_batch_padded(texts);
      } else {
        real_tokenizer().encode_batch(texts);
      }
    });
    check_error(e, errc::invalid_text, {"text 2: ", "byte offset 4"});
    CHECK(e->text_index() == std::optional<std::size_t>(2));
  }
  // A single text has no index.
  CHECK_FALSE(error_of([&] { real_tokenizer().encode(texts[2]); })->text_index().has_value());
}

TEST_CASE("NUL and other control bytes are dropped like any control character") {
  CHECK(ids_of(std::string("hello\0world", 11)) == ids_of("helloworld"));
  CHECK(ids_of(std::string("\0\0\0", 3)) == ids_of(""));
  CHECK(ids_of("bell\x07 and escape\x1b") == ids_of("bell and escape"));
  CHECK(ids_of("tab\tnewline\ncarriage\rreturn") == ids_of("tab newline carriage return"));
}

TEST_CASE("an empty or whitespace-only text is [CLS] [SEP]") {
  const std::vector<std::int32_t> empty = {101, 102};
  CHECK(ids_of("") == empty);
  CHECK(ids_of(" ") == empty);
  CHECK(ids_of(" \t\r\n  ") == empty);
  CHECK(ids_of("\xc2\xa0\xe3\x80\x80\xe2\x80\xa8") == empty);  // NBSP, ideographic space, line separator
}

TEST_CASE("a 10 MB line is truncated to max_seq_length in time and memory proportional to it") {
  std::string line;
  line.reserve(10u << 20);
  while (line.size() < (10u << 20)) line += "the quick brown fox jumps over the lazy dog 12345 ";
  const auto start = std::chrono::steady_clock::now();
  const minilm::encoding e = real_tokenizer().encode(line);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(e.ids.size() == 256);
  CHECK(e.ids.front() == 101);
  CHECK(e.ids.back() == 102);
  CHECK(e.n_truncated > 2'000'000 - 254);
  MESSAGE("10 MB line: " << seconds << " s");
  CHECK(seconds < 60);

#if defined(_WIN32)
  MESSAGE("10 MB line: peak memory not measured (no fork() on Windows)");
#else
  const std::size_t growth = peak_memory_growth([&] { real_tokenizer().encode(line); });
  MESSAGE("10 MB line: peak memory grew by " << growth / (1 << 20) << " MB");
  if (!sanitized) CHECK(growth < 40 * line.size());
#endif

  // One 10 MB word: [UNK] (max_input_chars_per_word is 100).
  const std::string word(10u << 20, 'x');
  CHECK(ids_of(word) == std::vector<std::int32_t>{101, 100, 102});
}

TEST_CASE("100,000 lines tokenize as a batch equal to the lines one by one") {
  std::vector<std::string> storage;
  storage.reserve(100'000);
  for (int i = 0; i < 100'000; ++i) {
    storage.push_back(i % 7 == 0 ? "" : "line " + std::to_string(i) + (i % 3 ? " with some words" : ", short"));
  }
  const std::vector<std::string_view> lines(storage.begin(), storage.end());
  const minilm::packed_batch batch = real_tokenizer().encode_batch(lines);
  REQUIRE(batch.size() == lines.size());
  for (std::size_t i = 0; i < lines.size(); i += 997) {
    CAPTURE(i);
    const auto one = ids_of(lines[i]);
    REQUIRE(batch.length(i) == one.size());
    CHECK(std::equal(one.begin(), one.end(), batch.ids.begin() + static_cast<std::ptrdiff_t>(batch.offsets[i])));
  }
}

TEST_CASE("the encoder embeds hostile lines as finite unit vectors, and refuses invalid UTF-8") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path());
  const auto model = minilm::encoder::load(dir.path());
  const std::string big(1u << 20, 'a');
  const std::vector<std::string> texts = {"", "   ", std::string("nul\0byte", 8), big, "\xe4\xb8\xad\xe6\x96\x87"};
  const minilm::embeddings e = model.encode(texts);
  REQUIRE(e.size() == texts.size());
  for (std::size_t i = 0; i < e.size(); ++i) {
    CAPTURE(i);
    double norm = 0;
    for (const float v : e[i]) {
      CHECK(std::isfinite(v));
      norm += double{v} * v;
    }
    CHECK(norm == doctest::Approx(1.0).epsilon(1e-5));
  }
  check_error(error_of([&] { model.encode_one("bad \xff byte"); }), errc::invalid_text, {"byte offset 4"});
}

TEST_CASE("a sequence longer than the forward pass takes is refused before anything is allocated") {
  // A model whose positions allow it; its attention scores alone would be 1 GiB per thread.
  test_support::temp_dir dir;
  test_support::tiny_bert shape;
  shape.positions = 20000;
  test_support::write_tiny_bert_folder(dir.path(), shape);
  const auto model = minilm::encoder::load(dir.path());
  const std::size_t length = 16385;
  std::vector<std::int32_t> ids(length, 5);
  const std::vector<std::size_t> offsets = {0, length};
  check_error(error_of([&] { model.encode_ids(ids, offsets); }), errc::invalid_argument,
              {"sequence 0 has 16385 tokens, more than the 16384 the forward pass takes"});
  ids.resize(300);
  const std::vector<std::size_t> short_offsets = {0, 300};
  CHECK(model.encode_ids(ids, short_offsets).size() == 1);
}

TEST_CASE("the command-line tool: hostile stdin gives documented output or a message and exit code 1") {
  if (malformed::cli_path() == nullptr) {
    MESSAGE("skipped: the minilm tool was not built (-Dexamples=disabled)");
    return;
  }
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir / "tiny");
  const std::string model = test_support::model_dir().string();
  SUBCASE("invalid UTF-8 on line 3") {
    test_support::write_file(dir / "in", "fine\nalso fine\nnot \xff fine\nnever read\n");
    const auto r = malformed::run_cli({"tokenize", "--model", model}, dir / "in");
    CHECK(r.exit_code == 1);
    CHECK(r.out == "[101,2986,102]\n[101,2036,2986,102]\n");
    CHECK(r.err == "minilm: stdin line 3: text is not valid UTF-8 at byte offset 4\n");
    const auto lenient = malformed::run_cli({"tokenize", "--model", model, "--replace-invalid"}, dir / "in");
    CHECK(lenient.exit_code == 0);
  }
  SUBCASE("invalid UTF-8 on line 3 through embed: the batch before it, then the line") {
    test_support::write_file(dir / "in", "fine\nalso fine\nnot \xff fine\nnever read\n");
    const auto r = malformed::run_cli({"embed", "--model", (dir / "tiny").string(), "--batch-size", "2"}, dir / "in");
    CHECK(r.exit_code == 1);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 2);
    // The tool names the line from the library's error::text_index().
    CHECK(r.err == "minilm: stdin line 3: text is not valid UTF-8 at byte offset 4\n");
  }
  SUBCASE("NUL bytes, empty and whitespace-only lines") {
    test_support::write_file(dir / "in", std::string("a\0b\n\n \t \n", 9));
    const auto r = malformed::run_cli({"tokenize", "--model", model}, dir / "in");
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "[101,11113,102]\n[101,102]\n[101,102]\n");
  }
  SUBCASE("100,000 lines through embed") {
    std::string in;
    for (int i = 0; i < 100'000; ++i) in += (i % 5 ? "a5 b6 c7\n" : "\n");
    test_support::write_file(dir / "in", in);
    const auto r = malformed::run_cli({"embed", "--model", (dir / "tiny").string(), "--batch-size", "1000"}, dir / "in");
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 100'000);
  }
}
