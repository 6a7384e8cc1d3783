// tests/fuzz/fuzz_support.hpp: what the libFuzzer targets share.
//
// Every target feeds its input to one entry point of the library and accepts exactly two
// outcomes: a result, or a minilm::error. Anything else (another exception, a crash, a
// sanitizer report, an allocation beyond -rss_limit_mb or -malloc_limit_mb, a hang
// beyond -timeout) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include <minilm/error.hpp>

#include "support.hpp"

namespace fuzz {

inline std::span<const std::byte> as_bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A broken invariant that no sanitizer would see: report it and crash, so that libFuzzer
// saves the input.
[[noreturn]] inline void invariant_broken(const char* what) {
  std::fprintf(stderr, "fuzz: invariant broken: %s\n", what);
  std::abort();
}
#define FUZZ_CHECK(cond) ((cond) ? void(0) : ::fuzz::invariant_broken(#cond))

// A complete tiny model (test_support::write_tiny_bert_folder) in a folder under the temp
// dir that lives as long as the process; targets overwrite one file of it per input.
// tools/ci/fuzz.sh points TMPDIR at the build folder, so nothing is left behind elsewhere
// when a crash skips the destructor.
inline const std::filesystem::path& scratch_model_folder() {
  static const test_support::temp_dir dir;
  static const std::filesystem::path path = [] {
    const std::filesystem::path p = dir.path() / "model";
    test_support::write_tiny_bert_folder(p);
    return p;
  }();
  return path;
}

}  // namespace fuzz
