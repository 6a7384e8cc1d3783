// src/aligned_buffer.hpp: float storage aligned to 64 bytes (a cache line, and an AVX-512
// vector) that only grows, for the forward pass's activations (bert.hpp) and the dense kernel's
// per-thread panels (kernels/kernels.hpp). Reused from call to call, its pages are touched once.
#pragma once

#include <cstddef>
#include <memory>
#include <new>

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

class float_buffer {
 public:
  float* data() noexcept { return data_.get(); }
  const float* data() const noexcept { return data_.get(); }

  // Makes room for n floats; the contents are unspecified afterwards.
  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    const std::size_t bytes = (n * sizeof(float) + 63) / 64 * 64;  // whole cache lines
    // Aligned operator new rather than std::aligned_alloc, which MinGW's C runtime lacks.
    data_.reset(static_cast<float*>(::operator new(bytes, alignment)));
    capacity_ = bytes / sizeof(float);
  }

 private:
  static constexpr std::align_val_t alignment{64};
  struct aligned_deleter {
    void operator()(float* p) const noexcept { ::operator delete(p, alignment); }
  };
  std::unique_ptr<float[], aligned_deleter> data_;
  std::size_t capacity_ = 0;
};

}  // namespace detail
MINILM_END_NAMESPACE
