// The dense kernel (src/gemm.hpp): results against a double-precision reference on odd
// shapes, on every instruction set this processor runs, and the bitwise promises: a row's result
// does not depend on the batch around it, on its position there, or on the thread count.
//
// The instruction sets this processor lacks are tested by building the same test over SIMDe's
// portable intrinsics (Debian package libsimde-dev), which runs the AVX2, AVX-512 and NEON code
// on any x86-64 processor:
//   g++ -std=c++20 -O1 -DMINILM_GEMM_EMULATE_SIMD -Iinclude -Isrc -Itests -pthread -o test_gemm_emulated
//       tests/test_gemm.cpp src/gemm.cpp src/attention.cpp src/cpu_features.cpp src/kernels/*.cpp
//       src/error.cpp tests/doctest_main.cpp && ./test_gemm_emulated
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "attention.hpp"
#include "gemm.hpp"
#include "minilm/error.hpp"

using minilm::detail::dense_args;
using minilm::detail::gemm_isa;
using minilm::detail::thread_pool;

namespace {

std::vector<gemm_isa> runnable_isas() {
  std::vector<gemm_isa> isas;
  for (gemm_isa isa : {gemm_isa::scalar, gemm_isa::avx2, gemm_isa::avx512, gemm_isa::neon}) {
    if (minilm::detail::gemm_isa_supported(isa)) isas.push_back(isa);
  }
  return isas;
}

std::vector<float> random_floats(std::size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

double gelu_exact(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }

// A problem with its own storage: x (m, k) with row stride ldx, W (n, k), y (m, n) with row
// stride ldy, and optional bias and residual (residual stride ldr).
struct problem {
  std::size_t m, n, k, ldx, ldy, ldr;
  bool bias, residual, gelu;
  std::vector<float> x, w, b, r, y;

  problem(std::size_t m_, std::size_t n_, std::size_t k_, bool bias_, bool residual_, bool gelu_, unsigned seed)
      : m(m_), n(n_), k(k_), ldx(k_ + 3), ldy(n_ + 5), ldr(n_ + 1), bias(bias_), residual(residual_), gelu(gelu_) {
    x = random_floats(m * ldx, seed);
    w = random_floats(n * k, seed + 1, 0.2f);
    b = random_floats(n, seed + 2);
    r = random_floats(m * ldr, seed + 3);
    y.assign(m * ldy, -7.0f);
  }

  dense_args args() {
    dense_args a;
    a.x = x.data();
    a.w = w.data();
    a.bias = bias ? b.data() : nullptr;
    a.residual = residual ? r.data() : nullptr;
    a.y = y.data();
    a.m = m;
    a.n = n;
    a.k = k;
    a.ldx = ldx;
    a.ldr = ldr;
    a.ldy = ldy;
    a.gelu = gelu;
    return a;
  }
};

// Checks y against the product in double. Any order of summing k float products has an error
// of at most about k * u * sum |x_p w_p| (u = 2^-24, Higham's gamma_k); the epilogue adds a few
// roundings of the result and, with GELU, the rational erf's error (< 1e-6, scaled by |v| / 2).
// The bound used is twice that, and the measured error is printed next to it.
double check_against_reference(const problem& p, const std::string& what) {
  constexpr double u = 1.0 / (1 << 24);
  double worst_ratio = 0;
  for (std::size_t i = 0; i < p.m; ++i) {
    for (std::size_t j = 0; j < p.n; ++j) {
      double sum = 0, sum_abs = 0;
      for (std::size_t q = 0; q < p.k; ++q) {
        const double prod = double(p.x[i * p.ldx + q]) * double(p.w[j * p.k + q]);
        sum += prod;
        sum_abs += std::abs(prod);
      }
      if (p.bias) sum += p.b[j];
      double tol = 2 * (double(p.k) + 4) * u * (sum_abs + std::abs(sum)) + 1e-30;
      if (p.gelu) {
        tol = tol * 1.2 + 2e-6 * std::abs(sum) + 4 * u * std::abs(sum);
        sum = gelu_exact(sum);
      }
      if (p.residual) {
        sum += p.r[i * p.ldr + j];
        tol += 2 * u * (std::abs(sum) + std::abs(p.r[i * p.ldr + j]));
      }
      const double got = p.y[i * p.ldy + j];
      const double err = std::abs(got - sum);
      worst_ratio = std::max(worst_ratio, err / tol);
      if (!(err <= tol)) {
        FAIL_CHECK(what << ": y[" << i << ", " << j << "] = " << got << ", expected " << sum << " (error " << err
                        << " > " << tol << ")");
        return worst_ratio;
      }
    }
  }
  // The padding between rows of y is never written.
  for (std::size_t i = 0; i < p.m; ++i) {
    for (std::size_t j = p.n; j < p.ldy; ++j) REQUIRE(p.y[i * p.ldy + j] == -7.0f);
  }
  return worst_ratio;
}

bool same_bits(const float* a, const float* b, std::size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

}  // namespace

TEST_CASE("dense: the instruction sets this build and processor run") {
  std::string names;
  for (gemm_isa isa : runnable_isas()) names += std::string(" ") + minilm::detail::gemm_isa_name(isa);
  MESSAGE("runnable:" << names << "; best: " << std::string(minilm::detail::gemm_isa_name(minilm::detail::best_gemm_isa())));
  CHECK(minilm::detail::gemm_isa_supported(gemm_isa::scalar));
  CHECK(minilm::detail::gemm_isa_supported(minilm::detail::best_gemm_isa()));
}

TEST_CASE("dense: odd shapes against a double-precision reference, every instruction set") {
  thread_pool one(1), three(3);
  struct shape {
    std::size_t n, k;
  };
  // k and n off every vector width (1, 4, 8, 16), plus one of the model's shapes.
  const shape shapes[] = {{1, 1}, {3, 5}, {19, 37}, {45, 100}, {7, 17}, {33, 130}, {384, 384}};
  unsigned seed = 1;
  for (gemm_isa isa : runnable_isas()) {
    double worst_ratio = 0;
    for (std::size_t m : {1, 7, 13, 128, 300}) {
      for (const shape& s : shapes) {
        if (s.n * s.k > 20000 && m > 13) continue;  // keep the double reference quick
        const bool bias = seed % 2 == 0, residual = seed % 3 == 0, gelu = seed % 4 < 2;
        problem p(m, s.n, s.k, bias, residual, gelu, seed++);
        thread_pool& pool = seed % 2 ? one : three;
        minilm::detail::dense(p.args(), pool, isa);
        const double ratio = check_against_reference(p, std::string(minilm::detail::gemm_isa_name(isa)) + " m=" + std::to_string(m) +
                                       " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) +
                                       (bias ? " +bias" : "") + (gelu ? " gelu" : "") + (residual ? " +residual" : ""));
        worst_ratio = std::max(worst_ratio, ratio);
      }
    }
    MESSAGE(std::string(minilm::detail::gemm_isa_name(isa)) << ": worst error / bound over all shapes = " << worst_ratio);
  }
}

TEST_CASE("dense: the residual may be y itself") {
  thread_pool pool(2);
  for (gemm_isa isa : runnable_isas()) {
    problem p(13, 45, 37, true, true, false, 99);
    // Expected: the same computation with the residual in its own array.
    problem q = p;
    minilm::detail::dense(q.args(), pool, isa);
    for (std::size_t i = 0; i < p.m; ++i) {
      std::copy_n(p.r.data() + i * p.ldr, p.n, p.y.data() + i * p.ldy);
    }
    dense_args a = p.args();
    a.residual = a.y;
    a.ldr = a.ldy;
    minilm::detail::dense(a, pool, isa);
    CHECK(same_bits(p.y.data(), q.y.data(), p.y.size()));
  }
}

TEST_CASE("dense: W is read in place through its strides, as attention reads K and V") {
  // A (tokens, hidden) matrix of which one head's columns are used as W (rows 19 apart, as K
  // is) and as W transposed (columns 19 apart, as V is): the results are bitwise those of the
  // same W copied out contiguously.
  thread_pool pool(2);
  const std::size_t tokens = 29, hidden = 19, d = 5, col = 7;
  const std::vector<float> kv = random_floats(tokens * hidden, 5);
  for (gemm_isa isa : runnable_isas()) {
    CAPTURE(minilm::detail::gemm_isa_name(isa));
    // As K: W (tokens, d), element (j, p) at kv[j*hidden + col + p].
    problem rows(11, tokens, d, true, false, false, 21);
    for (std::size_t j = 0; j < tokens; ++j) std::copy_n(kv.data() + j * hidden + col, d, rows.w.data() + j * d);
    problem strided = rows;
    minilm::detail::dense(rows.args(), pool, isa);
    dense_args a = strided.args();
    a.w = kv.data() + col;
    a.ldw = hidden;
    minilm::detail::dense(a, pool, isa);
    CHECK(same_bits(strided.y.data(), rows.y.data(), rows.y.size()));

    // As V^T: W (d, tokens), element (j, p) at kv[p*hidden + col + j].
    problem cols(11, d, tokens, false, true, false, 22);
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t p = 0; p < tokens; ++p) cols.w[j * tokens + p] = kv[p * hidden + col + j];
    }
    problem transposed = cols;
    minilm::detail::dense(cols.args(), pool, isa);
    check_against_reference(cols, minilm::detail::gemm_isa_name(isa));
    a = transposed.args();
    a.w = kv.data() + col;
    a.ldw = 1;
    a.incw = hidden;
    minilm::detail::dense(a, pool, isa);
    CHECK(same_bits(transposed.y.data(), cols.y.data(), cols.y.size()));
  }
}

