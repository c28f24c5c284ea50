// HeaderMap: an ordered list of HTTP fields with case-insensitive lookup.
//
// Owned by one request on one worker; never shared between threads. Field order is kept as
// received (it matters for Via, X-Forwarded-For and Set-Cookie). Names keep their original
// spelling; comparisons ignore ASCII case.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace stavka::http {

namespace detail {
inline unsigned char lower_byte(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c | 0x20) : c;
}
}  // namespace detail

// ASCII case-insensitive equality. Inline: most calls compare with a literal, and the length
// test then settles almost all of them without a call.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x != y && detail::lower_byte(x) != detail::lower_byte(y)) return false;
  }
  return true;
}

// RFC 9110 §5.6.2: tchar, and token = 1*tchar (what a field name must be).
extern const std::array<bool, 256> tchar_table;
inline bool is_tchar(char c) { return tchar_table[static_cast<unsigned char>(c)]; }
bool is_token(std::string_view text);

struct Header {
  std::string name;
  std::string value;
};

class HeaderMap {
 public:
  void add(std::string_view name, std::string_view value);
  // Replaces every field with this name by a single one.
  void set(std::string_view name, std::string_view value);
  // Removes every field with this name; returns how many were removed.
  size_t remove(std::string_view name);
  // The first field with this name, or nullptr.
  const std::string* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  // Every value of this name, in order.
  std::vector<std::string_view> all(std::string_view name) const;
  // True if a comma-separated list field of this name contains token (case-insensitive).
  bool has_token(std::string_view name, std::string_view token) const;

  template <typename Pred>
  size_t remove_if(Pred pred) {
    size_t before = fields_.size();
    std::erase_if(fields_, pred);
    return before - fields_.size();
  }

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  void clear() { fields_.clear(); }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  std::vector<Header>& fields() { return fields_; }

 private:
  std::vector<Header> fields_;
};

// Calls fn(token) for each element of a comma-separated field value, trimmed of OWS;
// empty elements are skipped.
template <typename Fn>
void for_each_token(std::string_view value, Fn fn) {
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = value.substr(pos, comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) fn(item);
    pos = comma + 1;
  }
}

}  // namespace stavka::http
