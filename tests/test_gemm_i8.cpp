// The int8 dense kernel (src/gemm.hpp, dense_i8): the quantized product against an exact
// reference of the same arithmetic, every kernel against the scalar one bit for bit, the
// bitwise promises (a row's result does not depend on the batch, its position or the thread
// count), the byte values that would saturate a 16-bit sum, and, loosely, the F32 product it
// stands for.
//
// The kernels this processor lacks run in the emulated build over SIMDe (the test
// 'gemm_emulated'; tests/test_gemm.cpp gives the command).
#include <doctest/doctest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gemm.hpp"

using minilm::detail::dense_i8_args;
using minilm::detail::i8_kernel;
using minilm::detail::thread_pool;

namespace {

constexpr i8_kernel all_kernels[] = {i8_kernel::scalar,      i8_kernel::avx2, i8_kernel::avx_vnni,
                                     i8_kernel::avx512_vnni, i8_kernel::neon, i8_kernel::neon_dot};

std::vector<i8_kernel> runnable_kernels() {
  std::vector<i8_kernel> kernels;
  for (i8_kernel k : all_kernels) {
    if (minilm::detail::i8_kernel_supported(k)) kernels.push_back(k);
  }
  return kernels;
}

std::string name(i8_kernel k) { return minilm::detail::i8_kernel_name(k); }

// The GELU family a kernel shares with an F32 instruction set: kernels of one family give the
// same bits with GELU too.
int family(i8_kernel k) {
  switch (k) {
    case i8_kernel::avx2:
    case i8_kernel::avx_vnni:
      return 1;
    case i8_kernel::avx512_vnni:
      return 2;
    case i8_kernel::neon:
    case i8_kernel::neon_dot:
      return 3;
    default:
      return 0;
  }
}

bool same_bits(const float* a, const float* b, std::size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

double gelu_exact(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }

// A problem with its own storage: x (m, k) row stride ldx, W (n, k) int8 with row stride ldw
// starting `w_offset` bytes into its storage (any alignment), y (m, n) row stride ldy, optional
// bias and residual (stride ldr).
struct problem {
  std::size_t m, n, k, ldx, ldw, ldy, ldr, w_offset;
  bool bias, residual, gelu;
  std::vector<float> x, scale, b, r, y;
  std::vector<std::int8_t> w_store;

  problem(std::size_t m_, std::size_t n_, std::size_t k_, bool bias_, bool residual_, bool gelu_, unsigned seed,
          std::size_t w_pad = 0, std::size_t w_offset_ = 0)
      : m(m_), n(n_), k(k_), ldx(k_ + 3), ldw(k_ + w_pad), ldy(n_ + 5), ldr(n_ + 1), w_offset(w_offset_),
        bias(bias_), residual(residual_), gelu(gelu_) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    x.resize(m * ldx);
    for (float& f : x) f = unit(rng) * 3.0f;
    w_store.resize(w_offset + n * ldw);
    std::uniform_int_distribution<int> byte(-128, 127);
    for (auto& v : w_store) v = static_cast<std::int8_t>(byte(rng));
    scale.resize(n);
    for (float& s : scale) s = (1.0f + unit(rng)) * 0.002f + 1e-4f;
    b.resize(n);
    for (float& f : b) f = unit(rng);
    r.resize(m * ldr);
    for (float& f : r) f = unit(rng);
    y.assign(m * ldy, -7.0f);
  }

  const std::int8_t* w() const { return w_store.data() + w_offset; }
  std::int8_t& w_at(std::size_t j, std::size_t p) { return w_store[w_offset + j * ldw + p]; }

  dense_i8_args args() {
    dense_i8_args a;
    a.x = x.data();
    a.w = w();
    a.w_scale = scale.data();
    a.bias = bias ? b.data() : nullptr;
    a.residual = residual ? r.data() : nullptr;
    a.y = y.data();
    a.m = m;
    a.n = n;
    a.k = k;
    a.ldx = ldx;
    a.ldw = ldw;
    a.ldr = ldr;
    a.ldy = ldy;
    a.gelu = gelu;
    return a;
  }

  void run(i8_kernel kernel, thread_pool& pool) {
    std::fill(y.begin(), y.end(), -7.0f);
    minilm::detail::dense_i8(args(), pool, kernel);
  }
};

// Row i of x quantized as gemm.hpp says, in double where that is exact (|x| * inv is rounded to
// float first, as the kernels do): q and sx.
void quantize_reference(const float* x, std::size_t k, std::vector<int>& q, float& sx) {
  float amax = 0.0f;
  for (std::size_t p = 0; p < k; ++p) amax = std::max(amax, std::fabs(x[p]));
  q.assign(k, 0);
  sx = 0.0f;
  if (amax == 0.0f) return;
  float inv = 127.0f / amax;
  if (!(inv <= FLT_MAX)) inv = FLT_MAX;
  sx = amax / 127.0f;
  for (std::size_t p = 0; p < k; ++p) {
    const float v = x[p] * inv;
    // Round half to even, spelled out.
    double f = std::floor(double(v));
    const double frac = double(v) - f;
    if (frac > 0.5 || (frac == 0.5 && std::fmod(f, 2.0) != 0.0)) f += 1.0;
    q[p] = static_cast<int>(std::clamp(f, -127.0, 127.0));
  }
}

// Checks y against the quantized arithmetic: acc in 64-bit integers (exact), then the epilogue
// in double. The kernels round float(acc), sx * scale, the product and each addition once (u =
// 2^-24 each); GELU adds the rational erf's error (< 1e-6 relative to |v| / 2) in the SIMD
// kernels. The bound is twice that, and the worst error / bound is returned.
double check_quantized(const problem& pr, const std::string& what) {
  constexpr double u = 1.0 / (1 << 24);
  double worst = 0;
  std::vector<int> q;
  for (std::size_t i = 0; i < pr.m; ++i) {
    float sx;
    quantize_reference(pr.x.data() + i * pr.ldx, pr.k, q, sx);
    for (std::size_t j = 0; j < pr.n; ++j) {
      std::int64_t acc = 0;
      for (std::size_t p = 0; p < pr.k; ++p) acc += std::int64_t{q[p]} * pr.w()[j * pr.ldw + p];
      double v = double(acc) * double(sx) * double(pr.scale[j]);
      double tol = 3 * u * std::abs(v);
      if (pr.bias) {
        v += pr.b[j];
        tol += u * std::abs(v);
      }
      if (pr.gelu) {
        tol = tol * 1.2 + 2e-6 * std::abs(v) + 4 * u * std::abs(v);
        v = gelu_exact(v);
      }
      if (pr.residual) {
        v += pr.r[i * pr.ldr + j];
        tol += 2 * u * std::abs(v);
      }
      tol = 2 * tol + 1e-30;
      const double got = pr.y[i * pr.ldy + j];
      const double err = std::abs(got - v);
      worst = std::max(worst, err / tol);
      if (!(err <= tol)) {
        FAIL_CHECK(what << ": y[" << i << ", " << j << "] = " << got << ", expected " << v << " (error " << err << " > "
                        << tol << ")");
        return worst;
      }
    }
    // The padding between rows of y is never written.
    for (std::size_t j = pr.n; j < pr.ldy; ++j) REQUIRE(pr.y[i * pr.ldy + j] == -7.0f);
  }
  return worst;
}

std::string describe(i8_kernel kernel, const problem& p) {
  return name(kernel) + " m=" + std::to_string(p.m) + " n=" + std::to_string(p.n) + " k=" + std::to_string(p.k) +
         " ldw=" + std::to_string(p.ldw) + " w+" + std::to_string(p.w_offset) + (p.bias ? " +bias" : "") +
         (p.gelu ? " gelu" : "") + (p.residual ? " +residual" : "");
}

}  // namespace

