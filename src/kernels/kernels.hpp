// src/kernels/kernels.hpp: what the files of src/kernels/ give the dispatch (gemm.cpp,
// attention.cpp): each instruction set's entries for each precision. Every <isa>.cpp is compiled
// with its instruction set's flags (src/meson.build) and defines the entries of its kernels; the
// dispatch, compiled for the architecture's baseline, calls them only where cpu_features.hpp says
// the processor runs them. A build carries the files src/meson.build could compile, and says
// which with MINILM_KERNEL_<ISA> = 1 (AVX2, AVX_VNNI, AVX512, AVX512_VNNI, NEON, NEON_DOT).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gemm.hpp"

#if defined(MINILM_GEMM_EMULATE_SIMD)
// Every kernel file, compiled over SIMDe (src/kernels/simd.hpp, tests/meson.build).
#define MINILM_KERNEL_AVX2 1
#define MINILM_KERNEL_AVX_VNNI 1
#define MINILM_KERNEL_AVX512 1
#define MINILM_KERNEL_AVX512_VNNI 1
#define MINILM_KERNEL_NEON 1
#define MINILM_KERNEL_NEON_DOT 1
#endif

MINILM_BEGIN_NAMESPACE
namespace detail::kernels {

// Rows [i0, i1) of outputs [j0, j1) of dense() (gemm.hpp), W's row stride ldw resolved.
using f32_block_fn = void (*)(const dense_args&, std::size_t ldw, std::size_t i0, std::size_t i1, std::size_t j0,
                              std::size_t j1);
// softmax_columns (attention.hpp) on s (rows, cols), row stride ld.
using softmax_fn = void (*)(float* s, std::size_t ld, std::size_t rows, std::size_t cols, float scale);
// Rows [i0, i1) of outputs [j0, j1) of dense_i8() (gemm.hpp).
using i8_block_fn = void (*)(const dense_i8_args&, std::size_t ldw, std::size_t i0, std::size_t i1, std::size_t j0,
                             std::size_t j1);

struct f32_entry {
  f32_block_fn block;
  softmax_fn softmax;
  std::size_t panel_rows;  // rows of x per panel
  std::size_t w_rows;      // a multiple of every tile's rows of W
};

struct i8_entry {
  i8_block_fn block;
  std::size_t panel_rows;
  std::size_t w_rows;
};

// Each file's entries (an int8 kernel takes its epilogue from its F32 family: gemm.hpp).
extern const f32_entry scalar_f32;          // scalar.cpp
extern const i8_entry scalar_i8;
extern const f32_entry avx2_f32;            // avx2.cpp: AVX2 and FMA
extern const i8_entry avx2_i8;
extern const i8_entry avx_vnni_i8;          // avx_vnni.cpp: AVX-VNNI, AVX2 and FMA
extern const f32_entry avx512_f32;          // avx512.cpp: AVX-512F, AVX2 and FMA
extern const i8_entry avx512_vnni_i8;       // avx512_vnni.cpp: AVX512-VNNI, AVX512-BW, AVX-512F, AVX2 and FMA
extern const f32_entry neon_f32;            // neon.cpp
extern const i8_entry neon_i8;
extern const i8_entry neon_dot_i8;          // neon_dot.cpp: the dot product instructions

// isa's F32 entry, which gemm_isa_supported(isa) must allow (gemm.cpp, from the one table).
const f32_entry& f32_kernel(gemm_isa isa);

// The calling thread's scratch for packed panels of x (and the softmax's last columns), and for
// quantized panels: kept for the thread's lifetime (its pages are touched once), 64-byte
// aligned, contents unspecified. Defined in gemm.cpp, outside the files compiled with an
// instruction set's flags.
float* f32_scratch(std::size_t n_floats);
std::int8_t* i8_scratch(std::size_t n_bytes);

}  // namespace detail::kernels
MINILM_END_NAMESPACE
