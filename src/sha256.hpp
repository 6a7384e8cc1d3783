// src/sha256.hpp: SHA-256 (FIPS 180-4), for the source file an int8 folder names.
//
//   detail::sha256 h;
//   h.update(bytes);               // any number of times
//   std::string hex = h.hex();     // 64 lowercase hex digits; the object is spent
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

class sha256 {
 public:
  sha256() noexcept;
  void update(std::span<const std::byte> bytes) noexcept;
  std::string hex() noexcept;

 private:
  void compress(const std::byte* block) noexcept;

  std::array<std::uint32_t, 8> state_;
  std::array<std::byte, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;  // bytes hashed so far
};

}  // namespace detail
MINILM_END_NAMESPACE