TEST_CASE("dense_i8: the kernels this build and processor run") {
  std::string names;
  for (i8_kernel k : runnable_kernels()) names += " " + name(k);
  MESSAGE("runnable:" << names << "; best: " << name(minilm::detail::best_i8_kernel()));
  CHECK(minilm::detail::i8_kernel_supported(i8_kernel::scalar));
  CHECK(minilm::detail::i8_kernel_supported(minilm::detail::best_i8_kernel()));
}

TEST_CASE("dense_i8: odd shapes against the exact quantized arithmetic, and every kernel bitwise the scalar one") {
  thread_pool one(1), three(3);
  struct shape {
    std::size_t n, k;
  };
  // k off every group and vector width (1, 3, 4 bytes; 16, 32, 64 bytes), n off every tile.
  const shape shapes[] = {{1, 1}, {3, 5}, {19, 37}, {7, 17}, {45, 100}, {33, 130}, {29, 67}, {384, 384}};
  unsigned seed = 1;
  double worst = 0;
  for (std::size_t m : {1, 5, 13, 40, 300}) {
    for (const shape& s : shapes) {
      if (s.n * s.k > 20000 && m > 13) continue;  // keep the reference quick
      const bool bias = seed % 2 == 0, residual = seed % 3 == 0, gelu = seed % 4 < 2;
      // W at every alignment mod 4, with rows of odd strides.
      problem p(m, s.n, s.k, bias, residual, gelu, seed, seed % 3, seed % 4);
      ++seed;
      p.run(i8_kernel::scalar, one);
      worst = std::max(worst, check_quantized(p, describe(i8_kernel::scalar, p)));
      const std::vector<float> reference = p.y;
      for (i8_kernel kernel : runnable_kernels()) {
        if (kernel == i8_kernel::scalar) continue;
        p.run(kernel, seed % 2 ? one : three);
        worst = std::max(worst, check_quantized(p, describe(kernel, p)));
        if (!gelu) {
          INFO(describe(kernel, p));
          CHECK(same_bits(p.y.data(), reference.data(), p.y.size()));
        }
      }
    }
  }
  MESSAGE("worst error / bound over all shapes and kernels: " << worst);
}

