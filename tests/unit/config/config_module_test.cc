// [[module]] sections and site.modules: every key, its default, and each way they are refused
// (exact line and message, as in config_errors_test.cc).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"
#include "expect_error.h"

namespace stavka::config {
namespace {

using test::expect_error;

// A module on lines 1 to 3; documents append one key on line 4.
constexpr std::string_view kModule = R"([[module]]
name = "m"
file = "/m.wasm"
)";

std::string module_and(std::string_view key) { return std::string(kModule) + std::string(key); }

TEST(ConfigModule, Defaults) {
  Config c = load_string(kModule, "t.toml");
  ASSERT_EQ(c.modules.size(), 1u);
  const ModuleConfig& m = c.modules[0];
  EXPECT_EQ(m.name, "m");
  EXPECT_EQ(m.file, "/m.wasm");
  EXPECT_EQ(m.isolation, ModuleIsolation::worker);
  EXPECT_EQ(m.on_error, ModuleOnError::fail_closed);
  EXPECT_EQ(m.cpu_limit, Millis(10));
  EXPECT_EQ(m.memory_limit, uint64_t{64} << 20);
  EXPECT_EQ(m.max_faults, 10u);
  EXPECT_EQ(m.fault_window, Millis(60000));
  EXPECT_DOUBLE_EQ(m.fault_cpu_share, 0.02);
  EXPECT_FALSE(m.allow_wasi);
  EXPECT_FALSE(m.request_body);
  EXPECT_FALSE(m.response_body);
  EXPECT_EQ(m.body_buffer_limit, uint64_t{1} << 20);
  EXPECT_TRUE(m.upstreams.empty());
}

TEST(ConfigModule, EveryKey) {
  Config c = load_string(R"([[module]]
name = "acl-2"
file = "/m.wasm"
root_id = "root"
vm_configuration = "vm"
configuration = "conf"
isolation = "request"
on_error = "fail-open"
cpu_limit = "25ms"
memory_limit = "8MiB"
max_faults = 3
fault_window = "5s"
fault_cpu_share = 0.5
allow_wasi = true
wasi_dirs = ["/"]
request_body = true
response_body = true
body_buffer_limit = "64KiB"
[module.environment]
LANG = "C"
[module.upstreams]
lists = "http://127.0.0.1:9000"

[[site]]
name = "s"
hosts = ["*"]
origins = ["http://127.0.0.1:8081"]
modules = ["acl-2"]
)", "t.toml");
  const ModuleConfig& m = c.modules.at(0);
  EXPECT_EQ(m.root_id, "root");
  EXPECT_EQ(m.vm_configuration, "vm");
  EXPECT_EQ(m.configuration, "conf");
  EXPECT_EQ(m.isolation, ModuleIsolation::request);
  EXPECT_EQ(m.on_error, ModuleOnError::fail_open);
  EXPECT_EQ(m.cpu_limit, Millis(25));
  EXPECT_EQ(m.memory_limit, uint64_t{8} << 20);
  EXPECT_EQ(m.max_faults, 3u);
  EXPECT_EQ(m.fault_window, Millis(5000));
  EXPECT_DOUBLE_EQ(m.fault_cpu_share, 0.5);
  EXPECT_TRUE(m.allow_wasi);
  EXPECT_EQ(m.wasi_dirs, std::vector<std::string>{"/"});
  EXPECT_TRUE(m.request_body);
  EXPECT_TRUE(m.response_body);
  EXPECT_EQ(m.body_buffer_limit, uint64_t{64} << 10);
  ASSERT_EQ(m.environment.size(), 1u);
  EXPECT_EQ(m.environment[0].first, "LANG");
  ASSERT_EQ(m.upstreams.size(), 1u);
  EXPECT_EQ(m.upstreams[0].first, "lists");
  EXPECT_EQ(m.upstreams[0].second.port, 9000);
  EXPECT_EQ(c.sites.at(0).modules, std::vector<std::string>{"acl-2"});
  EXPECT_EQ(find_module(c, "acl-2"), &m);
  EXPECT_EQ(find_module(c, "other"), nullptr);
}

TEST(ConfigModule, Refused) {
  expect_error(module_and("isolation = \"thread\"\n"), 4,
               "'module.isolation' must be \"worker\" or \"request\", got 'thread'");
  expect_error(module_and("on_error = \"ignore\"\n"), 4,
               "'module.on_error' must be \"fail-open\" or \"fail-closed\", got 'ignore'");
  expect_error(module_and("cpu_limit = \"2m\"\n"), 4, "'module.cpu_limit' must be at most 60s");
  expect_error(module_and("memory_limit = \"5GiB\"\n"), 4,
               "'module.memory_limit' must be at most 4GiB");
  for (std::string_view share : {"0", "1.5", "-0.1"}) {
    expect_error(module_and("fault_cpu_share = " + std::string(share) + "\n"), 4,
                 "'module.fault_cpu_share' must be more than 0 and at most 1");
  }
  expect_error(module_and("fault_cpu_share = \"2%\"\n"), 4,
               "'module.fault_cpu_share' must be a number, got string");
  expect_error(module_and("body_buffer_limit = \"2GiB\"\n"), 4,
               "'module.body_buffer_limit' must be at most 1GiB");
  expect_error(module_and("wasi_dirs = [\"/\"]\n"), 4,
               "'module.wasi_dirs' needs allow_wasi = true");
  expect_error(module_and("[module.upstreams]\nx = \"ftp://h\"\n"), 5,
               "bad upstream 'ftp://h' for 'module.upstreams.x': scheme must be http");
  expect_error("[[module]]\nname = \"a b\"\nfile = \"/m.wasm\"\n", 2,
               "'module.name' must be letters, digits, '-' or '_', got 'a b'");
  expect_error(std::string(kModule) + std::string(kModule), 5,
               "duplicate module name 'm' (first defined at line 2)");
  expect_error(R"([[site]]
name = "s"
hosts = ["*"]
origins = ["http://127.0.0.1:8081"]
modules = ["nope"]
)",
               5, "site 's' names module 'nope', which no [[module]] defines");
}

}  // namespace
}  // namespace stavka::config
