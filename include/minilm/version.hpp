// minilm/version.hpp: the library's version and its versioned namespace.
#pragma once

#define MINILM_VERSION_MAJOR 0
#define MINILM_VERSION_MINOR 1
#define MINILM_VERSION_PATCH 0
#define MINILM_VERSION_STRING "0.1.0"

// Every symbol lives in an inline namespace named after the ABI version, so two
// vendored copies of different versions cannot be linked into one program silently.
#define MINILM_BEGIN_NAMESPACE namespace minilm { inline namespace v0 {
#define MINILM_END_NAMESPACE } }