TEST_CASE("softmax_columns: against a double-precision reference, and a column alone is bitwise the same") {
  const float scale = 0.17677669f;  // 1 / sqrt(32), as for all-MiniLM-L6-v2's heads
  for (gemm_isa isa : runnable_isas()) {
    CAPTURE(minilm::detail::gemm_isa_name(isa));
    double worst = 0;
    for (std::size_t rows : {1, 2, 5, 37, 300}) {
      for (std::size_t cols : {1, 7, 8, 13, 37, 64}) {
        CAPTURE(rows);
        CAPTURE(cols);
        const std::size_t ld = cols + 3;
        // Scores up to +-60 after scaling: exp's whole useful range, underflow included.
        std::vector<float> s = random_floats(rows * ld, unsigned(rows * 100 + cols), 340.0f);
        const std::vector<float> in = s;
        minilm::detail::softmax_columns(s.data(), ld, rows, cols, scale, isa);
        for (std::size_t c = 0; c < cols; ++c) {
          double max = -1e300, sum = 0;
          for (std::size_t j = 0; j < rows; ++j) max = std::max(max, double(in[j * ld + c] * scale));
          for (std::size_t j = 0; j < rows; ++j) sum += std::exp(double(in[j * ld + c] * scale) - max);
          for (std::size_t j = 0; j < rows; ++j) {
            const double arg = double(in[j * ld + c] * scale) - max;
            const double expected = std::exp(arg) / sum;
            // Relative: exp within a few ulp, the float subtraction x - max (rounded by up to
            // |x - max| u, which e^(x - max) turns into a relative error of as much), the sum's
            // rounding (rows u), the division; plus an absolute 1e-37 for what float cannot hold.
            const double err = std::abs(s[j * ld + c] - expected);
            const double tol = (8 + double(rows) + std::abs(arg)) * 6e-8 * expected + 1e-37;
            worst = std::max(worst, err / tol);
            if (!(err <= tol)) {
              FAIL_CHECK("s[" << j << ", " << c << "] = " << s[j * ld + c] << ", expected " << expected);
              break;
            }
          }
        }
        // The padding past each row's columns is never touched.
        for (std::size_t j = 0; j < rows; ++j) {
          for (std::size_t c = cols; c < ld; ++c) REQUIRE(same_bits(&s[j * ld + c], &in[j * ld + c], 1));
        }
        // Column 0 alone gives the same bits as column 0 among the others.
        std::vector<float> alone(rows);
        for (std::size_t j = 0; j < rows; ++j) alone[j] = in[j * ld];
        minilm::detail::softmax_columns(alone.data(), 1, rows, 1, scale, isa);
        for (std::size_t j = 0; j < rows; ++j) CHECK(same_bits(&alone[j], &s[j * ld], 1));
      }
    }
    MESSAGE(std::string(minilm::detail::gemm_isa_name(isa)) << ": softmax worst error / bound = " << worst);
  }
}

