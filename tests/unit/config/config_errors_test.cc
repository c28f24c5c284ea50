// Every way a configuration can be rejected, each pinned to its exact line and message.
//
// The message is the user interface of the config layer, so these tests assert the whole
// what() text, not a fragment. Each document is loaded as "t.toml"; line numbers count from
// the first line of the raw string.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"
#include "expect_error.h"

namespace stavka::config {
namespace {

using test::expect_error;

// A valid site, lines 1 to 4, for documents that test one more key of it on line 5.
constexpr std::string_view kSite = R"([[site]]
name = "a"
hosts = ["*"]
origins = ["http://127.0.0.1:8081"]
)";

std::string site_and(std::string_view key) { return std::string(kSite) + std::string(key); }

TEST(ConfigErrors, WhatHasFileLineAndMessage) {
  try {
    load_string("\n\nworkers = \"4\"\n", "stavka.toml");
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "stavka.toml:3: 'workers' must be an integer, got string");
  }
}

TEST(ConfigErrors, TomlSyntax) {
  expect_error("workers = = 1\n", 1, "Error while parsing value: could not determine value type");
  expect_error("workers = 1\n\nvia_name = \"x\n", 3,
               "Error while parsing string: unescaped control characters other than TAB (U+0009) "
               "are explicitly prohibited");
  expect_error("[timeouts]\nclient_idle = \"1s\"\n[timeouts]\n", 3,
               "Error while parsing table header: cannot redefine existing table 'timeouts'");
}

TEST(ConfigErrors, UnknownKeys) {
  expect_error("wrokers = 2\n", 1, "unknown key 'wrokers' (did you mean 'workers'?)");
  expect_error("bogus = 1\n", 1, "unknown key 'bogus'");
  expect_error("[timeouts]\nclient_idle = \"1s\"\nclient_idel = \"1s\"\n", 3,
               "unknown key 'client_idel' in [timeouts] (did you mean 'client_idle'?)");
  expect_error("[limits]\nmax_header = 10\n", 2,
               "unknown key 'max_header' in [limits] (did you mean 'max_headers'?)");
  expect_error("[log]\nacess = \"off\"\n", 2,
               "unknown key 'acess' in [log] (did you mean 'access'?)");
  expect_error("[cache]\ndirectory = \"/tmp\"\n", 2, "unknown key 'directory' in [cache]");
  expect_error("[cache]\ndirr = \"/tmp\"\n", 2,
               "unknown key 'dirr' in [cache] (did you mean 'dir'?)");
  expect_error(site_and("origin = [\"x\"]\n"), 5,
               "unknown key 'origin' in [[site]] (did you mean 'origins'?)");
  expect_error("[[sites]]\nname = \"a\"\n", 1, "unknown key 'sites' (did you mean 'site'?)");
  expect_error("[timeouts.extra]\n", 1, "unknown key 'extra' in [timeouts]");
  expect_error("timeouts.client = \"1s\"\n", 1, "unknown key 'client' in [timeouts]");
}

