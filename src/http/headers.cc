// HeaderMap and ASCII case-insensitive comparison.
//
// Stateless helpers plus the field list of one message; a HeaderMap is owned by one request on
// one worker and is never shared. Invariants: fields_ keeps wire order and lookups never reorder
// it; every entry points at a whole line in bytes_, CRLF-terminated; used_ is the sum of their
// sizes.
#include "http/headers.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

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

namespace {

// name (of canonical's length) spelled as canonical, or in another case: the usual spelling
// costs a few word compares, the others a byte-by-byte one.
template <size_t N>
bool spelled(std::string_view name, const char (&canonical)[N]) {
  return std::memcmp(name.data(), canonical, N - 1) == 0 ||
         iequals(name, std::string_view(canonical, N - 1));
}

}  // namespace

KnownField classify_field(std::string_view name) {
  switch (name.size()) {
    case 2:
      if (spelled(name, "TE")) return KnownField::te;
      break;
    case 3:
      if (spelled(name, "Via")) return KnownField::via;
      break;
    case 4:
      if (spelled(name, "Host")) return KnownField::host;
      break;
    case 6:
      if (spelled(name, "Expect")) return KnownField::expect;
      break;
    case 7:
      if (spelled(name, "Trailer")) return KnownField::trailer;
      if (spelled(name, "Upgrade")) return KnownField::upgrade;
      break;
    case 10:
      if (spelled(name, "Connection")) return KnownField::connection;
      if (spelled(name, "Keep-Alive")) return KnownField::keep_alive;
      break;
    case 14:
      if (spelled(name, "Content-Length")) return KnownField::content_length;
      break;
    case 15:
      if (spelled(name, "X-Forwarded-For")) return KnownField::x_forwarded_for;
      break;
    case 16:
      if (spelled(name, "X-Forwarded-Host")) return KnownField::x_forwarded_host;
      break;
    case 17:
      if (spelled(name, "Transfer-Encoding")) return KnownField::transfer_encoding;
      if (spelled(name, "X-Forwarded-Proto")) return KnownField::x_forwarded_proto;
      break;
  }
  if (name.size() >= 6 && (name[0] | 0x20) == 'p' && iequals(name.substr(0, 6), "proxy-")) {
    return KnownField::proxy_any;
  }
  return KnownField::other;
}

HeaderMap::Bytes& HeaderMap::Bytes::operator=(const Bytes& o) {
  if (this == &o) return *this;
  size_ = 0;
  reserve(o.size_);
  append(o.data_, o.size_);
  return *this;
}

void HeaderMap::Bytes::grow(size_t more) {
  size_t want = std::max<size_t>({size_t{size_} + more, size_t{capacity_} * 2, 256});
  if (want > UINT32_MAX) throw std::length_error("HeaderMap: fields exceed 4 GiB");
  char* bigger = static_cast<char*>(std::realloc(data_, want));
  if (bigger == nullptr) throw std::bad_alloc();
  data_ = bigger;
  capacity_ = static_cast<uint32_t>(want);
}

HeaderMap::Field HeaderMap::append_line(std::string_view name, std::string_view value) {
  const char* base = bytes_.data();
  auto inside = [&](std::string_view v) {
    return !v.empty() && v.data() >= base && v.data() < base + bytes_.size();
  };
  if (inside(name) || inside(value)) {
    // Growing the buffer would move what the views point at: copy them out first.
    std::string copy;
    copy.reserve(name.size() + value.size());
    copy.append(name).append(value);
    std::string_view c = copy;
    return append_line(c.substr(0, name.size()), c.substr(name.size()));
  }
  const size_t line = name.size() + value.size() + 4;
  Field f{static_cast<uint32_t>(bytes_.size()), static_cast<uint32_t>(name.size()),
          static_cast<uint32_t>(name.size() + 2), static_cast<uint32_t>(value.size()),
          static_cast<uint32_t>(line), classify_field(name)};
  char* p = bytes_.extend(line);
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
  return f;
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  Field f = append_line(name, value);
  fields_.push_back(f);
  used_ += line_size(f);
}

void HeaderMap::insert(size_t i, std::string_view name, std::string_view value) {
  Field f = append_line(name, value);
  fields_.insert(fields_.begin() + static_cast<std::ptrdiff_t>(i), f);
  used_ += line_size(f);
}

void HeaderMap::replace(size_t i, std::string_view name, std::string_view value) {
  Field f = append_line(name, value);
  used_ += line_size(f) - line_size(fields_[i]);
  fields_[i] = f;
  compact_if_sparse();
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  // The surviving field takes the position of the first match so that order-sensitive
  // neighbours keep their relative place.
  size_t first = 0;
  while (first < fields_.size() && !iequals(view(fields_[first]).name, name)) ++first;
  if (first == fields_.size()) {
    add(name, value);
    return;
  }
  replace(first, name, value);
  keep_if([&](size_t i) { return i <= first || !iequals(view(fields_[i]).name, name); });
}

size_t HeaderMap::remove(std::string_view name) {
  return remove_if([&](const Header& h) { return iequals(h.name, name); });
}

std::optional<std::string_view> HeaderMap::find(std::string_view name) const {
  for (const Field& f : fields_) {
    if (f.name_size != name.size()) continue;
    Header h = view(f);
    if (iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::vector<std::string_view> HeaderMap::all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const Field& f : fields_) {
    Header h = view(f);
    if (iequals(h.name, name)) out.emplace_back(h.value);
  }
  return out;
}

size_t HeaderMap::count(std::string_view name) const {
  size_t n = 0;
  for (const Field& f : fields_) {
    if (iequals(view(f).name, name)) ++n;
  }
  return n;
}

bool HeaderMap::has_token(std::string_view name, std::string_view token) const {
  bool found = false;
  for (const Field& f : fields_) {
    if (found) break;
    Header h = view(f);
    if (!iequals(h.name, name)) continue;
    for_each_token(h.value, [&](std::string_view item) {
      if (!found && iequals(item, token)) found = true;
    });
  }
  return found;
}

void HeaderMap::clear(size_t keep_at_most) {
  if (bytes_.capacity() > keep_at_most) bytes_ = Bytes();
  bytes_.clear();
  fields_.clear();
  if (fields_.capacity() * sizeof(Field) > keep_at_most) fields_ = {};
  used_ = 0;
}

void HeaderMap::reserve(size_t fields, size_t bytes) {
  fields_.reserve(fields);
  bytes_.reserve(bytes);
}

void HeaderMap::assign(const HeaderMap& other, size_t more_fields, size_t more_bytes) {
  if (this == &other) return;
  fields_.clear();
  fields_.reserve(other.fields_.size() + more_fields);
  fields_.insert(fields_.end(), other.fields_.begin(), other.fields_.end());
  bytes_.clear();
  bytes_.reserve(other.bytes_.size() + more_bytes);
  bytes_.append(other.bytes_.data(), other.bytes_.size());
  used_ = other.used_;
}

void HeaderMap::compact_if_sparse() {
  const size_t unused = bytes_.size() - used_;
  if (unused < 1024 || unused < used_) return;
  Bytes packed;
  packed.reserve(used_);
  for (Field& f : fields_) {
    size_t at = packed.size();
    packed.append(bytes_.data() + f.at, line_size(f));
    f.at = static_cast<uint32_t>(at);
  }
  bytes_ = std::move(packed);
}

}  // namespace stavka::http