TEST_CASE("dense: GELU follows 0.5 v (1 + erf(v / sqrt 2)) across its range") {
  // With k = 1, x = v and w = 1, y is GELU(v) exactly as the kernel's epilogue computes it.
  thread_pool pool(1);
  const std::size_t m = 4001;
  std::vector<float> x(m), w{1.0f}, y(m);
  for (std::size_t i = 0; i < m; ++i) x[i] = -10.0f + 20.0f * float(i) / float(m - 1);
  for (gemm_isa isa : runnable_isas()) {
    dense_args a;
    a.x = x.data();
    a.w = w.data();
    a.y = y.data();
    a.m = m;
    a.n = 1;
    a.k = 1;
    a.ldx = 1;
    a.ldy = 1;
    a.gelu = true;
    minilm::detail::dense(a, pool, isa);
    double worst = 0;
    for (std::size_t i = 0; i < m; ++i) worst = std::max(worst, std::abs(y[i] - gelu_exact(x[i])));
    MESSAGE(std::string(minilm::detail::gemm_isa_name(isa)) << ": max |GELU error| over [-10, 10] = " << worst);
    CHECK(worst < 2e-6);
  }
}

TEST_CASE("dense: a row's result is bitwise the same in any batch, at any position, on any thread count") {
  struct layer {
    std::size_t n, k;
    bool gelu, residual;
  };
  // The model's three shapes as the encoder uses them, and an odd one (in the emulated build,
  // where the SIMD code runs some fifty times slower, smaller ones on the same paths).
#if defined(MINILM_GEMM_EMULATE_SIMD)
  const layer layers[] = {{130, 67, false, false}, {45, 37, true, true}};
#else
  const layer layers[] = {{384, 384, false, false}, {1536, 384, true, false}, {384, 1536, false, true}, {45, 37, true, true}};
#endif
  thread_pool pool1(1), pool2(2), pool3(3), pool4(4);
  thread_pool* pools[] = {&pool1, &pool2, &pool3, &pool4};
  for (gemm_isa isa : runnable_isas()) {
    if (isa == gemm_isa::scalar) continue;  // the same code, only slower; covered by the shapes test
    for (const layer& l : layers) {
      CAPTURE(minilm::detail::gemm_isa_name(isa));
      CAPTURE(l.n);
      CAPTURE(l.k);
      // The batch: 300 rows, computed on one thread.
      problem big(300, l.n, l.k, true, l.residual, l.gelu, 7);
      minilm::detail::dense(big.args(), pool1, isa);

      // The same batch on 2, 3 and 4 threads.
      for (thread_pool* pool : pools) {
        problem again = big;
        std::fill(again.y.begin(), again.y.end(), -7.0f);
        minilm::detail::dense(again.args(), *pool, isa);
        CHECK(same_bits(again.y.data(), big.y.data(), big.y.size()));
      }

      // Rows of the batch taken alone (m = 1) and placed at several positions of batches of
      // other sizes, filled with other rows, on 1 and 2 threads.
      for (std::size_t row : {std::size_t{0}, std::size_t{1}, std::size_t{150}, std::size_t{299}}) {
        for (std::size_t m : {1, 2, 7, 13, 64, 301}) {
          for (std::size_t pos : {std::size_t{0}, m / 2, m - 1}) {
            problem small(m, l.n, l.k, true, l.residual, l.gelu, 1000 + unsigned(m + pos));
            small.w = big.w;
            small.b = big.b;
            std::copy_n(big.x.data() + row * big.ldx, l.k, small.x.data() + pos * small.ldx);
            std::copy_n(big.r.data() + row * big.ldr, l.n, small.r.data() + pos * small.ldr);
            minilm::detail::dense(small.args(), (m + pos) % 2 ? pool2 : pool1, isa);
            INFO("row " << row << " at position " << pos << " of " << m);
            CHECK(same_bits(small.y.data() + pos * small.ldy, big.y.data() + row * big.ldy, l.n));
          }
        }
      }
    }
  }
}

