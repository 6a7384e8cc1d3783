// minilm/version.hpp: the library's version and its binary interface: the versioned namespace
// every symbol lives in, and the mark on what the shared library exports.
#pragma once

#define MINILM_VERSION_MAJOR 0
#define MINILM_VERSION_MINOR 1
#define MINILM_VERSION_PATCH 0
#define MINILM_VERSION_STRING "0.1.0"

// Every symbol lives in an inline namespace named after the ABI version, so two
// vendored copies of different versions cannot be linked into one program silently.
#define MINILM_BEGIN_NAMESPACE namespace minilm { inline namespace v0 {
#define MINILM_END_NAMESPACE } }

// The library is compiled with hidden visibility: only what a public header marks MINILM_API
// (its classes and free functions) is exported from libminilm.so; the internals are not.
// On Windows a DLL exports it when built (MINILM_BUILDING_DLL) and its users import it
// (MINILM_DLL); the build sets both. A static library needs neither.
#if defined(_WIN32)
#if defined(MINILM_BUILDING_DLL)
#define MINILM_API __declspec(dllexport)
#elif defined(MINILM_DLL)
#define MINILM_API __declspec(dllimport)
#else
#define MINILM_API
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define MINILM_API __attribute__((visibility("default")))
#else
#define MINILM_API
#endif
