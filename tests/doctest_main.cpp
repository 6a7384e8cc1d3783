// The tests' main(): doctest's, except for a run told to use a dense kernel (MINILM_ISA) that
// this processor cannot run, which is a skip (exit 77, Meson's SKIP) saying so. A name that is
// no kernel at all fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

#include "gemm.hpp"

int main(int argc, char** argv) {
  if (const char* isa = std::getenv("MINILM_ISA"); isa != nullptr && *isa != '\0') {
    const auto chosen = minilm::detail::gemm_isa_named(isa);
    if (!chosen) {
      std::fprintf(stderr, "MINILM_ISA=%s is not a kernel name (scalar, avx2, avx512, neon)\n", isa);
      return 1;
    }
    if (!minilm::detail::gemm_isa_supported(*chosen)) {
      std::printf("skipped: this build or processor cannot run the %s kernel (MINILM_ISA)\n", isa);
      return 77;
    }
    std::printf("dense kernel: %s (MINILM_ISA)\n", minilm::detail::gemm_isa_name(minilm::detail::best_gemm_isa()));
  }
  return doctest::Context(argc, argv).run();
}
