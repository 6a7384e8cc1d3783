// src/mapped_file_win32.cpp: mapped_file and read_file over CreateFileW, a read-only file
// mapping and ReadFile.
#include "mapped_file.hpp"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "minilm/error.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

// The path as UTF-8, whatever the process's ANSI code page is.
std::string utf8(const std::filesystem::path& path) {
  const std::u8string s = path.u8string();
  return {s.begin(), s.end()};
}

// The system's text for a Win32 error code, in UTF-8, without its final period and line break.
std::string describe_error(DWORD err) {
  wchar_t* text = nullptr;
  const DWORD n = ::FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, err,
      MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string out;
  if (n > 0 && text != nullptr) {
    const int bytes = ::WideCharToMultiByte(CP_UTF8, 0, text, static_cast<int>(n), nullptr, 0, nullptr, nullptr);
    if (bytes > 0) {
      out.resize(static_cast<std::size_t>(bytes));
      ::WideCharToMultiByte(CP_UTF8, 0, text, static_cast<int>(n), out.data(), bytes, nullptr, nullptr);
    }
  }
  if (text != nullptr) ::LocalFree(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '.')) {
    out.pop_back();
  }
  return out.empty() ? "error " + std::to_string(err) : out;
}

// A handle that closes itself; the file is opened for reading only and never inherited (no
// security attributes). Others may read it, and rename, replace or delete it meanwhile.
struct read_only_handle {
  HANDLE h = INVALID_HANDLE_VALUE;
  explicit read_only_handle(const std::filesystem::path& path) {
    h = ::CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                      FILE_ATTRIBUTE_NORMAL, nullptr);
    if (h == INVALID_HANDLE_VALUE) {
      const DWORD err = ::GetLastError();
      // A folder cannot be opened without FILE_FLAG_BACKUP_SEMANTICS: say what POSIX says.
      const DWORD attributes = ::GetFileAttributesW(path.c_str());
      if (err == ERROR_ACCESS_DENIED && attributes != INVALID_FILE_ATTRIBUTES &&
          (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
        throw error(errc::io, "'" + utf8(path) + "' is not a regular file");
      }
      throw error(errc::io, "cannot open '" + utf8(path) + "' for reading: " + describe_error(err));
    }
  }
  ~read_only_handle() { ::CloseHandle(h); }
  read_only_handle(const read_only_handle&) = delete;
  read_only_handle& operator=(const read_only_handle&) = delete;

  std::size_t regular_file_size(const std::filesystem::path& path) const {
    if (::GetFileType(h) != FILE_TYPE_DISK) {  // a console, a pipe or NUL
      throw error(errc::io, "'" + utf8(path) + "' is not a regular file");
    }
    LARGE_INTEGER size{};
    if (!::GetFileSizeEx(h, &size)) {
      throw error(errc::io, "cannot stat '" + utf8(path) + "': " + describe_error(::GetLastError()));
    }
    if (static_cast<std::uint64_t>(size.QuadPart) > std::numeric_limits<std::size_t>::max()) {
      throw error(errc::io, "cannot map '" + utf8(path) + "': it is larger than the address space");
    }
    return static_cast<std::size_t>(size.QuadPart);
  }
};

// PrefetchVirtualMemory (Windows 8 and later), looked up at run time so that the library
// still loads where it is missing.
struct memory_range {
  void* address;
  std::size_t bytes;
};
using prefetch_fn = BOOL(WINAPI*)(HANDLE, ULONG_PTR, memory_range*, ULONG);

prefetch_fn find_prefetch() noexcept {
  const HMODULE kernel32 = ::GetModuleHandleW(L"kernel32.dll");
  if (kernel32 == nullptr) return nullptr;
  // Through void(*)(), which GCC accepts as any function pointer type without a warning.
  return reinterpret_cast<prefetch_fn>(
      reinterpret_cast<void (*)()>(::GetProcAddress(kernel32, "PrefetchVirtualMemory")));
}

}  // namespace

mapped_file::mapped_file(const std::filesystem::path& path) {
  read_only_handle file(path);
  size_ = file.regular_file_size(path);
  if (size_ == 0) {
    return;  // a mapping of nothing cannot be made; an empty file is an empty view.
  }
  // The view keeps the file open: both handles go at the end of this scope.
  const HANDLE mapping = ::CreateFileMappingW(file.h, nullptr, PAGE_READONLY, 0, 0, nullptr);
  if (mapping == nullptr) {
    throw error(errc::io, "cannot map '" + utf8(path) + "' (" + std::to_string(size_) +
                              " bytes): " + describe_error(::GetLastError()));
  }
  void* p = ::MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
  const DWORD err = ::GetLastError();
  ::CloseHandle(mapping);
  if (p == nullptr) {
    throw error(errc::io, "cannot map '" + utf8(path) + "' (" + std::to_string(size_) +
                              " bytes): " + describe_error(err));
  }
  data_ = static_cast<const std::byte*>(p);
}

mapped_file::~mapped_file() {
  if (data_ != nullptr) {
    ::UnmapViewOfFile(data_);
  }
}

void mapped_file::prefetch() const noexcept {
  static const prefetch_fn prefetch_virtual_memory = find_prefetch();
  if (data_ != nullptr && prefetch_virtual_memory != nullptr) {
    memory_range range{const_cast<std::byte*>(data_), size_};
    prefetch_virtual_memory(::GetCurrentProcess(), 1, &range, 0);
  }
}

void mapped_file::populate(const std::byte* p, std::size_t n) const noexcept {
  // The pages fault in when read: Windows cannot map them ahead without touching them.
  (void)p;
  (void)n;
}

std::string read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  read_only_handle file(path);
  const std::size_t size = file.regular_file_size(path);
  if (size > max_bytes) {
    throw error(errc::invalid_argument, "'" + utf8(path) + "' is " + std::to_string(size) +
                                            " bytes, more than the " + std::to_string(max_bytes) +
                                            " bytes allowed for this file");
  }
  std::string out(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const DWORD want = static_cast<DWORD>(std::min<std::size_t>(size - done, 1u << 30));
    DWORD n = 0;
    if (!::ReadFile(file.h, out.data() + done, want, &n, nullptr)) {
      throw error(errc::io, "cannot read '" + utf8(path) + "': " + describe_error(::GetLastError()));
    }
    if (n == 0) break;  // the file shrank while we read it
    done += n;
  }
  out.resize(done);
  return out;
}

}  // namespace detail
MINILM_END_NAMESPACE