TEST_CASE("dense_i8: with GELU, kernels of one family give the same bits") {
  thread_pool pool(2);
  for (std::size_t k : {37, 384}) {
    problem p(37, 45, k, true, true, true, 11);
    std::vector<float> first[4];
    for (i8_kernel kernel : runnable_kernels()) {
      p.run(kernel, pool);
      std::vector<float>& f = first[family(kernel)];
      if (f.empty()) {
        f = p.y;
      } else {
        INFO(name(kernel) << " k=" << k);
        CHECK(same_bits(p.y.data(), f.data(), f.size()));
      }
    }
  }
}

TEST_CASE("dense_i8: bytes -128 and 127 everywhere, against rows of extreme values, never saturate") {
  // Every product at its largest (127 * -128, -127 * -128, 127 * 127): a 16-bit sum of two of
  // them would overflow, and a kernel that negates W would turn -128 into -128.
  thread_pool pool(2);
  const std::size_t m = 21, n = 23, k = 301;
  for (int pattern = 0; pattern < 4; ++pattern) {
    problem p(m, n, k, false, false, false, 3, 1, 1);
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t q = 0; q < k; ++q) {
        const bool low = pattern == 0 ? true : pattern == 1 ? false : pattern == 2 ? (q + j) % 2 == 0 : j % 3 == 0;
        p.w_at(j, q) = low ? std::int8_t{-128} : std::int8_t{127};
      }
    }
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t q = 0; q < k; ++q) {
        float& v = p.x[i * p.ldx + q];
        switch (i % 5) {
          case 0: v = 1e30f; break;                             // every q = 127
          case 1: v = -1e30f; break;                            // every q = -127
          case 2: v = q % 2 ? 2.5f : -2.5f; break;              // +-127 alternating
          case 3: v = (q % 7 == 0) ? -3e-3f : 3e-3f; break;     // mostly 127, some -127
          default: v = float(int(q % 255) - 127); break;        // every value of q
        }
      }
    }
    for (std::size_t j = 0; j < n; ++j) p.scale[j] = 1.0f;
    for (i8_kernel kernel : runnable_kernels()) {
      p.run(kernel, pool);
      check_quantized(p, describe(kernel, p) + " pattern " + std::to_string(pattern));
    }
    // Row 0 (q = 127) against all -128: exactly 127 * -128 * k, times sx = 1e30 / 127.
    if (pattern == 0) CHECK(p.y[0] == float(-128.0 * 301 * 127) * (1e30f / 127.0f));
  }
}

TEST_CASE("dense_i8: zero rows, tiny rows, a row of one value, and halves that round to even") {
  thread_pool pool(1);
  problem p(6, 9, 70, true, true, false, 5);
  std::fill_n(p.x.data() + 0 * p.ldx, p.k, 0.0f);   // all zero: y = bias + residual exactly
  std::fill_n(p.x.data() + 1 * p.ldx, p.k, -0.0f);
  for (std::size_t q = 0; q < p.k; ++q) p.x[2 * p.ldx + q] = q % 3 ? 1e-40f : 0.0f;  // 127 / amax overflows
  std::fill_n(p.x.data() + 3 * p.ldx, p.k, 0.25f);  // q = 127 everywhere
  // amax = 127, so q = nearbyint(x): halves round to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -126.5 -> -126).
  for (std::size_t q = 0; q < p.k; ++q) p.x[4 * p.ldx + q] = q == 0 ? 127.0f : float(int(q % 254) - 127) + 0.5f;
  std::vector<float> scalar;
  for (i8_kernel kernel : runnable_kernels()) {
    p.run(kernel, pool);
    check_quantized(p, describe(kernel, p));
    for (std::size_t row : {0, 1}) {
      for (std::size_t j = 0; j < p.n; ++j) {
        CHECK(p.y[row * p.ldy + j] == (0.0f + p.b[j]) + p.r[row * p.ldr + j]);
      }
    }
    for (std::size_t j = 0; j < p.n; ++j) CHECK(std::isfinite(p.y[2 * p.ldy + j]));
    if (scalar.empty()) scalar = p.y;
    CHECK(same_bits(p.y.data(), scalar.data(), scalar.size()));
  }
}

