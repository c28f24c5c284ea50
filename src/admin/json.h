// JSON for the admin API: a writer for the answers and a small reader for the CLI, which is the
// admin API's own client.
//
// The writer appends to a std::string: append_json_string escapes a value so the output is
// ASCII: control characters and UTF-8 sequences as \uXXXX (surrogate pairs past U+FFFF), and a
// byte that is not UTF-8 as U+FFFD (so only UTF-8 values read back unchanged).
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
bool is_utf8(std::string_view text);

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
  const std::vector<std::pair<std::string, JsonValue>>& members() const { return members_; }  // object

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