TEST(ConfigErrors, WrongTypes) {
  expect_error("workers = \"4\"\n", 1, "'workers' must be an integer, got string");
  expect_error("workers = 4.0\n", 1, "'workers' must be an integer, got float");
  expect_error("workers = true\n", 1, "'workers' must be an integer, got boolean");
  expect_error("listen = 8080\n", 1,
               "'listen' must be a string or an array of strings, got integer");
  expect_error("listen = [\n  \"127.0.0.1:1\",\n  2,\n]\n", 3,
               "'listen' must contain only strings, got integer");
  expect_error("admin_listen = 9090\n", 1, "'admin_listen' must be a string, got integer");
  expect_error("via_name = 1979-05-27\n", 1, "'via_name' must be a string, got date");
  expect_error("timeouts = 5\n", 1, "'timeouts' must be a table, got integer");
  expect_error("limits = []\n", 1, "'limits' must be a table, got array");
  expect_error("log = \"off\"\n", 1, "'log' must be a table, got string");
  expect_error("cache = 1\n", 1, "'cache' must be a table, got integer");
  expect_error("[timeouts]\nclient_idle = 60\n", 2,
               "'timeouts.client_idle' must be a duration string such as \"10s\", got integer");
  expect_error("[limits]\nmax_headers = 1.5\n", 2,
               "'limits.max_headers' must be an integer, got float");
  expect_error("[log]\nformat = true\n", 2, "'log.format' must be a string, got boolean");
  expect_error("[log]\naccess = 1\n", 2, "'log.access' must be a string, got integer");
  expect_error("[log]\nlevel = 07:32:00\n", 2, "'log.level' must be a string, got time");
  expect_error("[cache]\ndir = [\"/tmp\"]\n", 2, "'cache.dir' must be a string, got array");
  expect_error("site = 1\n", 1, "'site' must be an array of tables, written as [[site]] sections");
  expect_error("[site]\nname = \"a\"\n", 1,
               "'site' must be an array of tables, written as [[site]] sections");
  expect_error("site = [1, 2]\n", 1,
               "'site' must be an array of tables, written as [[site]] sections");
  expect_error("[[site]]\nname = 1\nhosts = [\"*\"]\norigins = [\"http://1.2.3.4\"]\n", 2,
               "'site.name' must be a string, got integer");
  expect_error("[[site]]\nname = \"a\"\nhosts = {a = 1}\norigins = [\"http://1.2.3.4\"]\n", 3,
               "'site.hosts' must be a string or an array of strings, got table");
  expect_error("[[site]]\nname = \"a\"\nhosts = [\"*\"]\norigins = [\"http://1.2.3.4\", 5]\n", 4,
               "'site.origins' must contain only strings, got integer");
  expect_error(site_and("origin_host = 1\n"), 5,
               "'site.origin_host' must be a string, got integer");
  expect_error(site_and("origin_down_time = 10\n"), 5,
               "'site.origin_down_time' must be a duration string such as \"10s\", got integer");
  expect_error(site_and("origin_keepalive = \"64\"\n"), 5,
               "'site.origin_keepalive' must be an integer, got string");
  expect_error(site_and("origin_retries = 1.0\n"), 5,
               "'site.origin_retries' must be an integer, got float");
  expect_error("workers = 1979-05-27T07:32:00Z\n", 1,
               "'workers' must be an integer, got date-time");
}

TEST(ConfigErrors, Ranges) {
  expect_error("workers = -1\n", 1, "'workers' must be between 0 and 1024, got -1");
  expect_error("workers = 1025\n", 1, "'workers' must be between 0 and 1024, got 1025");
  expect_error("[limits]\nmax_headers = 0\n", 2,
               "'limits.max_headers' must be between 1 and 10000, got 0");
  expect_error("[limits]\nmax_headers = 10001\n", 2,
               "'limits.max_headers' must be between 1 and 10000, got 10001");
  expect_error("[limits]\nmax_header_bytes = 1023\n", 2,
               "'limits.max_header_bytes' must be between 1024 and 1048576, got 1023");
  expect_error("[limits]\nmax_header_bytes = 1048577\n", 2,
               "'limits.max_header_bytes' must be between 1024 and 1048576, got 1048577");
  expect_error("[limits]\nmax_connections = 0\n", 2,
               "'limits.max_connections' must be between 1 and 1048576, got 0");
  expect_error("[limits]\nmax_connections = 1048577\n", 2,
               "'limits.max_connections' must be between 1 and 1048576, got 1048577");
  expect_error("[limits]\nmax_connections = 9223372036854775807\n", 2,
               "'limits.max_connections' must be between 1 and 1048576, got 9223372036854775807");
  expect_error(site_and("origin_keepalive = 4097\n"), 5,
               "'site.origin_keepalive' must be between 0 and 4096, got 4097");
  expect_error(site_and("origin_keepalive = -1\n"), 5,
               "'site.origin_keepalive' must be between 0 and 4096, got -1");
  expect_error(site_and("origin_retries = 17\n"), 5,
               "'site.origin_retries' must be between 0 and 16, got 17");
}

TEST(ConfigErrors, Durations) {
  const std::string_view kFormat =
      ": expected a whole number followed by ms, s, m or h (e.g. \"250ms\", \"10s\")";
  auto bad = [&](std::string_view value) {
    expect_error("[timeouts]\nclient_idle = \"" + std::string(value) + "\"\n", 2,
                 "bad duration '" + std::string(value) + "' for 'timeouts.client_idle'" +
                     std::string(kFormat));
  };
  bad("10");
  bad("");
  bad("s");
  bad("10sec");
  bad("10 s");
  bad("-1s");
  bad("+1s");
  bad("1.5s");
  bad("10S");
  bad("1m30s");
  expect_error("[timeouts]\nclient_idle = \"25h\"\n", 2,
               "bad duration '25h' for 'timeouts.client_idle': must be at most 24h");
  expect_error("[timeouts]\nclient_idle = \"99999999999999999999s\"\n", 2,
               "bad duration '99999999999999999999s' for 'timeouts.client_idle': must be at most "
               "24h");
  expect_error(site_and("origin_down_time = \"1d\"\n"), 5,
               "bad duration '1d' for 'site.origin_down_time'" + std::string(kFormat));
}

