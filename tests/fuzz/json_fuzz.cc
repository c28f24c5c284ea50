// Fuzzes the admin API's JSON reader (src/admin/json.h), which the CLI runs on the server's
// answers: any input either parses or is refused with a message, never crashes; a UTF-8 string
// that parses is written back by the writer and reads the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "admin/json.h"

using stavka::admin::JsonValue;

namespace {

void walk(const JsonValue& v, int depth) {
  if (depth > 70) std::abort();  // the reader refuses nesting deeper than 64
  if (v.type() == JsonValue::Type::string && stavka::admin::is_utf8(v.string_or(""))) {
    std::string text = v.string_or("");
    std::string written;
    stavka::admin::append_json_string(written, text);
    std::string error;
    auto back = JsonValue::parse(written, &error);
    if (!back || back->string_or("\x01not") != text) std::abort();
  }
  for (const JsonValue& item : v.items()) walk(item, depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto v = JsonValue::parse(text, &error);
  if (!v) {
    if (error.empty()) std::abort();
    return 0;
  }
  walk(*v, 0);
  (void)(*v)["name"].string_or("");
  (void)(*v)["modules"].items().size();
  return 0;
}
