// HeaderMap: an ordered list of HTTP fields with case-insensitive lookup.
//
// Owned by one request on one worker; never shared between threads. Field order is kept as
// received (it matters for Via, X-Forwarded-For and Set-Cookie). Names keep their original
// spelling; comparisons ignore ASCII case. Views handed out (Header, find()) point into the
// map and are valid until it changes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// Field names the proxy looks at in every head it forwards, recognised once when a field is
// added or parsed, so that each later check compares a number rather than a name.
enum class KnownField : uint8_t {
  other,
  connection,
  keep_alive,
  te,
  trailer,
  transfer_encoding,
  upgrade,
  proxy_any,  // Proxy-*
  content_length,
  host,
  via,
  expect,
  x_forwarded_for,
  x_forwarded_host,
  x_forwarded_proto,
};
KnownField classify_field(std::string_view name);

// One field, as views into the HeaderMap it came from: valid until that map changes.
struct Header {
  std::string_view name;
  std::string_view value;
  KnownField known = KnownField::other;
};

// The fields live in one buffer, each as the line it is on the wire ("Name: value\r\n", or as
// received), with a small index entry per field. A message head thus costs two allocations
// however many fields it has (none when a cleared map is refilled), and a serialiser copies
// runs of untouched lines in one piece. Removing or replacing a field leaves its old line unused
// in the buffer until the map is cleared or compacted (when the unused bytes outweigh the used
// ones).
class HeaderMap {
 public:
  class Iterator;

