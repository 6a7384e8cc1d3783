// The dense kernels' dispatch (gemm.hpp): one table over instruction set and precision, the
// processor's choice made once, and the split of a product between threads. The kernels
// themselves are in src/kernels/, a file per instruction set, each compiled with that set's flags;
// this file is compiled for the architecture's baseline, so that a portable build still runs,
// and runs the widest vectors the processor has.

#include "gemm.hpp"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>
#include <utility>

#include "aligned_buffer.hpp"
#include "cpu_features.hpp"
#include "kernels/kernels.hpp"
#include "minilm/error.hpp"
#include "thread_exit.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

namespace kernels {

float* f32_scratch(std::size_t n_floats) {
  thread_local float_buffer buffer;
  buffer.reserve(n_floats);
  return buffer.data();
}

std::int8_t* i8_scratch(std::size_t n_bytes) {
  thread_local float_buffer buffer;
  buffer.reserve((n_bytes + sizeof(float) - 1) / sizeof(float));
  return reinterpret_cast<std::int8_t*>(buffer.data());
}

}  // namespace kernels

namespace {

using kernels::f32_entry;
using kernels::i8_entry;

// An int8 kernel: its entry (nullptr where this build does not carry its file) and whether the
// processor runs it, given that it runs the family's F32 kernel. {} where a family has fewer.
struct i8_choice {
  i8_kernel kernel;
  const i8_entry* entry;
  bool (*runs)(const cpu_features&);
};

// One row per instruction set family (gemm_isa): what the processor needs for its F32 kernel,
// that kernel's entry, and the family's int8 kernels, the fastest first.
struct family {
  gemm_isa isa;
  const f32_entry* f32;
  bool (*runs)(const cpu_features&);
  i8_choice i8[2];
};

bool always(const cpu_features&) { return true; }

#if MINILM_KERNEL_AVX2
constexpr const f32_entry* avx2_f32 = &kernels::avx2_f32;
constexpr const i8_entry* avx2_i8 = &kernels::avx2_i8;
#else
constexpr const f32_entry* avx2_f32 = nullptr;
constexpr const i8_entry* avx2_i8 = nullptr;
#endif
#if MINILM_KERNEL_AVX_VNNI
constexpr const i8_entry* avx_vnni_i8 = &kernels::avx_vnni_i8;
#else
constexpr const i8_entry* avx_vnni_i8 = nullptr;
#endif
#if MINILM_KERNEL_AVX512
constexpr const f32_entry* avx512_f32 = &kernels::avx512_f32;
#else
constexpr const f32_entry* avx512_f32 = nullptr;
#endif
#if MINILM_KERNEL_AVX512_VNNI
constexpr const i8_entry* avx512_vnni_i8 = &kernels::avx512_vnni_i8;
#else
constexpr const i8_entry* avx512_vnni_i8 = nullptr;
#endif
#if MINILM_KERNEL_NEON
constexpr const f32_entry* neon_f32 = &kernels::neon_f32;
constexpr const i8_entry* neon_i8 = &kernels::neon_i8;
#else
constexpr const f32_entry* neon_f32 = nullptr;
constexpr const i8_entry* neon_i8 = nullptr;
#endif
#if MINILM_KERNEL_NEON_DOT
constexpr const i8_entry* neon_dot_i8 = &kernels::neon_dot_i8;
#else
constexpr const i8_entry* neon_dot_i8 = nullptr;
#endif

// Indexed by gemm_isa. The AVX-512 family's int8 kernel falls back to the AVX2 family's where the
// processor lacks AVX512-VNNI or AVX512-BW (best_i8_kernel).
constexpr family families[] = {
    {gemm_isa::scalar, &kernels::scalar_f32, always,
     {{i8_kernel::scalar, &kernels::scalar_i8, always}, {}}},
    {gemm_isa::avx2, avx2_f32, [](const cpu_features& f) { return f.avx2 && f.fma; },
     {{i8_kernel::avx_vnni, avx_vnni_i8, [](const cpu_features& f) { return f.avx_vnni; }},
      {i8_kernel::avx2, avx2_i8, always}}},
    {gemm_isa::avx512, avx512_f32, [](const cpu_features& f) { return f.avx512f && f.avx2 && f.fma; },
     {{i8_kernel::avx512_vnni, avx512_vnni_i8, [](const cpu_features& f) { return f.avx512bw && f.avx512_vnni; }},
      {}}},
    {gemm_isa::neon, neon_f32, [](const cpu_features& f) { return f.neon; },
     {{i8_kernel::neon_dot, neon_dot_i8, [](const cpu_features& f) { return f.neon_dot; }},
      {i8_kernel::neon, neon_i8, always}}},
};

static_assert([] {
  for (std::size_t i = 0; i < std::size(families); ++i) {
    if (static_cast<std::size_t>(families[i].isa) != i) return false;
  }
  return true;
}());

const family& family_of(gemm_isa isa) { return families[static_cast<std::size_t>(isa)]; }

// Whether the build carries the kernel and the processor runs it (every kernel, over SIMDe:
// tests/meson.build).
bool runs(const family& f) {
#if defined(MINILM_GEMM_EMULATE_SIMD)
  return f.f32 != nullptr;
#else
  return f.f32 != nullptr && f.runs(cpu());
#endif
}

bool runs(const family& f, const i8_choice& c) {
#if defined(MINILM_GEMM_EMULATE_SIMD)
  (void)f;
  return c.entry != nullptr;
#else
  return c.entry != nullptr && runs(f) && c.runs(cpu());
#endif
}

// The family and choice of an int8 kernel; nullptr where no row names it with an entry.
std::pair<const family*, const i8_choice*> find(i8_kernel kernel) {
  for (const family& f : families) {
    for (const i8_choice& c : f.i8) {
      if (c.kernel == kernel && c.entry != nullptr) return {&f, &c};
    }
  }
  return {nullptr, nullptr};
}

std::size_t round_up(std::size_t v, std::size_t to) { return (v + to - 1) / to * to; }

// The split of an (m rows, n outputs) product between pool's threads, the same for dense() and
// dense_i8(); block(i0, i1, j0, j1) computes rows [i0, i1) of outputs [j0, j1).
//
// Row blocks: as many rows of x as fit in about 384 KiB (row_bytes each, as packed: a share of
// L2, where the block's panels stay), in whole panels, then evened out so that the last block
// is not a sliver. With several threads, at least two tasks per thread (so that a thread slowed
// down by other load hands work over; more would each start on a tile of W that is not in cache
// yet); when there are too few row blocks for that, output features are split too, in multiples
// of w_rows: for a handful of rows that is the only parallelism, and each thread then reads its
// own part of W, the part of the work that dominates. How the work is split never changes how
// an output is computed.
template <typename Block>
void run_blocks(std::size_t m, std::size_t n, std::size_t row_bytes, std::size_t panel_rows, std::size_t w_rows,
                thread_pool& pool, Block&& block) {
  std::size_t rows = std::max(panel_rows, (std::size_t{384} << 10) / row_bytes / panel_rows * panel_rows);
  const std::size_t n_row_blocks = (m + rows - 1) / rows;
  rows = std::min(rows, round_up((m + n_row_blocks - 1) / n_row_blocks, panel_rows));
  const std::size_t n_threads = pool.size();
  std::size_t cols = n;
  if (n_threads > 1 && n_row_blocks < 2 * n_threads) {
    const std::size_t n_col_blocks = (2 * n_threads + n_row_blocks - 1) / n_row_blocks;
    cols = std::max(w_rows, round_up((n + n_col_blocks - 1) / n_col_blocks, w_rows));
  }
  const std::size_t n_col_blocks = (n + cols - 1) / cols;
  const std::size_t n_rb = (m + rows - 1) / rows;
  pool.run(n_rb * n_col_blocks, [&](std::size_t task, std::size_t) {
    const std::size_t rb = task / n_col_blocks, cb = task % n_col_blocks;
    block(rb * rows, std::min(m, (rb + 1) * rows), cb * cols, std::min(n, (cb + 1) * cols));
  });
}

}  // namespace

