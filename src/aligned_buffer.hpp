// src/aligned_buffer.hpp: float storage aligned to 64 bytes (a cache line, and an AVX-512
// vector) that only grows, for the forward pass's activations (bert.hpp) and the dense kernel's
// per-thread panels (gemm_kernel.inc). Reused from call to call, its pages are touched once.
#pragma once

#include <cstddef>
#include <cstdlib>
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
    const std::size_t bytes = (n * sizeof(float) + 63) / 64 * 64;  // aligned_alloc wants a multiple
    auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (p == nullptr) throw std::bad_alloc();
    data_.reset(p);
    capacity_ = bytes / sizeof(float);
  }

 private:
  struct free_deleter {
    void operator()(float* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<float[], free_deleter> data_;
  std::size_t capacity_ = 0;
};

}  // namespace detail
MINILM_END_NAMESPACE
