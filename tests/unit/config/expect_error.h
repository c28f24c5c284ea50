// expect_error: loads a configuration document as "t.toml" and checks that it is refused on
// `line` with exactly `message` (the whole what() text: the message is the config layer's user
// interface). Line numbers count from the document's first line.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"

namespace stavka::config::test {

inline void expect_error(std::string_view toml, int line, std::string_view message) {
  try {
    load_string(toml, "t.toml");
    ADD_FAILURE() << "expected an error for:\n" << toml;
  } catch (const ConfigError& error) {
    std::string where = line > 0 ? "t.toml:" + std::to_string(line) + ": " : "t.toml: ";
    EXPECT_EQ(error.what(), where + std::string(message)) << "for:\n" << toml;
    EXPECT_EQ(error.line(), line);
    EXPECT_EQ(error.file(), "t.toml");
  }
}

}  // namespace stavka::config::test
