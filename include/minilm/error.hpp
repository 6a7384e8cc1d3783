// minilm/error.hpp: the one exception type the library throws.
//
// Every message starts with "minilm: " and names what was being read (a file, a
// tensor, a JSON field, a byte offset) and what rule it broke, so that a user can
// act on it without a debugger. Programmer errors (a null pointer where the API
// forbids one) are assertions, not exceptions.
#pragma once

#include <stdexcept>
#include <string>

#include "version.hpp"

MINILM_BEGIN_NAMESPACE

// What kind of problem an error reports; stable, so callers may branch on it.
enum class errc {
  io = 1,              // a file could not be opened, read or mapped
  invalid_safetensors, // a safetensors file breaks the format's rules
  invalid_json,        // a JSON file (config, tokenizer) is not valid JSON
  invalid_config,      // a valid JSON file holds values minilm cannot use
  missing_tensor,      // a tensor the forward pass needs is absent
  invalid_tensor,      // a tensor has the wrong dtype or shape for the config
  invalid_tokenizer,   // vocabulary or tokenizer.json cannot be used
  unsupported,         // valid input using a feature minilm does not implement
  invalid_text,        // input text that cannot be encoded (invalid UTF-8, in strict mode)
  invalid_argument,    // an option out of range
};

const char* errc_name(errc code) noexcept;

class error : public std::runtime_error {
 public:
  error(errc code, const std::string& message)
      : std::runtime_error("minilm: " + message), code_(code) {}
  errc code() const noexcept { return code_; }

 private:
  errc code_;
};

inline const char* errc_name(errc code) noexcept {
  switch (code) {
    case errc::io: return "io";
    case errc::invalid_safetensors: return "invalid_safetensors";
    case errc::invalid_json: return "invalid_json";
    case errc::invalid_config: return "invalid_config";
    case errc::missing_tensor: return "missing_tensor";
    case errc::invalid_tensor: return "invalid_tensor";
    case errc::invalid_tokenizer: return "invalid_tokenizer";
    case errc::unsupported: return "unsupported";
    case errc::invalid_text: return "invalid_text";
    case errc::invalid_argument: return "invalid_argument";
  }
  return "unknown";
}

MINILM_END_NAMESPACE
