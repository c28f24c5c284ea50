// HeaderMap and ASCII case-insensitive comparison.
//
// Stateless helpers plus the field list of one message; a HeaderMap is owned by one request on
// one worker and is never shared. Invariant: fields_ keeps wire order; lookups never reorder it.
#include "http/headers.h"

#include <algorithm>

namespace stavka::http {

namespace {

constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}

}  // namespace

const std::array<bool, 256> tchar_table = make_tchar_table();

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  Header& h = fields_.emplace_back();
  h.name.assign(name);
  h.value.assign(value);
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  // The surviving field takes the position of the first match so that order-sensitive
  // neighbours keep their relative place.
  auto first = std::find_if(fields_.begin(), fields_.end(),
                            [&](const Header& h) { return iequals(h.name, name); });
  if (first == fields_.end()) {
    add(name, value);
    return;
  }
  first->name.assign(name);
  first->value.assign(value);
  auto rest = std::remove_if(first + 1, fields_.end(),
                             [&](const Header& h) { return iequals(h.name, name); });
  fields_.erase(rest, fields_.end());
}

size_t HeaderMap::remove(std::string_view name) {
  return remove_if([&](const Header& h) { return iequals(h.name, name); });
}

const std::string* HeaderMap::find(std::string_view name) const {
  for (const Header& h : fields_) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::vector<std::string_view> HeaderMap::all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const Header& h : fields_) {
    if (iequals(h.name, name)) out.emplace_back(h.value);
  }
  return out;
}

bool HeaderMap::has_token(std::string_view name, std::string_view token) const {
  bool found = false;
  for (const Header& h : fields_) {
    if (found) break;
    if (!iequals(h.name, name)) continue;
    for_each_token(h.value, [&](std::string_view item) {
      if (!found && iequals(item, token)) found = true;
    });
  }
  return found;
}

}  // namespace stavka::http
