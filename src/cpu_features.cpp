// The processor's features (cpu_features.hpp).

#include "cpu_features.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MINILM_CPU_X86 1
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>  // getauxval
#endif
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cstdint>

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

#if MINILM_CPU_X86
bool bit(unsigned word, int n) { return ((word >> n) & 1u) != 0; }

// XCR0: which register states the operating system saves (read only where CPUID says OSXSAVE).
std::uint64_t xcr0() {
  unsigned lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t{hi} << 32) | lo;
}
#endif

cpu_features read_features() {
  cpu_features f;
#if MINILM_CPU_X86
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0 || !bit(c, 27)) return f;  // no OSXSAVE: no xgetbv, no AVX
  const bool fma = bit(c, 12), avx = bit(c, 28);
  const std::uint64_t xcr = xcr0();
  const bool ymm = avx && (xcr & 0x6) == 0x6;          // SSE and AVX states
  const bool zmm = ymm && (xcr & 0xe0) == 0xe0;        // opmask, ZMM_Hi256, Hi16_ZMM
  const bool tiles = (xcr & 0x60000) == 0x60000;       // XTILECFG, XTILEDATA
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) != 0) {
    f.avx2 = ymm && bit(b, 5);
    f.fma = ymm && fma;
    f.avx512f = zmm && bit(b, 16);
    f.avx512bw = zmm && bit(b, 30);
    f.avx512_vnni = zmm && bit(c, 11);
    f.amx_bf16 = tiles && bit(d, 22);
    f.amx_tile = tiles && bit(d, 24);
    f.amx_int8 = tiles && bit(d, 25);
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d) != 0) f.avx_vnni = ymm && bit(a, 4);
#elif defined(__aarch64__)
  f.neon = true;
#if defined(__linux__)
  f.neon_dot = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__ARM_FEATURE_DOTPROD)
  f.neon_dot = true;
#endif
#endif
  return f;
}

}  // namespace

const cpu_features& cpu() noexcept {
  static const cpu_features features = read_features();
  return features;
}

bool amx_tiles_permitted() noexcept {
#if defined(__x86_64__) && defined(__linux__)
  // ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18): the kernel then saves the tile
  // data for this process's threads; a tile instruction before it faults.
  static const bool permitted = cpu().amx_tile && syscall(SYS_arch_prctl, 0x1023, 18) == 0;
  return permitted;
#else
  return false;
#endif
}

}  // namespace detail
MINILM_END_NAMESPACE
