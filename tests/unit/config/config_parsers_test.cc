// The value parsers shared with command-line flags: parse_listen_address, parse_origin_url
// and parse_duration. Their errors carry no file and no line, so what() is the bare message.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"

namespace stavka::config {
namespace {

using namespace std::chrono_literals;

template <typename Parse>
void expect_parse_error(Parse parse, std::string_view text, std::string_view message) {
  try {
    parse(text);
    ADD_FAILURE() << "expected an error for '" << text << "'";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.what(), std::string(message));
    EXPECT_EQ(error.file(), "");
    EXPECT_EQ(error.line(), 0);
  }
}

TEST(ParseListenAddress, Accepts) {
  ListenAddress a = parse_listen_address("127.0.0.1:8080");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8080);
  EXPECT_EQ(a.text, "127.0.0.1:8080");
  ListenAddress any = parse_listen_address("0.0.0.0:1");
  EXPECT_EQ(any.host, "0.0.0.0");
  EXPECT_EQ(any.port, 1);
  ListenAddress v6 = parse_listen_address("[::1]:65535");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 65535);
  EXPECT_EQ(v6.text, "[::1]:65535");
  EXPECT_EQ(parse_listen_address("[2001:DB8:0::1]:80").host, "2001:db8::1");  // canonical form
  ListenAddress local = parse_listen_address("LocalHost:9090");
  EXPECT_EQ(local.host, "127.0.0.1");
  EXPECT_EQ(local.text, "LocalHost:9090");
}

TEST(ParseListenAddress, Rejects) {
  auto parse = [](std::string_view t) { return parse_listen_address(t); };
  expect_parse_error(parse, "foo:80",
                     "bad address 'foo:80': host must be a numeric IP address or localhost");
  expect_parse_error(parse, "127.0.0.1",
                     "bad address '127.0.0.1': missing port (expected host:port)");
  expect_parse_error(parse, "", "bad address '': missing host");
  expect_parse_error(parse, "1.2.3:80",
                     "bad address '1.2.3:80': host must be a numeric IP address or localhost");
  expect_parse_error(parse, "01.2.3.4:80",
                     "bad address '01.2.3.4:80': host must be a numeric IP address or localhost");
  expect_parse_error(parse, "1.2.3.4:-1",
                     "bad address '1.2.3.4:-1': port must be a number from 1 to 65535");
  expect_parse_error(parse, "1.2.3.4:080000",
                     "bad address '1.2.3.4:080000': port must be a number from 1 to 65535");
  expect_parse_error(parse, "[::1]", "bad address '[::1]': missing port (expected host:port)");
  expect_parse_error(parse, "[]:80", "bad address '[]:80': '' is not a valid IPv6 address");
  expect_parse_error(parse, "[fe80::1%eth0]:80",
                     "bad address '[fe80::1%eth0]:80': 'fe80::1%eth0' is not a valid IPv6 address");
  expect_parse_error(parse, std::string_view("1.2.3.4\0:80", 11),
                     "bad address '1.2.3.4\\x00:80': host must be a numeric IP address or "
                     "localhost");
}

TEST(ParseOriginUrl, Accepts) {
  OriginUrl o = parse_origin_url("http://127.0.0.1:8081");
  EXPECT_EQ(o.scheme, "http");
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 8081);
  EXPECT_EQ(o.text, "http://127.0.0.1:8081");
  OriginUrl no_port = parse_origin_url("http://10.1.2.3/");
  EXPECT_EQ(no_port.host, "10.1.2.3");
  EXPECT_EQ(no_port.port, 80);
  OriginUrl v6 = parse_origin_url("Http://[::1]");
  EXPECT_EQ(v6.scheme, "http");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 80);
  EXPECT_EQ(parse_origin_url("http://localhost:3000").host, "127.0.0.1");
}

TEST(ParseOriginUrl, Rejects) {
  auto parse = [](std::string_view t) { return parse_origin_url(t); };
  expect_parse_error(parse, "https://127.0.0.1",
                     "bad origin 'https://127.0.0.1': https origins need TLS, which this build "
                     "does not support yet");
  expect_parse_error(parse, "ws://127.0.0.1", "bad origin 'ws://127.0.0.1': scheme must be http");
  expect_parse_error(parse, "://127.0.0.1", "bad origin '://127.0.0.1': scheme must be http");
  expect_parse_error(parse, "http:/127.0.0.1",
                     "bad origin 'http:/127.0.0.1': expected http://host[:port]");
  expect_parse_error(parse, "", "bad origin '': expected http://host[:port]");
  expect_parse_error(parse, "http://127.0.0.1/x",
                     "bad origin 'http://127.0.0.1/x': an origin cannot have a path, query or "
                     "fragment");
  expect_parse_error(parse, "http://origin.internal",
                     "bad origin 'http://origin.internal': host must be a numeric IP address or "
                     "localhost");
  expect_parse_error(parse, "http://a:b@127.0.0.1",
                     "bad origin 'http://a:b@127.0.0.1': user information is not allowed");
}

TEST(ParseDuration, Accepts) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("0ms"), 0ms);
  EXPECT_EQ(parse_duration("0s"), 0s);
  EXPECT_EQ(parse_duration("007s"), 7s);
  EXPECT_EQ(parse_duration("24h"), 24h);
  EXPECT_EQ(parse_duration("1440m"), 24h);
  EXPECT_EQ(parse_duration("86400000ms"), 24h);
}

TEST(ParseDuration, Rejects) {
  auto parse = [](std::string_view t) { return parse_duration(t); };
  const std::string format =
      ": expected a whole number followed by ms, s, m or h (e.g. \"250ms\", \"10s\")";
  for (std::string_view text : {"", "10", "ms", "10ss", "10 s", " 10s", "10s ", "-5s", "1e3ms",
                                "1.5s", "10MS", "1d", "1m30s", "10us"}) {
    expect_parse_error(parse, text, "bad duration '" + std::string(text) + "'" + format);
  }
  expect_parse_error(parse, "86400001ms", "bad duration '86400001ms': must be at most 24h");
  expect_parse_error(parse, "1441m", "bad duration '1441m': must be at most 24h");
  expect_parse_error(parse, "25h", "bad duration '25h': must be at most 24h");
  expect_parse_error(parse, "18446744073709551617s",
                     "bad duration '18446744073709551617s': must be at most 24h");
}

}  // namespace
}  // namespace stavka::config
