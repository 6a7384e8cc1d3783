// src/cpu_features.hpp: what the processor and the operating system let this process run: the
// one place that asks (cpuid and xgetbv on x86, the auxiliary vector on AArch64 Linux). The
// kernels' dispatch (gemm.cpp) reads it; nothing here is compiled with an instruction set's flags.
#pragma once

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

// Each x86 feature is true only where the operating system also saves the registers it uses
// (XCR0: the ymm state for AVX2, the opmask and zmm states for AVX-512, the tile states for AMX).
struct cpu_features {
  bool avx2 = false, fma = false;
  bool avx_vnni = false;  // vpdpbusd on ymm (CPUID leaf 7, subleaf 1, EAX bit 4)
  bool avx512f = false, avx512bw = false, avx512_vnni = false;
  // AMX: the tiles and their int8 and bf16 products. Linux also wants each process to ask for
  // the tile data state before its first use: amx_tiles_permitted().
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  bool neon = false;      // AArch64's Advanced SIMD
  bool neon_dot = false;  // sdot / udot (vdotq_s32)
};

// This processor's, read once.
const cpu_features& cpu() noexcept;

// Whether this process may use the AMX tiles: asks Linux once per process
// (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)); false where the processor has no tiles,
// where the request is refused, and on other operating systems.
bool amx_tiles_permitted() noexcept;

}  // namespace detail
MINILM_END_NAMESPACE