TEST_CASE("dense_i8: the residual may be y itself") {
  thread_pool pool(2);
  for (i8_kernel kernel : runnable_kernels()) {
    for (bool gelu : {false, true}) {
      problem p(37, 45, 37, true, true, gelu, 99);
      problem q = p;
      q.run(kernel, pool);
      for (std::size_t i = 0; i < p.m; ++i) std::copy_n(p.r.data() + i * p.ldr, p.n, p.y.data() + i * p.ldy);
      dense_i8_args a = p.args();
      a.residual = a.y;
      a.ldr = a.ldy;
      minilm::detail::dense_i8(a, pool, kernel);
      INFO(name(kernel) << (gelu ? std::string(" gelu") : std::string()));
      CHECK(same_bits(p.y.data(), q.y.data(), p.y.size()));
    }
  }
}

TEST_CASE("dense_i8: outlier channels in F32 beside the int8 ones") {
  // y = the int8 product + sum over o of outliers[i][o] * outlier_w[j][o], then bias and residual:
  // the F32 sum within float rounding of its double value, on every kernel and odd panel widths,
  // and a row's result the same on 1 and 3 threads and alone.
  for (std::size_t n_o : {std::size_t{1}, std::size_t{3}, std::size_t{8}}) {
    problem p(37, 45, 67, true, true, false, 321 + static_cast<unsigned>(n_o));
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::vector<float> xo(p.m * n_o), wo(p.n * n_o);
    for (float& f : xo) f = unit(rng) * 20.0f;
    for (float& f : wo) f = unit(rng) * 0.1f;
    for (i8_kernel kernel : runnable_kernels()) {
      INFO(name(kernel) << " with " << n_o << " outlier channels");
      problem bare = p;
      bare.bias = bare.residual = false;
      thread_pool one(1), three(3);
      bare.run(kernel, one);
      problem with = p;
      dense_i8_args a = with.args();
      a.outliers = xo.data();
      a.outlier_w = wo.data();
      a.n_outliers = n_o;
      minilm::detail::dense_i8(a, three, kernel);
      problem alone = p;
      alone.m = 1;
      dense_i8_args b = alone.args();
      b.x = p.x.data() + 5 * p.ldx;
      b.residual = p.r.data() + 5 * p.ldr;
      b.outliers = xo.data() + 5 * n_o;
      b.outlier_w = wo.data();
      b.n_outliers = n_o;
      minilm::detail::dense_i8(b, one, kernel);
      CHECK(same_bits(alone.y.data(), &with.y[5 * p.ldy], p.n));
      double worst = 0;
      for (std::size_t i = 0; i < p.m; ++i) {
        for (std::size_t j = 0; j < p.n; ++j) {
          double t = 0;
          for (std::size_t o = 0; o < n_o; ++o) t += double{xo[i * n_o + o]} * wo[j * n_o + o];
          const double expected = double{bare.y[i * p.ldy + j]} + t + p.b[j] + p.r[i * p.ldr + j];
          worst = std::max(worst, std::fabs(with.y[i * p.ldy + j] - expected) / (1.0 + std::fabs(expected)));
        }
      }
      CHECK(worst < 4e-6);
    }
  }
}

