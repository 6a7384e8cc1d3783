// src/thread_exit.hpp: makes the per-thread scratch objects (thread_local, with destructors) safe
// at thread exit under MinGW-w64's GCC. Include it in every file that defines one.
//
// That compiler keeps thread_local variables in emulated TLS, whose storage winpthreads frees at
// thread exit through a key destructor. libstdc++ runs thread_local destructors through a key of
// its own, made on the first registration; when the emulated TLS key is older, it runs first, and
// the destructors then read freed memory (a crash at thread exit). Registering an empty
// thread-exit destructor while the process starts, before any thread_local is touched, makes
// libstdc++'s key the older one. Other compilers and platforms need nothing.
#pragma once

#if defined(__MINGW32__) && !defined(__clang__)
#include <cxxabi.h>

#include "minilm/version.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
inline const bool thread_exit_order_fixed = [] {
  abi::__cxa_thread_atexit([](void*) {}, nullptr, nullptr);
  return true;
}();
}  // namespace detail
MINILM_END_NAMESPACE
#endif
