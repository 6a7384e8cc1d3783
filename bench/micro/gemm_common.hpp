// What bench_gemm and bench_sgemm_peak share: operands laid out as the model's are, and the
// two ways of computing y = x * W^T + b that they compare.
#pragma once

#define EIGEN_DONT_PARALLELIZE  // threads are split by the callers, as in the encoder

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "gemm.hpp"

namespace bench_gemm {

using minilm::detail::thread_pool;

// One pool per thread count, made on first use and kept for the whole run.
inline thread_pool& pool_of(std::size_t threads) {
  static std::map<std::size_t, std::unique_ptr<thread_pool>> pools;
  auto& p = pools[threads];
  if (!p) p = std::make_unique<thread_pool>(threads);
  return *p;
}

// The operands of one dense layer: x (m, k), W (n, k), bias (n), y (m, n). W starts 24 bytes
// past a 64-byte boundary, as every weight matrix of all-MiniLM-L6-v2's model.safetensors does
// (only 8-byte alignment is guaranteed); x and y are 64-byte aligned, as the encoder's scratch.
struct operands {
  std::size_t m, n, k;
  std::vector<float> x_store, w_store, bias, y_store;
  float *x, *w, *y;

  operands(std::size_t m_, std::size_t n_, std::size_t k_) : m(m_), n(n_), k(k_) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    x_store.resize(m * k + 16);
    w_store.resize(n * k + 32);
    y_store.resize(m * n + 16);
    bias.resize(n);
    x = align(x_store.data(), 0);
    w = align(w_store.data(), 24);
    y = align(y_store.data(), 0);
    for (std::size_t i = 0; i < m * k; ++i) x[i] = dist(rng);
    for (std::size_t i = 0; i < n * k; ++i) w[i] = dist(rng) * 0.05f;
    for (float& b : bias) b = dist(rng);
    std::fill(y, y + m * n, 0.0f);  // touched once, outside the timing
  }

  static float* align(float* p, std::size_t offset) {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    a = (a + 63) / 64 * 64 + offset;
    return reinterpret_cast<float*>(a);
  }

  double flops() const { return 2.0 * double(m) * double(n) * double(k); }
};

inline void run_minilm(operands& o, thread_pool& pool, minilm::detail::gemm_isa isa, bool gelu = false) {
  minilm::detail::dense_args a;
  a.x = o.x;
  a.w = o.w;
  a.bias = o.bias.data();
  a.y = o.y;
  a.m = o.m;
  a.n = o.n;
  a.k = o.k;
  a.ldx = o.k;
  a.ldy = o.n;
  a.gelu = gelu;
  minilm::detail::dense(a, pool, isa);
}

// The operands of one int8 layer (dense_i8): x (m, k) F32, W (n, k) int8 one byte past a 64-byte
// boundary (int8 tensors in a file may sit at any offset), a scale and a bias per output, y.
struct operands_i8 {
  std::size_t m, n, k;
  std::vector<float> x_store, scale, bias, y_store;
  std::vector<std::int8_t> w_store;
  float *x, *y;
  std::int8_t* w;

  operands_i8(std::size_t m_, std::size_t n_, std::size_t k_) : m(m_), n(n_), k(k_) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::uniform_int_distribution<int> byte(-127, 127);
    x_store.resize(m * k + 16);
    w_store.resize(n * k + 128);
    y_store.resize(m * n + 16);
    scale.resize(n);
    bias.resize(n);
    x = operands::align(x_store.data(), 0);
    y = operands::align(y_store.data(), 0);
    auto a = reinterpret_cast<std::uintptr_t>(w_store.data());
    w = reinterpret_cast<std::int8_t*>((a + 63) / 64 * 64 + 1);
    for (std::size_t i = 0; i < m * k; ++i) x[i] = dist(rng);
    for (std::size_t i = 0; i < n * k; ++i) w[i] = static_cast<std::int8_t>(byte(rng));
    for (float& s : scale) s = 0.05f / 127.0f;
    for (float& b : bias) b = dist(rng);
    std::fill(y, y + m * n, 0.0f);
  }

  double ops() const { return 2.0 * double(m) * double(n) * double(k); }
};

inline void run_minilm_i8(operands_i8& o, thread_pool& pool, minilm::detail::i8_kernel kernel, bool gelu = false) {
  minilm::detail::dense_i8_args a;
  a.x = o.x;
  a.w = o.w;
  a.w_scale = o.scale.data();
  a.bias = o.bias.data();
  a.y = o.y;
  a.m = o.m;
  a.n = o.n;
  a.k = o.k;
  a.ldx = o.k;
  a.ldy = o.n;
  a.gelu = gelu;
  minilm::detail::dense_i8(a, pool, kernel);
}

// Eigen's GEMM as the encoder would call it: a row-major Map of W (n, k), the product with its
// transpose, then the bias; threads split the rows (large m) or the output features (small m),
// since Eigen threads its GEMM only under OpenMP.
inline void run_eigen(operands& o, thread_pool& pool) {
  using row_major = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using map = Eigen::Map<row_major, Eigen::Unaligned, Eigen::OuterStride<>>;
  using const_map = Eigen::Map<const row_major, Eigen::Unaligned, Eigen::OuterStride<>>;
  const auto m = Eigen::Index(o.m), n = Eigen::Index(o.n), k = Eigen::Index(o.k);
  const Eigen::Map<const Eigen::RowVectorXf> bias(o.bias.data(), n);
  const std::size_t threads = pool.size();
  const bool split_rows = o.m >= 64 * threads;
  const std::size_t n_tasks = threads == 1 ? 1 : split_rows ? 4 * threads : threads;
  pool.run(n_tasks, [&](std::size_t t, std::size_t) {
    Eigen::Index r0 = 0, r1 = m, c0 = 0, c1 = n;
    if (n_tasks > 1 && split_rows) {
      r0 = m * Eigen::Index(t) / Eigen::Index(n_tasks) / 8 * 8;
      r1 = t + 1 == n_tasks ? m : m * Eigen::Index(t + 1) / Eigen::Index(n_tasks) / 8 * 8;
    } else if (n_tasks > 1) {
      c0 = n * Eigen::Index(t) / Eigen::Index(n_tasks) / 16 * 16;
      c1 = t + 1 == n_tasks ? n : n * Eigen::Index(t + 1) / Eigen::Index(n_tasks) / 16 * 16;
    }
    const_map x(o.x + r0 * k, r1 - r0, k, Eigen::OuterStride<>(k));
    const_map w(o.w + c0 * k, c1 - c0, k, Eigen::OuterStride<>(k));
    map y(o.y + r0 * n + c0, r1 - r0, c1 - c0, Eigen::OuterStride<>(n));
    y.noalias() = x * w.transpose();
    y.rowwise() += bias.segment(c0, c1 - c0);
  });
}

}  // namespace bench_gemm
