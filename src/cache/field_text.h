// Small text helpers the policy files share: OWS trimming and ASCII lower-casing of field
// names and values.
//
// Header-only and stateless; any thread. Kept apart so that each policy file does not grow its
// own copy.
#pragma once

#include <string>
#include <string_view>

namespace stavka::cache {

// Strips optional whitespace (SP, HTAB; RFC 9110 §5.6.3) from both ends.
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
  }
  return out;
}

}  // namespace stavka::cache