TEST_CASE("dense_i8: a row's result is bitwise the same in any batch, at any position, on any thread count") {
  struct layer {
    std::size_t n, k;
    bool gelu, residual;
  };
  // The model's three shapes and an odd one (smaller ones on the same paths in the emulated
  // build, where the SIMD code runs some fifty times slower).
#if defined(MINILM_GEMM_EMULATE_SIMD)
  const layer layers[] = {{130, 67, false, false}, {45, 37, true, true}};
#else
  const layer layers[] = {{384, 384, false, false}, {1536, 384, true, false}, {384, 1536, false, true}, {45, 37, true, true}};
#endif
  thread_pool pool1(1), pool2(2), pool3(3);
  thread_pool* pools[] = {&pool1, &pool2, &pool3};
  for (i8_kernel kernel : runnable_kernels()) {
    if (kernel == i8_kernel::scalar) continue;  // one row at a time by construction
    for (const layer& l : layers) {
      CAPTURE(name(kernel));
      CAPTURE(l.n);
      CAPTURE(l.k);
      problem big(300, l.n, l.k, true, l.residual, l.gelu, 7);
      big.run(kernel, pool1);
      for (thread_pool* pool : pools) {
        problem again = big;
        again.run(kernel, *pool);
        CHECK(same_bits(again.y.data(), big.y.data(), big.y.size()));
      }
      for (std::size_t row : {std::size_t{0}, std::size_t{150}, std::size_t{299}}) {
        for (std::size_t m : {1, 2, 13, 33, 301}) {
          for (std::size_t pos : {std::size_t{0}, m / 2, m - 1}) {
            problem small(m, l.n, l.k, true, l.residual, l.gelu, 1000 + unsigned(m + pos));
            small.w_store = big.w_store;
            small.scale = big.scale;
            small.b = big.b;
            std::copy_n(big.x.data() + row * big.ldx, l.k, small.x.data() + pos * small.ldx);
            std::copy_n(big.r.data() + row * big.ldr, l.n, small.r.data() + pos * small.ldr);
            small.run(kernel, (m + pos) % 2 ? pool2 : pool3);
            INFO("row " << row << " at position " << pos << " of " << m);
            CHECK(same_bits(small.y.data() + pos * small.ldy, big.y.data() + row * big.ldy, l.n));
          }
        }
      }
    }
  }
}

TEST_CASE("dense_i8: close to the F32 product it stands for") {
  // W = round(W_f / s) with s = max |W_f[j]| / 127 per row, as a quantizing tool would make it;
  // x quantized per row. Each of the two roundings is at most half a step, so |y - y_f| is at
  // most about sum_p (|x_p| s_j / 2 + sx / 2 |W_f[j, p]|) + their product; the check asks for
  // that bound, and the typical error (printed) is far smaller.
  thread_pool pool(2);
  const std::size_t m = 33, n = 64, k = 384;
  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(m * k), wf(n * k);
  for (float& v : x) v = normal(rng);
  for (float& v : wf) v = normal(rng) * 0.05f;
  std::vector<std::int8_t> w(n * k);
  std::vector<float> s(n);
  for (std::size_t j = 0; j < n; ++j) {
    float amax = 0;
    for (std::size_t p = 0; p < k; ++p) amax = std::max(amax, std::fabs(wf[j * k + p]));
    s[j] = amax / 127.0f;
    for (std::size_t p = 0; p < k; ++p) w[j * k + p] = static_cast<std::int8_t>(std::nearbyint(wf[j * k + p] / s[j]));
  }
  std::vector<float> y(m * n);
  for (i8_kernel kernel : runnable_kernels()) {
    dense_i8_args a;
    a.x = x.data();
    a.w = w.data();
    a.w_scale = s.data();
    a.y = y.data();
    a.m = m;
    a.n = n;
    a.k = k;
    a.ldx = k;
    a.ldy = n;
    minilm::detail::dense_i8(a, pool, kernel);
    double sum_sq_err = 0, sum_sq = 0;
    for (std::size_t i = 0; i < m; ++i) {
      float amax = 0;
      for (std::size_t p = 0; p < k; ++p) amax = std::max(amax, std::fabs(x[i * k + p]));
      const double sx = amax / 127.0;
      for (std::size_t j = 0; j < n; ++j) {
        double exact = 0, bound = 0;
        for (std::size_t p = 0; p < k; ++p) {
          exact += double(x[i * k + p]) * wf[j * k + p];
          bound += std::abs(x[i * k + p]) * s[j] / 2 + sx / 2 * std::abs(wf[j * k + p]) + sx * s[j] / 4;
        }
        const double err = std::abs(y[i * n + j] - exact);
        sum_sq_err += err * err;
        sum_sq += exact * exact;
        if (!(err <= bound)) {
          FAIL_CHECK(name(kernel) << ": y[" << i << ", " << j << "] = " << y[i * n + j] << ", F32 product " << exact);
          break;
        }
      }
    }
    const double relative = std::sqrt(sum_sq_err / sum_sq);
    MESSAGE(name(kernel) << ": relative RMS error against the F32 product = " << relative);
    CHECK(relative < 0.02);  // two 8-bit roundings of Gaussian data: about 1%
  }
}
