#include "proxy/access_log.h"

#include <gtest/gtest.h>

namespace stavka::proxy {
namespace {

AccessRecord sample() {
  AccessRecord r;
  r.client_ip = "127.0.0.1";
  r.host = "example.com";
  r.method = "GET";
  r.target = "/a\"b";
  r.status = 200;
  r.bytes = 1234;
  r.duration_ms = 1.5;
  r.upstream_ms = 0.25;
  return r;
}

TEST(AccessLog, TextLine) {
  std::string out;
  AccessLog::format_text(sample(), "2026-01-01T00:00:00.000Z", out);
  EXPECT_EQ(out, "2026-01-01T00:00:00.000Z 127.0.0.1 example.com GET /a\"b 200 1234 1.500 0.250 -\n");
}

TEST(AccessLog, TextLineWithoutOrigin) {
  AccessRecord r = sample();
  r.upstream_ms = -1;
  r.host = "";
  std::string out;
  AccessLog::format_text(r, "T", out);
  EXPECT_EQ(out, "T 127.0.0.1 - GET /a\"b 200 1234 1.500 - -\n");
}

TEST(AccessLog, JsonLineEscapes) {
  AccessRecord r = sample();
  r.target = "/x\"\\\n\x01";
  std::string out;
  AccessLog::format_json(r, "T", out);
  EXPECT_EQ(out,
            "{\"time\":\"T\",\"client\":\"127.0.0.1\",\"host\":\"example.com\",\"method\":\"GET\","
            "\"target\":\"/x\\\"\\\\\\n\\u0001\",\"status\":200,\"bytes\":1234,"
            "\"duration_ms\":1.500,\"upstream_ms\":0.250,\"cache\":\"-\"}\n");
}

}  // namespace
}  // namespace stavka::proxy