TEST(ConfigErrors, ZeroDurations) {
  for (std::string_view key : {"client_header", "client_idle", "client_body", "client_send",
                               "origin_connect", "origin_first_byte", "origin_read",
                               "origin_idle"}) {
    expect_error("[timeouts]\n" + std::string(key) + " = \"0ms\"\n", 2,
                 "'timeouts." + std::string(key) + "' must be more than 0");
  }
}

TEST(ConfigErrors, ListenAddresses) {
  expect_error("listen = \"foo:80\"\n", 1,
               "bad address 'foo:80' for 'listen': host must be a numeric IP address or localhost");
  expect_error("listen = [\"127.0.0.1:80\", \"example.com:80\"]\n", 1,
               "bad address 'example.com:80' for 'listen': host must be a numeric IP address or "
               "localhost");
  expect_error("listen = \"127.0.0.1\"\n", 1,
               "bad address '127.0.0.1' for 'listen': missing port (expected host:port)");
  expect_error("listen = \"127.0.0.1:0\"\n", 1,
               "bad address '127.0.0.1:0' for 'listen': port must be a number from 1 to 65535");
  expect_error("listen = \"127.0.0.1:65536\"\n", 1,
               "bad address '127.0.0.1:65536' for 'listen': port must be a number from 1 to 65535");
  expect_error("listen = \"127.0.0.1:http\"\n", 1,
               "bad address '127.0.0.1:http' for 'listen': port must be a number from 1 to 65535");
  expect_error("listen = \"127.0.0.1:\"\n", 1,
               "bad address '127.0.0.1:' for 'listen': port must be a number from 1 to 65535");
  expect_error("listen = \":8080\"\n", 1, "bad address ':8080' for 'listen': missing host");
  expect_error("listen = \"256.0.0.1:80\"\n", 1,
               "bad address '256.0.0.1:80' for 'listen': host must be a numeric IP address or "
               "localhost");
  expect_error("listen = \"::1:80\"\n", 1,
               "bad address '::1:80' for 'listen': an IPv6 address must be in brackets, e.g. "
               "[::1]:8080");
  expect_error("listen = \"[::1:80\"\n", 1,
               "bad address '[::1:80' for 'listen': missing ']' after the IPv6 address");
  expect_error("listen = \"[::1]80\"\n", 1,
               "bad address '[::1]80' for 'listen': unexpected text after ']'");
  expect_error("listen = \"[::1]\"\n", 1,
               "bad address '[::1]' for 'listen': missing port (expected host:port)");
  expect_error("listen = \"[fe80::zz]:80\"\n", 1,
               "bad address '[fe80::zz]:80' for 'listen': 'fe80::zz' is not a valid IPv6 address");
  expect_error("listen = \"[127.0.0.1]:80\"\n", 1,
               "bad address '[127.0.0.1]:80' for 'listen': '127.0.0.1' is not a valid IPv6 "
               "address");
  expect_error("listen = []\n", 1, "'listen' must not be empty");
  expect_error("listen = [\n  \"127.0.0.1:80\",\n  \"localhost:80\",\n]\n", 3,
               "address 'localhost:80' is listed twice in 'listen'");
  expect_error("listen = [\"[::1]:80\", \"[0:0::1]:80\"]\n", 1,
               "address '[0:0::1]:80' is listed twice in 'listen'");
  expect_error("admin_listen = \"9090\"\n", 1,
               "bad address '9090' for 'admin_listen': host must be a numeric IP address or "
               "localhost");
  expect_error("admin_listen = \"\"\n", 1, "bad address '' for 'admin_listen': missing host");
  expect_error("listen = \"127.0.0.1:80\"\nadmin_listen = \"127.0.0.1:80\"\n", 2,
               "'admin_listen' '127.0.0.1:80' is also in 'listen'");
  expect_error("admin_listen = \"127.0.0.1:8080\"\n", 1,
               "'admin_listen' '127.0.0.1:8080' is also in 'listen'");
}

