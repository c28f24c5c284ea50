// JSON for the admin API: a writer for the answers and a small reader for the CLI, which is the
// admin API's own client.
//
// The writer appends to a std::string: append_json_string escapes a value (control characters
// and bytes outside printable ASCII as \u00XX, so the output is ASCII whatever the bytes).
// The reader parses one complete document into a JsonValue tree (objects keep their members in
// order); it accepts RFC 8259 JSON, numbers read as double, and refuses trailing bytes, nesting
// deeper than 64 and invalid escapes. Plain values, no thread affinity.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stavka::admin {

void append_json_string(std::string& out, std::string_view value);

class JsonValue {
 public:
  enum class Type { null, boolean, number, string, array, object };

  Type type() const { return type_; }
  bool is_object() const { return type_ == Type::object; }
  bool is_array() const { return type_ == Type::array; }

  // Typed reads with a fallback for a missing or differently typed value.
  std::string string_or(std::string_view fallback) const;
  double number_or(double fallback) const;
  bool bool_or(bool fallback) const;
  const std::vector<JsonValue>& items() const { return items_; }  // array
  // An object's member (a null value when absent or not an object).
  const JsonValue& operator[](std::string_view key) const;
  bool has(std::string_view key) const;

  // nullopt, with *error saying where, when `text` is not one JSON document.
  static std::optional<JsonValue> parse(std::string_view text, std::string* error);

 private:
  friend class JsonReader;
  Type type_ = Type::null;
  bool boolean_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;                           // array
  std::vector<std::pair<std::string, JsonValue>> members_;  // object, in order
};

}  // namespace stavka::admin