bool gemm_isa_supported(gemm_isa isa) noexcept { return runs(family_of(isa)); }

gemm_isa best_gemm_isa() noexcept {
  static const gemm_isa best = [] {
    try {
      if (const auto chosen = gemm_isa_override()) return *chosen;
    } catch (const error&) {
      // encoder::load() reports a bad MINILM_ISA; here the best kernel stands.
    }
    for (gemm_isa isa : {gemm_isa::avx512, gemm_isa::avx2, gemm_isa::neon}) {
      if (gemm_isa_supported(isa)) return isa;
    }
    return gemm_isa::scalar;
  }();
  return best;
}

std::optional<gemm_isa> gemm_isa_named(std::string_view name) noexcept {
  for (gemm_isa isa : {gemm_isa::scalar, gemm_isa::avx2, gemm_isa::avx512, gemm_isa::neon}) {
    if (name == gemm_isa_name(isa)) return isa;
  }
  return std::nullopt;
}

std::optional<gemm_isa> gemm_isa_override() {
  const char* value = std::getenv("MINILM_ISA");
  if (value == nullptr || *value == '\0') return std::nullopt;
  std::string runnable;
  for (gemm_isa isa : {gemm_isa::scalar, gemm_isa::avx2, gemm_isa::avx512, gemm_isa::neon}) {
    if (gemm_isa_supported(isa)) runnable += std::string(runnable.empty() ? "" : ", ") + gemm_isa_name(isa);
  }
  const auto isa = gemm_isa_named(value);
  if (!isa) {
    throw error(errc::invalid_argument, std::string("MINILM_ISA=") + value +
                                            ": not a kernel name (scalar, avx2, avx512, neon); this processor runs " + runnable);
  }
  if (!gemm_isa_supported(*isa)) {
    throw error(errc::invalid_argument, std::string("MINILM_ISA=") + value +
                                            ": this build or processor cannot run that kernel; it runs " + runnable);
  }
  return isa;
}