std::string site_with_origin(std::string_view origin) {
  return "[[site]]\nname = \"a\"\nhosts = [\"*\"]\norigins = [\"" + std::string(origin) + "\"]\n";
}

TEST(ConfigErrors, Origins) {
  auto bad = [](std::string_view origin, std::string_view reason) {
    expect_error(site_with_origin(origin), 4,
                 "bad origin '" + std::string(origin) + "' for 'site.origins': " +
                     std::string(reason));
  };
  bad("https://127.0.0.1:8443", "https origins need TLS, which this build does not support yet");
  bad("HTTPS://127.0.0.1", "https origins need TLS, which this build does not support yet");
  bad("ftp://127.0.0.1", "scheme must be http");
  bad("127.0.0.1:8081", "expected http://host[:port]");
  bad("http://127.0.0.1:8081/app", "an origin cannot have a path, query or fragment");
  bad("http://127.0.0.1//", "an origin cannot have a path, query or fragment");
  bad("http://127.0.0.1?x=1", "an origin cannot have a path, query or fragment");
  bad("http://127.0.0.1#top", "an origin cannot have a path, query or fragment");
  bad("http://user@127.0.0.1", "user information is not allowed");
  bad("http://", "missing host");
  bad("http://:8081", "missing host");
  bad("http://example.com", "host must be a numeric IP address or localhost");
  bad("http://127.0.0.1:0", "port must be a number from 1 to 65535");
  bad("http://127.0.0.1:99999", "port must be a number from 1 to 65535");
  bad("http://::1", "an IPv6 address must be in brackets, e.g. [::1]:8080");
  bad("http://[::1", "missing ']' after the IPv6 address");
  expect_error("[[site]]\nname = \"a\"\nhosts = [\"*\"]\norigins = []\n", 4,
               "'site.origins' must not be empty");
  expect_error(
      "[[site]]\nname = \"a\"\nhosts = [\"*\"]\norigins = [\n  \"http://127.0.0.1\",\n  "
      "\"http://127.0.0.1:80/\",\n]\n",
      6, "origin 'http://127.0.0.1:80/' is listed twice in site 'a'");
}

std::string site_with_hosts(std::string_view name, std::string_view hosts) {
  return "[[site]]\nname = \"" + std::string(name) + "\"\nhosts = " + std::string(hosts) +
         "\norigins = [\"http://127.0.0.1:8081\"]\n";
}

TEST(ConfigErrors, Hosts) {
  auto bad = [](std::string_view host, std::string_view reason) {
    expect_error(site_with_hosts("a", "[\"" + std::string(host) + "\"]"), 3,
                 "bad host '" + std::string(host) + "' for 'site.hosts': " + std::string(reason));
  };
  bad("", "a host name cannot be empty");
  bad("example .com", "a host name cannot contain spaces");
  bad(" example.com", "a host name cannot contain spaces");
  expect_error(site_with_hosts("a", "[\"example.com\\t\"]"), 3,  // TOML escape: a real tab
               "bad host 'example.com\\x09' for 'site.hosts': a host name cannot contain spaces");
  bad("example.com:80", "a host name cannot include a port (ports are ignored when matching)");
  bad("*example.com", "'*' is only allowed alone or as a leading '*.'");
  bad("www.*.com", "'*' is only allowed alone or as a leading '*.'");
  bad("*.*.com", "'*' is only allowed alone or as a leading '*.'");
  bad("**", "'*' is only allowed alone or as a leading '*.'");
  bad("example.*", "'*' is only allowed alone or as a leading '*.'");
  bad("*.", "a host name cannot have an empty label (a leading, trailing or doubled '.')");
  bad(".example.com",
      "a host name cannot have an empty label (a leading, trailing or doubled '.')");
  bad("example.com.",
      "a host name cannot have an empty label (a leading, trailing or doubled '.')");
  bad("a..b", "a host name cannot have an empty label (a leading, trailing or doubled '.')");
  bad("exa/mple", "a host name may only contain letters, digits, '-', '_' and '.'");
  bad("[::1]:80", "a host name may only contain letters, digits, '-', '_' and '.'");
  expect_error(site_with_hosts("a", "[]"), 3, "'site.hosts' must not be empty");
  expect_error(site_with_hosts("a", "[\"é.com\"]"), 3,
               "bad host '\\xc3\\xa9.com' for 'site.hosts': a host name may only contain "
               "letters, digits, '-', '_' and '.'");
  expect_error(site_with_hosts("a", "[\n  \"Example.com\",\n  \"example.COM\",\n]"), 5,
               "host 'example.com' is listed twice in site 'a'");
}