namespace {

#if defined(_WIN32)
// The C runtime's environment, which getenv() reads; an empty value removes the variable.
void set_env(const char* name, const char* value) { ::_putenv_s(name, value); }
void unset_env(const char* name) { ::_putenv_s(name, ""); }
#else
void set_env(const char* name, const char* value) { ::setenv(name, value, 1); }
void unset_env(const char* name) { ::unsetenv(name); }
#endif

}  // namespace

TEST_CASE("MINILM_ISA picks a kernel by name; a name that is none, or a kernel the processor lacks, is an error") {
  const char* before = std::getenv("MINILM_ISA");
  const std::string saved = before != nullptr ? before : "";
  auto override_with = [](const char* value) {
    set_env("MINILM_ISA", value);
    return minilm::detail::gemm_isa_override();
  };
  auto message_for = [&](const char* value) {
    try {
      override_with(value);
    } catch (const minilm::error& e) {
      CHECK(e.code() == minilm::errc::invalid_argument);
      return std::string(e.what());
    }
    FAIL("no error for MINILM_ISA=" << value);
    return std::string();
  };

  CHECK(override_with("scalar") == gemm_isa::scalar);
  CHECK(override_with("") == std::nullopt);
  CHECK(message_for("avx3").find("MINILM_ISA=avx3: not a kernel name (scalar, avx2, avx512, neon)") != std::string::npos);
  for (gemm_isa isa : {gemm_isa::avx2, gemm_isa::avx512, gemm_isa::neon}) {
    const char* name = minilm::detail::gemm_isa_name(isa);
    if (minilm::detail::gemm_isa_supported(isa)) {
      CHECK(override_with(name) == isa);
    } else {
      const std::string m = message_for(name);
      INFO(m);
      CHECK(m.find("cannot run that kernel; it runs scalar") != std::string::npos);
    }
  }
  if (before != nullptr) {
    set_env("MINILM_ISA", saved.c_str());
  } else {
    unset_env("MINILM_ISA");
  }
}
