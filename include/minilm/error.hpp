// minilm/error.hpp: the one exception type the library throws.
//
// Every message starts with "minilm: " and names what was being read (a file, a
// tensor, a JSON field, a byte offset) and what rule it broke, so that a user can
// act on it without a debugger. A failure inside a batch also names the text:
//
//   try {
//     model.encode(texts);
//   } catch (const minilm::error& e) {
//     e.code();        // errc::invalid_text
//     e.text_index();  // 2: texts[2] is the one at fault
//     e.what();        // "minilm: text 2: invalid UTF-8 at byte 5 (0xff)"
//   }
//
// Programmer errors (a null pointer where the API forbids one) are assertions, not exceptions.
#pragma once

#include <cstddef>
#include <optional>
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
  invalid_argument,    // an option out of range, or token ids the model cannot take
};

// "io", "invalid_safetensors", ...: the enumerator's name.
MINILM_API const char* errc_name(errc code) noexcept;

class MINILM_API error : public std::runtime_error {
 public:
  error(errc code, const std::string& message);
  error(const error&) = default;
  error& operator=(const error&) = default;
  ~error() override;

  errc code() const noexcept { return code_; }
  // The position in the batch of the text (or token-id sequence) the error is about; empty
  // for errors about files, options or a single text.
  std::optional<std::size_t> text_index() const noexcept { return text_index_; }

  // This error, about text `index` of a batch: the message gains "text <index>: ".
  error in_text(std::size_t index) const;

 private:
  errc code_;
  std::optional<std::size_t> text_index_;
};

MINILM_END_NAMESPACE
