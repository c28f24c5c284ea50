// The [cache] section and the per-site cache keys: defaults, every unit of size, and each
// rejection with its line.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"

namespace stavka::config {
namespace {

std::string error_of(std::string_view toml) {
  try {
    load_string(toml, "t.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(ConfigCache, Defaults) {
  Config c = load_string("", "t.toml");
  EXPECT_EQ(c.cache.dir, "");
  EXPECT_EQ(c.cache.memory, uint64_t{256} << 20);
  EXPECT_EQ(c.cache.max_size, uint64_t{10} << 30);
  EXPECT_EQ(c.cache.block_size, 1u << 20);
  EXPECT_EQ(c.cache.readahead, uint64_t{4} << 20);
  EXPECT_EQ(c.cache.fill_continue_max, uint64_t{64} << 20);
  EXPECT_DOUBLE_EQ(c.cache.heuristic_fraction, 0.1);
  EXPECT_EQ(c.cache.heuristic_max, std::chrono::hours(24));
  EXPECT_EQ(c.cache.uncacheable_ttl, std::chrono::minutes(2));
}

TEST(ConfigCache, EveryKey) {
  Config c = load_string(R"([cache]
dir = "/var/cache/stavka"
memory = "64MiB"
max_size = "2GB"
block_size = 65536
readahead = 0
fill_continue_max = "1KiB"
heuristic_fraction = 0.25
heuristic_max = "1h"
uncacheable_ttl = "0s"

[[site]]
name = "a"
hosts = ["*"]
origins = ["http://127.0.0.1:8081"]
cache = false
cache_ignore_query = true
cache_key_headers = ["X-Device", "accept-language"]
block_size = "256KiB"
readahead = "1MiB"
fill_whole_objects = true

[[site]]
name = "b"
hosts = ["b.example"]
origins = ["http://127.0.0.1:8082"]
)",
                         "t.toml");
  EXPECT_EQ(c.cache.dir, "/var/cache/stavka");
  EXPECT_EQ(c.cache.memory, uint64_t{64} << 20);
  EXPECT_EQ(c.cache.max_size, uint64_t{2'000'000'000});
  EXPECT_EQ(c.cache.block_size, 65536u);
  EXPECT_EQ(c.cache.fill_continue_max, 1024u);
  EXPECT_EQ(c.cache.readahead, 0u);
  EXPECT_EQ(block_size_for(c, c.sites[0]), 256u * 1024);
  EXPECT_EQ(readahead_for(c, c.sites[0]), 1u << 20);
  EXPECT_TRUE(c.sites[0].fill_whole_objects);
  EXPECT_EQ(block_size_for(c, c.sites[1]), 65536u) << "unset: the [cache] value";
  EXPECT_EQ(readahead_for(c, c.sites[1]), 0u);
  EXPECT_FALSE(c.sites[1].fill_whole_objects);
  EXPECT_DOUBLE_EQ(c.cache.heuristic_fraction, 0.25);
  EXPECT_EQ(c.cache.heuristic_max, std::chrono::hours(1));
  EXPECT_EQ(c.cache.uncacheable_ttl, Millis(0));
  ASSERT_EQ(c.sites.size(), 2u);
  EXPECT_FALSE(c.sites[0].cache);
  EXPECT_TRUE(c.sites[0].cache_ignore_query);
  EXPECT_EQ(c.sites[0].cache_key_headers,
            (std::vector<std::string>{"x-device", "accept-language"}));
}

TEST(ConfigCache, SiteDefaults) {
  Config c = load_string("[[site]]\nname = \"a\"\nhosts = [\"*\"]\norigins = [\"http://127.0.0.1:1\"]\n",
                         "t.toml");
  EXPECT_TRUE(c.sites[0].cache);
  EXPECT_FALSE(c.sites[0].cache_ignore_query);
  EXPECT_TRUE(c.sites[0].cache_key_headers.empty());
}

TEST(ConfigCache, SizeUnits) {
  auto memory = [](std::string_view text) {
    return load_string("[cache]\nmemory = \"" + std::string(text) + "\"\n", "t.toml").cache.memory;
  };
  EXPECT_EQ(memory("0"), 0u);
  EXPECT_EQ(memory("512B"), 512u);
  EXPECT_EQ(memory("3KiB"), 3072u);
  EXPECT_EQ(memory("1GiB"), uint64_t{1} << 30);
  EXPECT_EQ(memory("1TiB"), uint64_t{1} << 40);
  EXPECT_EQ(memory("5MB"), 5'000'000u);
}

TEST(ConfigCache, Rejections) {
  EXPECT_EQ(error_of("[cache]\nmemory = \"12 MiB\"\n"),
            "t.toml:2: bad size '12 MiB' for 'cache.memory': expected a whole number of bytes "
            "with an optional unit: KiB, MiB, GiB, TiB (or KB, MB, GB, TB), e.g. \"256MiB\"");
  EXPECT_EQ(error_of("[cache]\nmemory = \"2PiB\"\n"),
            "t.toml:2: bad size '2PiB' for 'cache.memory': expected a whole number of bytes "
            "with an optional unit: KiB, MiB, GiB, TiB (or KB, MB, GB, TB), e.g. \"256MiB\"");
  EXPECT_EQ(error_of("[cache]\nmemory = \"2000TiB\"\n"),
            "t.toml:2: bad size '2000TiB' for 'cache.memory': must be at most 1PiB");
  EXPECT_EQ(error_of("[cache]\nmemory = -1\n"), "t.toml:2: 'cache.memory' must not be negative");
  EXPECT_EQ(error_of("[cache]\nmemory = true\n"),
            "t.toml:2: 'cache.memory' must be a size such as \"256MiB\" or a number of bytes, "
            "got boolean");
  EXPECT_EQ(error_of("[cache]\nblock_size = \"1KiB\"\n"),
            "t.toml:2: 'cache.block_size' must be at least 4096 bytes");
  EXPECT_EQ(error_of("[cache]\nblock_size = \"128MiB\"\n"),
            "t.toml:2: 'cache.block_size' must be at most 64MiB");
  EXPECT_EQ(error_of("[cache]\nheuristic_fraction = 2\n"),
            "t.toml:2: 'cache.heuristic_fraction' must be between 0 and 1");
  EXPECT_EQ(error_of("[cache]\nheuristic_fraction = \"0.1\"\n"),
            "t.toml:2: 'cache.heuristic_fraction' must be a number, got string");
  EXPECT_EQ(error_of("[cache]\ndir = \"\"\n"),
            "t.toml:2: 'cache.dir' must not be empty (leave it out instead)");
  EXPECT_EQ(error_of("[cache]\nmemroy = \"1MiB\"\n"),
            "t.toml:2: unknown key 'memroy' in [cache] (did you mean 'memory'?)");
  const std::string site = "[[site]]\nname = \"a\"\nhosts = [\"*\"]\norigins = [\"http://127.0.0.1:1\"]\n";
  EXPECT_EQ(error_of(site + "cache = \"yes\"\n"), "t.toml:5: 'site.cache' must be true or false, got string");
  EXPECT_EQ(error_of(site + "cache_key_headers = [\"X Device\"]\n"),
            "t.toml:5: 'site.cache_key_headers' needs header names, got 'X Device'");
  EXPECT_EQ(error_of(site + "cache_key_headers = [\"A\", \"a\"]\n"),
            "t.toml:5: header 'a' is listed twice in 'site.cache_key_headers'");
  EXPECT_EQ(error_of(site + "block_size = \"2KiB\"\n"),
            "t.toml:5: 'site.block_size' must be at least 4096 bytes");
  EXPECT_EQ(error_of(site + "block_size = \"65MiB\"\n"),
            "t.toml:5: 'site.block_size' must be at most 64MiB");
  EXPECT_EQ(error_of(site + "readahead = -1\n"), "t.toml:5: 'site.readahead' must not be negative");
  EXPECT_TRUE(error_of("[cache]\nreadahead = \"4 apples\"\n")
                  .starts_with("t.toml:2: bad size '4 apples' for 'cache.readahead': "));
  EXPECT_EQ(error_of(site + "fill_whole_objects = 1\n"),
            "t.toml:5: 'site.fill_whole_objects' must be true or false, got integer");
}

}  // namespace
}  // namespace stavka::config
