// src/kernels/simd.hpp: what every kernel file (src/kernels/<isa>.cpp) includes first: the
// standard headers and intrinsics its fragments (*.inc) use, and the helpers they share.
//
// Each kernel file is compiled with its own instruction set's flags (src/meson.build). It
// includes its fragments inside an unnamed namespace, and the helpers below sit in one too, so
// that none of its inline functions is merged at link time with another file's copy, compiled
// for an instruction set the processor may lack.
//
// A fragment's `struct simd` is the kernel's vector type and its operations:
//   reg, width        a vector of `width` floats
//   nv                the widest panel of x, in vectors (panel_rows = nv * width rows)
//   accumulators      how many vector accumulators a tile keeps: nv vectors of x by
//                     accumulators / nv rows of W
//   zero, set1, load(p) (p 64-byte aligned), store(p, v) (any p), broadcast(p) (*p in every lane),
//   fma(a, b, c) = a * b + c (rounded once, but in the scalar code), add, sub, mul, min, max, div,
//   pin(v) (keeps a loaded vector in a register)
//   round (to nearest, ties to even), exp2i(n) = 2^n for whole n in [-126, 127]
//   exact_erf, erf    whether GELU uses the C library's erf (the scalar code) or erf_rational
//   exact_exp, exp    whether the softmax uses the C library's exp (the scalar code) or exp_poly
//   store_rows4       optional (dense.inc uses it where it exists): four vectors (outputs
//                     j..j+3 of `width` rows) stored as `width` rows of four, plus the residual's
//                     when given
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "gemm.hpp"
#include "kernels/kernels.hpp"

#if defined(MINILM_GEMM_EMULATE_SIMD)
// Test builds only: the AVX2, AVX-512 and NEON code compiled over SIMDe's portable versions of
// the intrinsics (Debian package libsimde-dev), so that every path's logic (tiles, edges, masks,
// lane reductions) is tested on any x86-64 processor. SIMDe may round a fused multiply-add
// twice, so emulated results are only compared within the tolerance, never bitwise to hardware.
// See tests/test_gemm.cpp for the command.
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#include <simde/x86/avx512.h>
#elif (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#endif

// A hint to bring the cache line at p into every cache level, ahead of its reads.
#if defined(__GNUC__) || defined(__clang__)
#define MINILM_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define MINILM_PREFETCH(p) ((void)(p))
#endif

MINILM_BEGIN_NAMESPACE
namespace detail::kernels {
namespace {

// 127 / amax, the factor that quantizes a row of x for dense_i8 (gemm.hpp); FLT_MAX where that
// overflows (amax < 3.7e-37), so that a zero in such a row is 0 and not 0 * inf.
inline float i8_inverse_scale(float amax) {
  const float inv = 127.0f / amax;
  return inv <= std::numeric_limits<float>::max() ? inv : std::numeric_limits<float>::max();
}

}  // namespace
}  // namespace detail::kernels
MINILM_END_NAMESPACE
