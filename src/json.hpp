// src/json.hpp: simdjson's DOM with errors that name the file and the field.
//
// Internal to the library (not installed). Every accessor either returns the value
// or throws minilm::error whose message reads
//   "<file>: field 'a.b[2].c': expected an unsigned integer, found a string".
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "minilm/error.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

class json_value {
 public:
  json_value(simdjson::dom::element element, std::shared_ptr<const std::string> source, std::string path,
             errc code)
      : element_(element), source_(std::move(source)), path_(std::move(path)), code_(code) {}

  const std::string& path() const noexcept { return path_; }
  const std::string& source() const noexcept { return *source_; }
  simdjson::dom::element raw() const noexcept { return element_; }

  bool is_null() const noexcept { return element_.is_null(); }
  bool is_object() const noexcept { return element_.is_object(); }
  bool is_array() const noexcept { return element_.is_array(); }
  bool is_string() const noexcept { return element_.is_string(); }
  const char* type_name() const noexcept;

  // Object access. find() is nullopt when the key is absent; at() throws.
  std::optional<json_value> find(std::string_view key) const;
  json_value at(std::string_view key) const;
  // The members of an object in file order; a key that appears twice is an error.
  std::vector<std::pair<std::string_view, json_value>> members() const;
  // The elements of an array.
  std::vector<json_value> items() const;

  std::string_view as_string() const;
  bool as_bool() const;
  double as_double() const;
  std::int64_t as_int() const;
  // An integer in [lo, hi]; the message names the bounds.
  std::int64_t as_int(std::int64_t lo, std::int64_t hi) const;
  std::uint64_t as_uint() const;

  // Optional members with a default.
  std::int64_t int_or(std::string_view key, std::int64_t fallback, std::int64_t lo, std::int64_t hi) const;
  double double_or(std::string_view key, double fallback) const;
  bool bool_or(std::string_view key, bool fallback) const;
  std::string string_or(std::string_view key, std::string_view fallback) const;

  // Throws with the document's error code (or `code`), naming the source and this field.
  [[noreturn]] void fail(const std::string& what) const { fail(code_, what); }
  [[noreturn]] void fail(errc code, const std::string& what) const;

 private:
  json_value child(simdjson::dom::element e, std::string path) const { return {e, source_, std::move(path), code_}; }
  simdjson::dom::element element_;
  std::shared_ptr<const std::string> source_;
  std::string path_;
  errc code_;
};

// A parsed JSON document; owns the parser and the bytes, so values stay valid as long
// as the document lives. Limits: nesting depth 256 (deeper documents are rejected).
class json_document {
 public:
  // Reads the file read-only (at most max_bytes) and parses it.
  static json_document parse_file(const std::filesystem::path& path, std::size_t max_bytes = 64u << 20);
  // Parses bytes; `source` names them in error messages (a file name, "header of 'x'").
  // `code` is the error code of every complaint about the document's contents.
  static json_document parse(std::string_view bytes, std::string source, errc code = errc::invalid_config);

  json_value root() const { return {root_, source_, "", code_}; }

 private:
  json_document() = default;
  std::unique_ptr<simdjson::dom::parser> parser_;
  std::shared_ptr<const std::string> source_;
  simdjson::dom::element root_;
  errc code_ = errc::invalid_config;
};

}  // namespace detail
MINILM_END_NAMESPACE
