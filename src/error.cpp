#include "minilm/error.hpp"

#include <string>
#include <string_view>

MINILM_BEGIN_NAMESPACE

const char* errc_name(errc code) noexcept {
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

namespace {
constexpr std::string_view prefix = "minilm: ";
}

error::error(errc code, const std::string& message) : std::runtime_error(std::string(prefix) + message), code_(code) {}

error::~error() = default;

error error::in_text(std::size_t index) const {
  if (text_index_) return *this;  // already says which text
  std::string_view message = what();
  if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  error e(code_, "text " + std::to_string(index) + ": " + std::string(message));
  e.text_index_ = index;
  return e;
}

MINILM_END_NAMESPACE