TEST(ConfigErrors, HostClaimedByTwoSites) {
  expect_error(site_with_hosts("one", "[\"example.com\", \"*.example.com\"]") + "\n" +
                   site_with_hosts("two", "[\n  \"other.com\",\n  \"*.Example.com\",\n]"),
               10, "host '*.example.com' is claimed by both site 'one' and site 'two'");
  expect_error(site_with_hosts("one", "\"*\"") + site_with_hosts("two", "\"*\""), 7,
               "host '*' is claimed by both site 'one' and site 'two'");
}

TEST(ConfigErrors, Sites) {
  expect_error("workers = 1\n\n[[site]]\nhosts = [\"*\"]\norigins = [\"http://127.0.0.1\"]\n", 3,
               "[[site]] is missing the required key 'name'");
  expect_error("[[site]]\nname = \"a\"\norigins = [\"http://127.0.0.1\"]\n", 1,
               "[[site]] is missing the required key 'hosts'");
  expect_error("[[site]]\nname = \"a\"\nhosts = [\"*\"]\n", 1,
               "[[site]] is missing the required key 'origins'");
  expect_error("site = [{name = \"a\"}]\n", 1, "[[site]] is missing the required key 'hosts'");
  expect_error(site_with_hosts("a", "[\"a.com\"]") + site_with_hosts("a", "[\"b.com\"]"), 6,
               "duplicate site name 'a' (first defined at line 2)");
  expect_error(site_with_hosts("", "[\"a.com\"]"), 2,
               "'site.name' must be letters, digits, '-', '_' or '.', got ''");
  expect_error(site_with_hosts("my site", "[\"a.com\"]"), 2,
               "'site.name' must be letters, digits, '-', '_' or '.', got 'my site'");
  expect_error(site_and("origin_host = \"a.com\\r\\nX-Injected: 1\"\n"), 5,
               "'site.origin_host' must be a host name with an optional port, got "
               "'a.com\\x0d\\x0aX-Injected: 1'");
}

TEST(ConfigErrors, Log) {
  expect_error("[log]\naccess = \"\"\n", 2,
               "'log.access' must not be empty (use \"off\" to turn the access log off)");
  expect_error("[log]\nformat = \"xml\"\n", 2,
               "'log.format' must be \"text\" or \"json\", got 'xml'");
  expect_error("[log]\nformat = \"JSON\"\n", 2,
               "'log.format' must be \"text\" or \"json\", got 'JSON'");
  expect_error("[log]\nlevel = \"trace\"\n", 2,
               "'log.level' must be \"error\", \"warn\", \"info\" or \"debug\", got 'trace'");
}

TEST(ConfigErrors, ViaName) {
  expect_error("via_name = \"my proxy\"\n", 1,
               "'via_name' must be a non-empty HTTP token (no spaces or separators), got "
               "'my proxy'");
  expect_error("via_name = \"\"\n", 1,
               "'via_name' must be a non-empty HTTP token (no spaces or separators), got ''");
  expect_error("via_name = \"a,b\"\n", 1,
               "'via_name' must be a non-empty HTTP token (no spaces or separators), got 'a,b'");
}

TEST(ConfigErrors, MessagesEscapeControlCharacters) {
  expect_error("\"a\\u0007b\" = 1\n", 1, "unknown key 'a\\x07b'");
}

TEST(ConfigErrors, MissingFile) {
  try {
    load_file("/nonexistent/stavka.toml");
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "/nonexistent/stavka.toml: cannot open: No such file or directory");
    EXPECT_EQ(error.line(), 0);
  }
}

TEST(ConfigErrors, DirectoryInsteadOfFile) {
  try {
    load_file("/");
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "/: is a directory, not a configuration file");
    EXPECT_EQ(error.line(), 0);
  }
}

TEST(ConfigErrors, LineZeroAndEmptyFileFormats) {
  EXPECT_STREQ(ConfigError("f.toml", 0, "m").what(), "f.toml: m");
  EXPECT_STREQ(ConfigError("f.toml", 7, "m").what(), "f.toml:7: m");
  EXPECT_STREQ(ConfigError("", 0, "m").what(), "m");
  EXPECT_STREQ(ConfigError("", 7, "m").what(), "line 7: m");
}

}  // namespace
}  // namespace stavka::config
