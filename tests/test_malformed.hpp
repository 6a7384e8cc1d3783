// tests/test_malformed.hpp: what the malformed-input tests share: the error an operation
// throws, and running the minilm command-line tool on a folder or on text.
#pragma once

#include <doctest/doctest.h>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

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
    // The library joins the folder and "1_Pooling" with the platform's separator ('\\' on Windows).
    const std::filesystem::path named = std::filesystem::path(c.named_file.empty() ? c.file : c.named_file).make_preferred();
    CHECK(std::string(e->what()).find((folder / named).string()) != std::string::npos);
    for (const auto& n : c.needles) CHECK(std::string(e->what()).find(n) != std::string::npos);
  }
}

// The command-line tool, when the build made it (tests/meson.build sets MINILM_CLI).
inline const char* cli_path() {
  const char* p = std::getenv("MINILM_CLI");
  return p != nullptr && *p != '\0' ? p : nullptr;
}

struct cli_result {
  int exit_code = -1;  // the exit status, or 128 + the signal that killed it (POSIX)
  std::string out, err;
};

// The file that reads as empty: the default stdin of run_cli().
#if defined(_WIN32)
inline const std::filesystem::path no_input = "NUL";
#else
inline const std::filesystem::path no_input = "/dev/null";
#endif

#if defined(_WIN32)
inline std::wstring widen(const std::string& utf8) {
  if (utf8.empty()) return {};
  const int n = ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

// One argument quoted as the C runtime splits a command line: backslashes are literal except
// before a double quote.
inline std::wstring quote_argument(const std::wstring& arg) {
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) return arg;
  std::wstring out = L"\"";
  std::size_t backslashes = 0;
  for (const wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    out.append(c == L'"' ? 2 * backslashes + 1 : backslashes, L'\\');
    backslashes = 0;
    out += c;
  }
  out.append(2 * backslashes, L'\\');
  return out + L"\"";
}

// A handle the child inherits as its stdin, stdout or stderr.
inline HANDLE inheritable_file(const std::filesystem::path& path, bool write) {
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  return ::CreateFileW(path.c_str(), write ? GENERIC_WRITE : GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                       &inherit, write ? CREATE_ALWAYS : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
}
#endif

// Runs the tool with `args`, stdin read from `input_file` (or nothing), and collects its exit
// status and output.
inline cli_result run_cli(const std::vector<std::string>& args, const std::filesystem::path& input_file = no_input) {
  test_support::temp_dir dir;
  const auto out_path = dir / "stdout", err_path = dir / "stderr";
  std::fflush(nullptr);
  cli_result r;
#if defined(_WIN32)
  std::wstring command_line = quote_argument(widen(cli_path()));
  for (const auto& a : args) command_line += L" " + quote_argument(widen(a));
  const HANDLE in = inheritable_file(input_file, false);
  const HANDLE out = inheritable_file(out_path, true);
  const HANDLE err = inheritable_file(err_path, true);
  REQUIRE(in != INVALID_HANDLE_VALUE);
  REQUIRE(out != INVALID_HANDLE_VALUE);
  REQUIRE(err != INVALID_HANDLE_VALUE);
  STARTUPINFOW startup{};
  startup.cb = sizeof(startup);
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = in;
  startup.hStdOutput = out;
  startup.hStdError = err;
  PROCESS_INFORMATION child{};
  const std::wstring program = widen(cli_path());
  const BOOL started = ::CreateProcessW(program.c_str(), command_line.data(), nullptr, nullptr, TRUE, 0, nullptr,
                                        nullptr, &startup, &child);
  const DWORD start_error = ::GetLastError();
  ::CloseHandle(in);
  ::CloseHandle(out);
  ::CloseHandle(err);
  REQUIRE_MESSAGE(started, "CreateProcessW failed with error " << start_error);
  ::WaitForSingleObject(child.hProcess, INFINITE);
  DWORD code = 0;
  REQUIRE(::GetExitCodeProcess(child.hProcess, &code));
  ::CloseHandle(child.hThread);
  ::CloseHandle(child.hProcess);
  r.exit_code = static_cast<int>(code);
#else
  std::vector<std::string> argv_strings = {cli_path()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
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
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
#endif
  r.out = read_whole(out_path);
  r.err = read_whole(err_path);
  return r;
}

}  // namespace malformed
