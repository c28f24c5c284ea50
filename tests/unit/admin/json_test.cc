// The admin API's JSON writer and reader (admin/json.h).
#include "admin/json.h"

#include <gtest/gtest.h>

namespace stavka::admin {
namespace {

JsonValue parse_ok(std::string_view text) {
  std::string error;
  std::optional<JsonValue> v = JsonValue::parse(text, &error);
  EXPECT_TRUE(v.has_value()) << text << ": " << error;
  return v.value_or(JsonValue());
}

TEST(Json, WriterEscapesToAscii) {
  std::string out;
  append_json_string(out, std::string("a\"b\\c\n\x01\xff", 8));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\\ufffd\"");  // \xff is not UTF-8
  out.clear();
  append_json_string(out, "\xc3\xa9\xf0\x9f\x98\x80\x7f");
  EXPECT_EQ(out, "\"\\u00e9\\ud83d\\ude00\\u007f\"");
  out.clear();
  append_json_string(out, "\xc0\xaf\xed\xa0\x80");  // overlong '/', a surrogate
  EXPECT_EQ(out, "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
  EXPECT_TRUE(is_utf8("\xc3\xa9 ok"));
  EXPECT_FALSE(is_utf8("\xc3"));
}

TEST(Json, ReadsWhatTheAdminApiWrites) {
  JsonValue v = parse_ok(
      R"({"modules":[{"name":"hdr","generation":12,"disabled":false,"sites":["a","b"]}]})");
  ASSERT_TRUE(v["modules"].is_array());
  const JsonValue& m = v["modules"].items().at(0);
  EXPECT_EQ(m["name"].string_or(""), "hdr");
  EXPECT_EQ(m["generation"].number_or(0), 12);
  EXPECT_FALSE(m["disabled"].bool_or(true));
  EXPECT_EQ(m["sites"].items().size(), 2u);
  EXPECT_EQ(m["missing"].string_or("none"), "none");
  EXPECT_FALSE(m.has("missing"));
}

TEST(Json, RoundTripsEscapes) {
  std::string text;
  append_json_string(text, "tab\there \"q\" \\ \x7f \xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(parse_ok(text).string_or(""), "tab\there \"q\" \\ \x7f \xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(parse_ok(R"("\u00e9\ud83d\ude00")").string_or(""), "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(Json, Numbers) {
  EXPECT_EQ(parse_ok("-1.5e2").number_or(0), -150);
  EXPECT_EQ(parse_ok(" 0 ").number_or(1), 0);
}

TEST(Json, RefusesMalformedDocuments) {
  for (std::string_view bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "tru",
                               "{} x", "\"\\ud800\"", "\"a\nb\"", "-"}) {
    std::string error;
    EXPECT_FALSE(JsonValue::parse(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  std::string deep(100, '[');
  std::string error;
  EXPECT_FALSE(JsonValue::parse(deep + std::string(100, ']'), &error).has_value());
  EXPECT_NE(error.find("deeply"), std::string::npos);
}

}  // namespace
}  // namespace stavka::admin