  void add(std::string_view name, std::string_view value);
  // Replaces every field with this name by a single one.
  void set(std::string_view name, std::string_view value);
  // Removes every field with this name; returns how many were removed.
  size_t remove(std::string_view name);
  // The first field with this name.
  std::optional<std::string_view> find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name).has_value(); }
  // Every value of this name, in order.
  std::vector<std::string_view> all(std::string_view name) const;
  // How many fields have this name.
  size_t count(std::string_view name) const;
  // True if a comma-separated list field of this name contains token (case-insensitive).
  bool has_token(std::string_view name, std::string_view token) const;

  // The field at position i (< size()).
  Header operator[](size_t i) const { return view(fields_[i]); }
  // Replaces the field at position i (its name's spelling too), keeping its position.
  void replace(size_t i, std::string_view name, std::string_view value);
  // Inserts a field before position i (size(): at the end).
  void insert(size_t i, std::string_view name, std::string_view value);
  // Keeps the fields at the positions for which keep(i) is true, in order.
  template <typename Keep>
  void keep_if(Keep keep) {
    size_t out = 0;
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (keep(i)) fields_[out++] = fields_[i];
      else used_ -= line_size(fields_[i]);
    }
    fields_.resize(out);
    compact_if_sparse();
  }
  template <typename Pred>
  size_t remove_if(Pred pred) {
    size_t before = fields_.size();
    keep_if([&](size_t i) { return !pred(view(fields_[i])); });
    return before - fields_.size();
  }

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  // Forgets every field, keeping the memory for the next message unless its buffer grew past
  // keep_at_most bytes (one large head must not pin its memory in a recycled parser).
  void clear(size_t keep_at_most = SIZE_MAX);
  void reserve(size_t fields, size_t bytes);
  // Makes this a copy of other, with room for more_fields fields of more_bytes bytes after it.
  void assign(const HeaderMap& other, size_t more_fields, size_t more_bytes);
  Iterator begin() const;
  Iterator end() const;

  // Bytes of the buffer in use, lines no field points to any more included.
  size_t buffer_size() const { return bytes_.size(); }
  size_t buffer_capacity() const { return bytes_.capacity(); }
  // The wire line of field i: "Name: value\r\n", or as it was received.
  std::string_view line(size_t i) const {
    return {bytes_.data() + fields_[i].at, line_size(fields_[i])};
  }
  // For serialisers: the size of the lines of the fields skip(Header) refuses, and a copy
  // of those lines to `to` (a run of lines next to each other in the buffer in one piece), which
  // returns the end of what it wrote.
  template <typename Skip>
  size_t lines_size(Skip skip) const {
    size_t n = 0;
    for (const Field& f : fields_) {
      if (!skip(view(f))) n += line_size(f);
    }
    return n;
  }
  template <typename Skip>
  char* copy_lines(char* to, Skip skip) const {
    const char* run = nullptr;  // the start of the run being gathered
    size_t len = 0;
    for (const Field& f : fields_) {
      if (skip(view(f))) continue;
      const char* line = bytes_.data() + f.at;
      if (run != nullptr && run + len == line) {
        len += line_size(f);
        continue;
      }
      if (len != 0) std::memcpy(to, run, len);
      to += len;
      run = line;
      len = line_size(f);
    }
    if (len != 0) std::memcpy(to, run, len);
    return to + len;
  }

  // For the HTTP/1 parser, which copies a head section's bytes as they arrive (append_raw) and
  // names the field lines in them (add_raw_line: offsets from the start of the buffer; the line
  // ends with CRLF). The bytes around them (the start line, the blank line) stay unused.
  void append_raw(const char* p, size_t n) { bytes_.append(p, n); }
  size_t raw_size() const { return bytes_.size(); }
  const char* raw_data() const { return bytes_.data(); }
  void add_raw_line(size_t at, size_t name_size, size_t value_at, size_t value_size,
                    size_t line_size) {
    fields_.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(name_size),
                       static_cast<uint32_t>(value_at - at), static_cast<uint32_t>(value_size),
                       static_cast<uint32_t>(line_size),
                       classify_field({bytes_.data() + at, name_size})});
    used_ += line_size;
  }

 private:
  // A growable byte array: what std::string would be without the terminator, the aliasing
  // checks and the out-of-line appends, which cost more than the few bytes a field adds.
  class Bytes {
   public:
    Bytes() = default;
    Bytes(const Bytes& o) { *this = o; }
    Bytes(Bytes&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)),
          size_(std::exchange(o.size_, 0)),
          capacity_(std::exchange(o.capacity_, 0)) {}
    Bytes& operator=(const Bytes& o);
    Bytes& operator=(Bytes&& o) noexcept {
      std::swap(data_, o.data_);
      std::swap(size_, o.size_);
      std::swap(capacity_, o.capacity_);
      return *this;
    }
    ~Bytes() { std::free(data_); }

    const char* data() const { return data_; }
    size_t size() const { return size_; }
    size_t capacity() const { return capacity_; }
    char back() const { return data_[size_ - 1]; }
    // n more bytes at the end, to be written by the caller.
    char* extend(size_t n) {
      if (size_ + n > capacity_) grow(n);
      char* at = data_ + size_;
      size_ += static_cast<uint32_t>(n);
      return at;
    }
    void append(const char* p, size_t n) {
      if (n != 0) std::memcpy(extend(n), p, n);
    }
    void shrink(size_t n) { size_ -= static_cast<uint32_t>(n); }
    void clear() { size_ = 0; }
    void reserve(size_t n) {
      if (n > capacity_) grow(n - size_);
    }

   private:
    void grow(size_t more);
    char* data_ = nullptr;
    uint32_t size_ = 0;
    uint32_t capacity_ = 0;
  };

  struct Field {
    uint32_t at;          // where the line starts in bytes_
    uint32_t name_size;   // the name starts the line
    uint32_t value_from;  // where the value starts, from the line's start (after ":" and OWS)
    uint32_t value_size;
    uint32_t line_size;   // the line, its CRLF included ("name: value\r\n" when added here)
    KnownField known;
  };
  static size_t line_size(const Field& f) { return f.line_size; }
  Header view(const Field& f) const {
    const char* p = bytes_.data() + f.at;
    return {{p, f.name_size}, {p + f.value_from, f.value_size}, f.known};
  }
  Field append_line(std::string_view name, std::string_view value);
  void compact_if_sparse();

  Bytes bytes_;
  std::vector<Field> fields_;
  size_t used_ = 0;  // bytes of the lines fields point to (the rest of bytes_ is unused)
};

class HeaderMap::Iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = Header;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Header;

  Iterator() = default;
  Iterator(const HeaderMap* map, size_t i) : map_(map), i_(i) {}
  Header operator*() const { return (*map_)[i_]; }
  struct Arrow {
    Header h;
    const Header* operator->() const { return &h; }
  };
  Arrow operator->() const { return {(*map_)[i_]}; }
  Iterator& operator++() {
    ++i_;
    return *this;
  }
  Iterator operator++(int) {
    Iterator before = *this;
    ++i_;
    return before;
  }
  bool operator==(const Iterator& o) const { return i_ == o.i_; }

 private:
  const HeaderMap* map_ = nullptr;
  size_t i_ = 0;
};

inline HeaderMap::Iterator HeaderMap::begin() const { return {this, 0}; }
inline HeaderMap::Iterator HeaderMap::end() const { return {this, fields_.size()}; }

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