const char* gemm_isa_name(gemm_isa isa) noexcept {
  switch (isa) {
    case gemm_isa::scalar:
      return "scalar";
    case gemm_isa::avx2:
      return "avx2";
    case gemm_isa::avx512:
      return "avx512";
    case gemm_isa::neon:
      return "neon";
  }
  return "?";
}

void dense(const dense_args& a, thread_pool& pool) { dense(a, pool, best_gemm_isa()); }

void dense(const dense_args& a, thread_pool& pool, gemm_isa isa) {
  const std::size_t ldw = a.ldw != 0 ? a.ldw : a.k;
  assert(gemm_isa_supported(isa));
  assert((a.incx != 1 || a.ldx >= a.k) && (a.incy != 1 || a.ldy >= a.n) && (!a.residual || a.ldr >= a.n));
  if (a.m == 0 || a.n == 0) return;
  const f32_entry& kernel = *family_of(isa).f32;

  run_blocks(a.m, a.n, std::max<std::size_t>(a.k, 1) * sizeof(float), kernel.panel_rows, kernel.w_rows, pool,
             [&](std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) { kernel.block(a, ldw, i0, i1, j0, j1); });
}

bool i8_kernel_supported(i8_kernel kernel) noexcept {
  const auto [f, c] = find(kernel);
  return f != nullptr && runs(*f, *c);
}

i8_kernel best_i8_kernel() noexcept {
  static const i8_kernel best = [] {
    // The family's kernels, the fastest first; AVX-512's then AVX2's.
    const gemm_isa isa = best_gemm_isa();
    for (gemm_isa from : {isa, isa == gemm_isa::avx512 ? gemm_isa::avx2 : isa}) {
      const family& f = family_of(from);
      for (const i8_choice& c : f.i8) {
        if (runs(f, c)) return c.kernel;
      }
    }
    return i8_kernel::scalar;
  }();
  return best;
}

const char* i8_kernel_name(i8_kernel kernel) noexcept {
  switch (kernel) {
    case i8_kernel::scalar:
      return "scalar";
    case i8_kernel::avx2:
      return "avx2";
    case i8_kernel::avx_vnni:
      return "avx_vnni";
    case i8_kernel::avx512_vnni:
      return "avx512_vnni";
    case i8_kernel::neon:
      return "neon";
    case i8_kernel::neon_dot:
      return "neon_dot";
  }
  return "?";
}

void dense_i8(const dense_i8_args& a, thread_pool& pool) { dense_i8(a, pool, best_i8_kernel()); }

void dense_i8(const dense_i8_args& a, thread_pool& pool, i8_kernel kernel) {
  const std::size_t ldw = a.ldw != 0 ? a.ldw : a.k;
  assert(i8_kernel_supported(kernel));
  assert(a.ldx >= a.k && ldw >= a.k && a.ldy >= a.n && (!a.residual || a.ldr >= a.n) &&
         a.k <= (std::size_t{1} << 17));
  if (a.m == 0 || a.n == 0) return;
  const i8_entry& fns = *find(kernel).second->entry;

  run_blocks(a.m, a.n, std::max<std::size_t>(a.k, 4), fns.panel_rows, fns.w_rows, pool,
             [&](std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) { fns.block(a, ldw, i0, i1, j0, j1); });
}

const kernels::f32_entry& kernels::f32_kernel(gemm_isa isa) { return *family_of(isa).f32; }

}  // namespace detail
MINILM_END_NAMESPACE
