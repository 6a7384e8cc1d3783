// src/mapped_file.hpp: a whole file mapped read-only and shared.
//
// The mapping is PROT_READ + MAP_SHARED over a descriptor opened O_RDONLY | O_CLOEXEC:
// nothing is locked, written or copied, and every process that maps the same file
// shares the same page-cache pages. The descriptor is closed right after mapping, so
// a file replaced by rename() later keeps serving this mapping its old contents.
// (mapped_file_posix.cpp.) On Windows the same holds for a read-only view
// (mapped_file_win32.cpp): the file is opened for reading, not inheritable, sharing read and
// delete (others may open it, rename or replace it), and both handles are closed once mapped.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

class mapped_file {
 public:
  mapped_file() = default;
  // Throws minilm::error (errc::io) naming the file when it cannot be opened or mapped.
  explicit mapped_file(const std::filesystem::path& path);
  mapped_file(mapped_file&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  mapped_file& operator=(mapped_file&& other) noexcept {
    if (this != &other) {
      this->~mapped_file();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file();

  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

  // Asks the kernel to read the whole file ahead (madvise WILLNEED, PrefetchVirtualMemory);
  // never blocks.
  void prefetch() const noexcept;
  // Maps the pages of [p, p + n), inside the mapping, into the process now (Linux's
  // MADV_POPULATE_READ), so that reading them takes no page fault; cheap only when the page
  // cache holds them. Nothing is written or copied. Windows has no such call: a no-op there.
  void populate(const std::byte* p, std::size_t n) const noexcept;

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// Reads a whole (small) file through a read-only descriptor. Throws errc::io when it
// cannot be read and errc::invalid_argument when it is larger than max_bytes.
std::string read_file(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace detail
MINILM_END_NAMESPACE
