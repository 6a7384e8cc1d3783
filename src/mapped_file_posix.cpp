// src/mapped_file_posix.cpp: mapped_file and read_file over open(), mmap() and read().
#include "mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "minilm/error.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

std::string describe_errno(int err) { return std::strerror(err); }

// A descriptor that closes itself; the file is opened read-only and never inherited.
struct read_only_fd {
  int fd = -1;
  explicit read_only_fd(const std::filesystem::path& path) {
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      throw error(errc::io, "cannot open '" + path.string() + "' for reading: " + describe_errno(errno));
    }
  }
  ~read_only_fd() { ::close(fd); }
  read_only_fd(const read_only_fd&) = delete;
  read_only_fd& operator=(const read_only_fd&) = delete;

  std::size_t regular_file_size(const std::filesystem::path& path) const {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      throw error(errc::io, "cannot stat '" + path.string() + "': " + describe_errno(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      throw error(errc::io, "'" + path.string() + "' is not a regular file");
    }
    return static_cast<std::size_t>(st.st_size);
  }
};

}  // namespace

mapped_file::mapped_file(const std::filesystem::path& path) {
  read_only_fd file(path);
  size_ = file.regular_file_size(path);
  if (size_ == 0) {
    return;  // mmap cannot map nothing; an empty file is an empty view.
  }
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, file.fd, 0);
  if (p == MAP_FAILED) {
    throw error(errc::io, "cannot map '" + path.string() + "' (" + std::to_string(size_) +
                              " bytes): " + describe_errno(errno));
  }
  data_ = static_cast<const std::byte*>(p);
}

mapped_file::~mapped_file() {
  if (data_ != nullptr) {
    ::munmap(const_cast<std::byte*>(data_), size_);
  }
}

void mapped_file::prefetch() const noexcept {
  if (data_ != nullptr) {
    ::madvise(const_cast<std::byte*>(data_), size_, MADV_WILLNEED);
  }
}

void mapped_file::populate(const std::byte* p, std::size_t n) const noexcept {
#if defined(MADV_POPULATE_READ)
  if (data_ == nullptr || n == 0) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1);
  // Kernels before 5.14 answer EINVAL; the pages then fault in when read, as without the call.
  ::madvise(reinterpret_cast<void*>(begin), reinterpret_cast<std::uintptr_t>(p) + n - begin, MADV_POPULATE_READ);
#else
  (void)p;
  (void)n;
#endif
}

std::string read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  read_only_fd file(path);
  const std::size_t size = file.regular_file_size(path);
  if (size > max_bytes) {
    throw error(errc::invalid_argument, "'" + path.string() + "' is " + std::to_string(size) +
                                            " bytes, more than the " + std::to_string(max_bytes) +
                                            " bytes allowed for this file");
  }
  std::string out(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(file.fd, out.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw error(errc::io, "cannot read '" + path.string() + "': " + describe_errno(errno));
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

}  // namespace detail
MINILM_END_NAMESPACE
