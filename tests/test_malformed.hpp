// tests/test_malformed.hpp: what the malformed-input tests share: the error an operation
// throws, and running the minilm command-line tool on a folder or on text.
#pragma once

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <minilm/error.hpp>

#include "support.hpp"

namespace malformed {

inline std::string read_whole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The minilm::error that `f` throws; fails the test when it returns or throws anything else.
inline std::optional<minilm::error> error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const minilm::error& e) {
    return e;
  } catch (const std::exception& e) {
    FAIL("threw something other than minilm::error: " << e.what());
    return std::nullopt;
  }
  FAIL("no error");
  return std::nullopt;
}

// Checks the code of an error and that its message holds every needle.
inline void check_error(const std::optional<minilm::error>& e, minilm::errc code,
                        std::initializer_list<std::string> needles) {
  REQUIRE(e.has_value());
  INFO("message: " << std::string(e->what()));
  CHECK(minilm::errc_name(e->code()) == std::string(minilm::errc_name(code)));
  CHECK(std::string(e->what()).rfind("minilm: ", 0) == 0);
  for (const auto& n : needles) CHECK(std::string(e->what()).find(n) != std::string::npos);
}

// One broken file in an otherwise valid tiny model folder, and what loading it must say.
struct folder_case {
  std::string what;
  std::string file;  // relative to the folder: config.json, vocab.txt, 1_Pooling/config.json, ...
  std::string contents;
  minilm::errc code;
  std::vector<std::string> needles;
  std::string named_file = "";  // the file the message names, when not `file`
};

// For each case: a fresh tiny folder with `file` replaced, then `load(folder)` must throw the
// case's error, naming the file and holding every needle.
inline void check_folder_cases(const std::vector<folder_case>& cases,
                               const std::function<void(const std::filesystem::path&)>& load) {
  test_support::temp_dir dir;
  int i = 0;
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const std::filesystem::path folder = dir / std::to_string(i++);
    test_support::write_tiny_bert_folder(folder);
    test_support::write_file(folder / c.file, c.contents);
    const auto e = error_of([&] { load(folder); });
    REQUIRE(e.has_value());
    INFO("message: " << std::string(e->what()));
    CHECK(minilm::errc_name(e->code()) == std::string(minilm::errc_name(c.code)));
    CHECK(std::string(e->what()).find((folder / (c.named_file.empty() ? c.file : c.named_file)).string()) != std::string::npos);
    for (const auto& n : c.needles) CHECK(std::string(e->what()).find(n) != std::string::npos);
  }
}

// The command-line tool, when the build made it (tests/meson.build sets MINILM_CLI).
inline const char* cli_path() {
  const char* p = std::getenv("MINILM_CLI");
  return p != nullptr && *p != '\0' ? p : nullptr;
}

struct cli_result {
  int exit_code = -1;  // the exit status, or 128 + the signal that killed it
  std::string out, err;
};

// Runs the tool with `args`, stdin read from `input_file` (or /dev/null), and collects its
// exit status and output.
inline cli_result run_cli(const std::vector<std::string>& args, const std::filesystem::path& input_file = "/dev/null") {
  test_support::temp_dir dir;
  const auto out_path = dir / "stdout", err_path = dir / "stderr";
  std::vector<std::string> argv_strings = {cli_path()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int in = ::open(input_file.c_str(), O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  cli_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_whole(out_path);
  r.err = read_whole(err_path);
  return r;
}

}  // namespace malformed
