#include "json.hpp"

#include <unordered_set>

#include "mapped_file.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {
constexpr std::size_t max_depth = 256;

std::string member_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}
}  // namespace

const char* json_value::type_name() const noexcept {
  switch (element_.type()) {
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64: return "an integer";
    case simdjson::dom::element_type::DOUBLE: return "a number";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::BOOL: return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
  }
  return "an unknown value";
}

void json_value::fail(errc code, const std::string& what) const {
  if (path_.empty()) throw error(code, *source_ + ": " + what);
  throw error(code, *source_ + ": field '" + path_ + "': " + what);
}

std::optional<json_value> json_value::find(std::string_view key) const {
  if (!element_.is_object()) fail(std::string("expected an object, found ") + type_name());
  simdjson::dom::element e;
  if (element_.get_object().at_key(key).get(e) != simdjson::SUCCESS) return std::nullopt;
  return child(e, member_path(path_, key));
}

json_value json_value::at(std::string_view key) const {
  auto v = find(key);
  if (!v) fail("missing required field '" + std::string(key) + "'");
  return *v;
}

std::vector<std::pair<std::string_view, json_value>> json_value::members() const {
  simdjson::dom::object obj;
  if (element_.get_object().get(obj) != simdjson::SUCCESS) {
    fail(std::string("expected an object, found ") + type_name());
  }
  std::vector<std::pair<std::string_view, json_value>> out;
  std::unordered_set<std::string_view> seen;
  for (auto field : obj) {
    if (!seen.insert(field.key).second) {
      fail("key '" + std::string(field.key) + "' appears more than once");
    }
    out.emplace_back(field.key, child(field.value, member_path(path_, field.key)));
  }
  return out;
}

std::vector<json_value> json_value::items() const {
  simdjson::dom::array arr;
  if (element_.get_array().get(arr) != simdjson::SUCCESS) {
    fail(std::string("expected an array, found ") + type_name());
  }
  std::vector<json_value> out;
  std::size_t i = 0;
  for (auto e : arr) out.push_back(child(e, path_ + "[" + std::to_string(i++) + "]"));
  return out;
}

std::string_view json_value::as_string() const {
  std::string_view s;
  if (element_.get_string().get(s) != simdjson::SUCCESS) {
    fail(std::string("expected a string, found ") + type_name());
  }
  return s;
}

bool json_value::as_bool() const {
  bool b = false;
  if (element_.get_bool().get(b) != simdjson::SUCCESS) {
    fail(std::string("expected true or false, found ") + type_name());
  }
  return b;
}

double json_value::as_double() const {
  double d = 0;
  if (element_.get_double().get(d) != simdjson::SUCCESS) {
    fail(std::string("expected a number, found ") + type_name());
  }
  return d;
}

std::int64_t json_value::as_int() const {
  std::int64_t v = 0;
  if (element_.get_int64().get(v) != simdjson::SUCCESS) {
    if (element_.is_uint64()) fail("integer out of range");
    fail(std::string("expected an integer, found ") + type_name());
  }
  return v;
}

std::int64_t json_value::as_int(std::int64_t lo, std::int64_t hi) const {
  const std::int64_t v = as_int();
  if (v < lo || v > hi) {
    fail("value " + std::to_string(v) + " is outside the allowed range [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return v;
}

std::uint64_t json_value::as_uint() const {
  std::uint64_t v = 0;
  if (element_.get_uint64().get(v) != simdjson::SUCCESS) {
    fail(std::string("expected an unsigned integer, found ") +
                                   (element_.is_int64() ? "a negative integer" : type_name()));
  }
  return v;
}

std::int64_t json_value::int_or(std::string_view key, std::int64_t fallback, std::int64_t lo,
                                std::int64_t hi) const {
  auto v = find(key);
  return v && !v->is_null() ? v->as_int(lo, hi) : fallback;
}

double json_value::double_or(std::string_view key, double fallback) const {
  auto v = find(key);
  return v && !v->is_null() ? v->as_double() : fallback;
}

bool json_value::bool_or(std::string_view key, bool fallback) const {
  auto v = find(key);
  return v && !v->is_null() ? v->as_bool() : fallback;
}

std::string json_value::string_or(std::string_view key, std::string_view fallback) const {
  auto v = find(key);
  return std::string(v && !v->is_null() ? v->as_string() : fallback);
}

json_document json_document::parse_file(const std::filesystem::path& path, std::size_t max_bytes) {
  const std::string bytes = read_file(path, max_bytes);
  return parse(bytes, "'" + path.string() + "'");
}

namespace {

// The bytes with ".0" after every integer of 20 digits or more outside strings, which simdjson's
// DOM refuses ("Problem while parsing a number") but Python reads: transformers writes
// "model_max_length": 1000000000000000019884624838656 into many a tokenizer_config.json.
std::string big_integers_as_floats(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 16);
  bool in_string = false;
  for (std::size_t i = 0; i < bytes.size();) {
    const char c = bytes[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < bytes.size()) out += bytes[++i];
      else if (c == '"') in_string = false;
      ++i;
    } else if (c >= '0' && c <= '9') {
      std::size_t j = i;
      while (j < bytes.size() && bytes[j] >= '0' && bytes[j] <= '9') ++j;
      out.append(bytes.substr(i, j - i));
      const bool integer = j == bytes.size() || (bytes[j] != '.' && bytes[j] != 'e' && bytes[j] != 'E');
      if (j - i >= 20 && integer) out += ".0";
      i = j;
    } else {
      in_string = c == '"';
      out += c;
      ++i;
    }
  }
  return out;
}

}  // namespace

json_document json_document::parse(std::string_view bytes, std::string source, errc code) {
  json_document doc;
  doc.code_ = code;
  doc.source_ = std::make_shared<const std::string>(std::move(source));
  doc.parser_ = std::make_unique<simdjson::dom::parser>();
  if (doc.parser_->allocate(bytes.size() + 1, max_depth) != simdjson::SUCCESS) {
    throw error(errc::invalid_json, *doc.source_ + ": cannot allocate a JSON parser for " +
                                        std::to_string(bytes.size()) + " bytes");
  }
  // parse() copies the bytes into the parser's padded buffer when needed.
  auto result = doc.parser_->parse(bytes.data(), bytes.size(), true);
  if (result.error() == simdjson::NUMBER_ERROR) {
    const std::string rewritten = big_integers_as_floats(bytes);
    if (rewritten.size() != bytes.size()) {
      auto again = doc.parser_->parse(rewritten.data(), rewritten.size(), true);
      if (again.error() == simdjson::SUCCESS) result = std::move(again);
    }
  }
  if (result.error() != simdjson::SUCCESS) {
    throw error(code == errc::invalid_config ? errc::invalid_json : code, *doc.source_ + ": not valid JSON (" +
                                        simdjson::error_message(result.error()) + ")");
  }
  doc.root_ = result.value_unsafe();
  return doc;
}

}  // namespace detail
MINILM_END_NAMESPACE
