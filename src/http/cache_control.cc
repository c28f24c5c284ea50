// Cache-Control and CDN-Cache-Control parsing; the rules are listed in cache_control.h.
//
// Stateless: every function works on its arguments only and may run on any thread. Two
// scanners live here because the fields have different error models: Cache-Control is an
// RFC 9110 list read leniently, member by member, while CDN-Cache-Control is an RFC 8941
// Dictionary where any syntax error voids the whole field. Both feed the same directive table,
// so a directive means the same thing whichever field carried it. Invariant of every result:
// delta-seconds values are <= max_delta_seconds and field names are non-empty lower-case tokens.
#include "http/cache_control.h"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace stavka::http {

namespace {

// ---- Character classes (RFC 9110 §5.6.2, RFC 8941 §3) ----

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_lcalpha(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// Text allowed unescaped in an RFC 9110 quoted-string: qdtext, including obs-text.
bool is_qdtext(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return c == '\t' || c == ' ' || c == 0x21 || (u >= 0x23 && u != 0x5c && u != 0x7f);
}

// What may follow a backslash in a quoted-pair: HTAB / SP / VCHAR / obs-text.
bool is_quotable(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return c == '\t' || (u >= 0x20 && u != 0x7f);
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
}

// ---- The directive table, shared by both fields ----

enum class Kind {
  unknown,
  restrictive_flag,  // counts whenever named (see the header)
  permissive_flag,   // counts only without an argument
  field_list,        // no-cache, private: unqualified flag or field names
  freshness,         // max-age, s-maxage: conflicts and errors set freshness_invalid
  smallest,          // other delta-seconds: the most conservative value wins
  largest,
};

using Flag = bool CacheDirectives::*;
using Value = std::optional<uint32_t> CacheDirectives::*;
using FieldList = std::vector<std::string> CacheDirectives::*;

struct DirectiveInfo {
  std::string_view name;
  Kind kind = Kind::unknown;
  Flag flag = nullptr;         // the flag kinds, field_list, and max-stale's presence
  Value value = nullptr;       // the delta-seconds kinds
  FieldList fields = nullptr;  // field_list
};

const DirectiveInfo& lookup_directive(std::string_view name) {
  using D = CacheDirectives;
  static const DirectiveInfo table[] = {
      {"max-age", Kind::freshness, nullptr, &D::max_age},
      {"s-maxage", Kind::freshness, nullptr, &D::s_maxage},
      {"no-cache", Kind::field_list, &D::no_cache, nullptr, &D::no_cache_fields},
      {"private", Kind::field_list, &D::is_private, nullptr, &D::private_fields},
      {"no-store", Kind::restrictive_flag, &D::no_store},
      {"no-transform", Kind::restrictive_flag, &D::no_transform},
      {"must-revalidate", Kind::restrictive_flag, &D::must_revalidate},
      {"proxy-revalidate", Kind::restrictive_flag, &D::proxy_revalidate},
      {"public", Kind::permissive_flag, &D::is_public},
      {"immutable", Kind::permissive_flag, &D::immutable},
      {"must-understand", Kind::permissive_flag, &D::must_understand},
      {"only-if-cached", Kind::permissive_flag, &D::only_if_cached},
      {"stale-while-revalidate", Kind::smallest, nullptr, &D::stale_while_revalidate},
      {"stale-if-error", Kind::smallest, nullptr, &D::stale_if_error},
      {"max-stale", Kind::smallest, &D::max_stale, &D::max_stale_value},  // bare: any staleness
      {"min-fresh", Kind::largest, nullptr, &D::min_fresh},
  };
  static const DirectiveInfo unknown;
  for (const DirectiveInfo& info : table) {
    if (iequals(name, info.name)) return info;
  }
  return unknown;
}

// A directive's argument as either field syntax gave it, reduced to what the table needs.
struct Argument {
  bool bare = false;              // no argument, cleanly written (CDN-Cache-Control: Boolean true)
  bool is_false = false;          // CDN-Cache-Control ?0: the directive is not set
  std::optional<uint32_t> delta;  // a well-formed delta-seconds argument
  // A non-empty list of field-name tokens (only read for no-cache and private).
  std::optional<std::vector<std::string_view>> field_names;
};

// "a, B" -> {"a", "B"}; nullopt unless it is a non-empty list of tokens.
std::optional<std::vector<std::string_view>> split_field_names(std::string_view list) {
  std::vector<std::string_view> names;
  bool ok = true;
  for_each_token(list, [&](std::string_view name) {
    ok = ok && is_token(name);
    names.push_back(name);
  });
  if (!ok || names.empty()) return std::nullopt;
  return names;
}

void record_freshness(std::optional<uint32_t> value, std::optional<uint32_t>& slot, bool& invalid) {
  if (!value) {
    invalid = true;
  } else if (!slot) {
    slot = value;
  } else if (*slot != *value) {
    invalid = true;  // conflicting duplicates: keep the first, distrust both
  }
}

// Keeps the more conservative of two well-formed values: the smaller or the larger one.
void keep_bound(std::optional<uint32_t> value, std::optional<uint32_t>& slot, bool smallest) {
  if (value && (!slot || (smallest ? *value < *slot : *value > *slot))) slot = value;
}

// More names than any real no-cache / private list carries; the bound keeps merging linear.
constexpr size_t max_field_names = 64;

void record_field_directive(const Argument& arg, bool& unqualified,
                            std::vector<std::string>& fields) {
  if (arg.is_false) return;
  if (!arg.field_names) {
    // Bare, or an argument that names no readable fields: all fields are meant.
    unqualified = true;
    return;
  }
  for (std::string_view name : *arg.field_names) {
    if (fields.size() == max_field_names) {
      unqualified = true;  // too many to track (and to compare): treat as all fields
      return;
    }
    std::string lowered(name);
    for (char& c : lowered) c = ascii_lower(c);
    if (std::find(fields.begin(), fields.end(), lowered) == fields.end()) {
      fields.push_back(std::move(lowered));
    }
  }
}

void apply_directive(const DirectiveInfo& info, const Argument& arg, CacheDirectives& out) {
  out.present = true;
  switch (info.kind) {
    case Kind::unknown:
      break;
    case Kind::restrictive_flag:
      if (!arg.is_false) out.*info.flag = true;
      break;
    case Kind::permissive_flag:
      if (arg.bare) out.*info.flag = true;
      break;
    case Kind::field_list:
      record_field_directive(arg, out.*info.flag, out.*info.fields);
      break;
    case Kind::freshness:
      record_freshness(arg.delta, out.*info.value, out.freshness_invalid);
      break;
    case Kind::smallest:
      if (info.flag && (arg.bare || arg.delta)) out.*info.flag = true;
      keep_bound(arg.delta, out.*info.value, true);
      break;
    case Kind::largest:
      keep_bound(arg.delta, out.*info.value, false);
      break;
  }
}

// ---- Cache-Control: an RFC 9110 list, read member by member ----

struct Member {
  std::string_view name;
  bool has_argument = false;
  std::string argument;  // unescaped when it was a quoted-string
  bool well_formed = true;
};

// Reads the members of one field line that start with a token, in order.
//
// Linear time on any input. The one trap is a quoted-string that never closes, such as
// x="\"\"\"...: retrying it from every later quote would be quadratic. A failed read stops at
// the same place from any quote inside it (each such quote is the second half of a quoted-pair,
// so the scans coincide after it), so unreadable_until_ remembers that place and quotes before
// it fail at once.
class MemberScanner {
 public:
  explicit MemberScanner(std::string_view line) : line_(line) {}

  bool next(Member& member) {
    for (;;) {
      // Empty list elements (",,") are legal (RFC 9110 §5.6.1).
      while (pos_ < line_.size() && (is_ows(line_[pos_]) || line_[pos_] == ',')) ++pos_;
      if (pos_ == line_.size()) return false;
      size_t name_end = pos_;
      while (name_end < line_.size() && is_tchar(line_[name_end])) ++name_end;
      if (name_end > pos_) {
        member = Member{};
        member.name = line_.substr(pos_, name_end - pos_);
        pos_ = name_end;
        read_rest(member);
        return true;
      }
      skip_to_comma();  // no name: nothing to report
    }
  }

 private:
  void read_rest(Member& member) {
    skip_ows();
    if (pos_ < line_.size() && line_[pos_] == '=') {
      member.has_argument = true;
      ++pos_;
      skip_ows();
      if (pos_ < line_.size() && line_[pos_] == '"') {
        member.well_formed = read_quoted(member.argument);
      } else {
        size_t value_end = pos_;
        while (value_end < line_.size() && is_tchar(line_[value_end])) ++value_end;
        member.argument.assign(line_.substr(pos_, value_end - pos_));
        member.well_formed = value_end > pos_;
        pos_ = value_end;
      }
      if (member.well_formed) skip_ows();
    }
    if (pos_ < line_.size() && line_[pos_] != ',') member.well_formed = false;
    if (!member.well_formed) skip_to_comma();
  }

  // Reads the quoted-string at line_[pos_] == '"'. On success stores the unescaped text and
  // moves past the closing quote; on failure leaves pos_ alone.
  bool read_quoted(std::string& text) {
    if (pos_ < unreadable_until_) return false;
    std::string out;
    size_t i = pos_ + 1;
    for (; i < line_.size(); ++i) {
      char c = line_[i];
      if (c == '"') {
        text = std::move(out);
        pos_ = i + 1;
        return true;
      }
      if (c == '\\') {
        if (i + 1 >= line_.size() || !is_quotable(line_[i + 1])) break;
        out.push_back(line_[++i]);
      } else if (is_qdtext(c)) {
        out.push_back(c);
      } else {
        break;
      }
    }
    unreadable_until_ = i;
    return false;
  }

  // Moves to the next comma that is not inside a quoted-string. A quote that does not open a
  // valid quoted-string is taken literally, so a stray '"' cannot hide the members after it.
  void skip_to_comma() {
    std::string ignored;
    while (pos_ < line_.size() && line_[pos_] != ',') {
      if (line_[pos_] != '"' || !read_quoted(ignored)) ++pos_;
    }
  }

  void skip_ows() {
    while (pos_ < line_.size() && is_ows(line_[pos_])) ++pos_;
  }

  std::string_view line_;
  size_t pos_ = 0;
  size_t unreadable_until_ = 0;  // quotes before this index open no readable quoted-string
};

void apply_member(const Member& m, CacheDirectives& out) {
  const DirectiveInfo& info = lookup_directive(m.name);
  Argument arg;
  arg.bare = m.well_formed && !m.has_argument;
  if (m.well_formed && m.has_argument) {
    arg.delta = parse_delta_seconds(m.argument);
    if (info.kind == Kind::field_list) arg.field_names = split_field_names(m.argument);
  }
  apply_directive(info, arg, out);
}

// ---- CDN-Cache-Control: an RFC 8941 Dictionary, all or nothing ----

struct SfItem {
  enum class Type { integer, decimal, string, token, bytes, boolean, inner_list };
  Type type = Type::boolean;
  int64_t integer = 0;
  bool boolean = true;
  std::string text;           // string (unescaped) or token
  std::vector<SfItem> items;  // inner_list members (bare items only)
};

// A recursive-descent reader following the parsing algorithms of RFC 8941 §4.2. Every method
// returns false on a syntax error; the caller then discards the whole field.
class SfDictionaryParser {
 public:
  explicit SfDictionaryParser(std::string_view input) : in_(input) {}

  // Calls on_member(key, value) for each member in order, and returns whether the whole input
  // is a Dictionary; members seen before an error are to be discarded by the caller. A key may
  // come more than once: RFC 8941 keeps the last, which the caller applies.
  template <typename Fn>
  bool parse(Fn on_member) {
    skip_sp();
    while (!at_end()) {
      std::string key;
      if (!read_key(key)) return false;
      SfItem value;
      if (peek() == '=') {
        ++pos_;
        if (!read_item_or_inner_list(value)) return false;
      } else {
        if (!skip_parameters()) return false;  // "key;param" is Boolean true with parameters
      }
      on_member(std::move(key), std::move(value));
      skip_ows();
      if (at_end()) return true;
      if (in_[pos_++] != ',') return false;
      skip_ows();
      if (at_end()) return false;  // trailing comma
    }
    return true;
  }

 private:
  bool at_end() const { return pos_ >= in_.size(); }
  char peek() const { return at_end() ? '\0' : in_[pos_]; }
  void skip_sp() {
    while (!at_end() && in_[pos_] == ' ') ++pos_;
  }
  void skip_ows() {
    while (!at_end() && is_ows(in_[pos_])) ++pos_;
  }

  bool read_key(std::string& key) {
    char c = peek();
    if (!is_lcalpha(c) && c != '*') return false;
    size_t start = pos_;
    while (!at_end()) {
      c = in_[pos_];
      if (!is_lcalpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.' && c != '*') break;
      ++pos_;
    }
    key.assign(in_.substr(start, pos_ - start));
    return true;
  }

  bool read_item_or_inner_list(SfItem& item) {
    if (peek() != '(') return read_bare_item(item) && skip_parameters();
    ++pos_;
    item.type = SfItem::Type::inner_list;
    while (!at_end()) {
      skip_sp();
      if (peek() == ')') {
        ++pos_;
        return skip_parameters();
      }
      SfItem member;
      if (!read_bare_item(member) || !skip_parameters()) return false;
      item.items.push_back(std::move(member));
      if (peek() != ' ' && peek() != ')') return false;
    }
    return false;  // no closing parenthesis
  }

  // Parameters carry no meaning for cache directives (RFC 9213 §2.1) but must be well-formed.
  bool skip_parameters() {
    while (peek() == ';') {
      ++pos_;
      skip_sp();
      std::string key;
      if (!read_key(key)) return false;
      if (peek() == '=') {
        ++pos_;
        SfItem ignored;
        if (!read_bare_item(ignored)) return false;
      }
    }
    return true;
  }

  bool read_bare_item(SfItem& item) {
    char c = peek();
    if (c == '-' || is_digit(c)) return read_number(item);
    if (c == '"') return read_string(item);
    if (is_alpha(c) || c == '*') return read_token(item);
    if (c == ':') return read_bytes(item);
    if (c == '?') return read_boolean(item);
    return false;
  }

  // RFC 8941 §4.2.4: an Integer has at most 15 digits; a Decimal at most 12 before the "." and
  // 1 to 3 after it (its value is never needed).
  bool read_number(SfItem& item) {
    bool negative = peek() == '-';
    if (negative) ++pos_;
    size_t start = pos_;
    while (is_digit(peek())) ++pos_;
    size_t whole = pos_ - start;
    if (whole == 0 || whole > 15) return false;
    if (peek() != '.') {
      int64_t value = 0;
      for (char c : in_.substr(start, whole)) value = value * 10 + (c - '0');
      item.type = SfItem::Type::integer;
      item.integer = negative ? -value : value;
      return true;
    }
    size_t fraction_start = ++pos_;
    while (is_digit(peek())) ++pos_;
    size_t fraction = pos_ - fraction_start;
    item.type = SfItem::Type::decimal;
    return whole <= 12 && fraction >= 1 && fraction <= 3;
  }

  bool read_string(SfItem& item) {
    ++pos_;
    item.type = SfItem::Type::string;
    while (!at_end()) {
      char c = in_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (at_end()) return false;
        c = in_[pos_++];
        if (c != '"' && c != '\\') return false;
      } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
        return false;
      }
      item.text.push_back(c);
    }
    return false;
  }

  bool read_token(SfItem& item) {
    size_t start = pos_++;
    while (!at_end() && (is_tchar(in_[pos_]) || in_[pos_] == ':' || in_[pos_] == '/')) ++pos_;
    item.type = SfItem::Type::token;
    item.text.assign(in_.substr(start, pos_ - start));
    return true;
  }

  // Only the alphabet is checked; the bytes themselves are never needed.
  bool read_bytes(SfItem& item) {
    ++pos_;
    while (!at_end()) {
      char c = in_[pos_++];
      if (c == ':') {
        item.type = SfItem::Type::bytes;
        return true;
      }
      if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '/' && c != '=') return false;
    }
    return false;
  }

  bool read_boolean(SfItem& item) {
    ++pos_;
    char c = peek();
    if (c != '0' && c != '1') return false;
    ++pos_;
    item.type = SfItem::Type::boolean;
    item.boolean = c == '1';
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
};

std::optional<uint32_t> sf_delta_seconds(const SfItem& item) {
  if (item.type != SfItem::Type::integer || item.integer < 0) return std::nullopt;
  return static_cast<uint32_t>(std::min<int64_t>(item.integer, max_delta_seconds));
}

// Field names carried by a no-cache / private value: a String holding a list, a Token, or an
// Inner List of Strings / Tokens. sf-tokens may contain ':' and '/', field names may not.
std::optional<std::vector<std::string_view>> sf_field_names(const SfItem& item) {
  switch (item.type) {
    case SfItem::Type::string:
      return split_field_names(item.text);
    case SfItem::Type::token:
      if (!is_token(item.text)) return std::nullopt;
      return std::vector<std::string_view>{item.text};
    case SfItem::Type::inner_list: {
      std::vector<std::string_view> names;
      for (const SfItem& name : item.items) {
        bool textual = name.type == SfItem::Type::string || name.type == SfItem::Type::token;
        if (!textual || !is_token(name.text)) return std::nullopt;
        names.push_back(name.text);
      }
      if (names.empty()) return std::nullopt;
      return names;
    }
    default:
      return std::nullopt;
  }
}

void apply_sf_member(const DirectiveInfo& info, const SfItem& value, CacheDirectives& out) {
  Argument arg;
  arg.bare = value.type == SfItem::Type::boolean && value.boolean;
  arg.is_false = value.type == SfItem::Type::boolean && !value.boolean;
  arg.delta = sf_delta_seconds(value);
  if (info.kind == Kind::field_list) arg.field_names = sf_field_names(value);
  apply_directive(info, arg, out);
}

}  // namespace

std::optional<uint32_t> parse_delta_seconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    // Saturate rather than overflow: any number of further digits keeps it clamped.
    value = std::min<uint64_t>(value * 10 + static_cast<uint64_t>(c - '0'), max_delta_seconds);
  }
  return static_cast<uint32_t>(value);
}

CacheDirectives parse_cache_control(const std::vector<std::string_view>& values) {
  CacheDirectives out;
  for (std::string_view line : values) {
    MemberScanner scanner(line);
    Member member;
    while (scanner.next(member)) apply_member(member, out);
  }
  return out;
}

CacheDirectives parse_cache_control(const HeaderMap& headers) {
  return parse_cache_control(headers.all("cache-control"));
}

std::optional<CacheDirectives> parse_cdn_cache_control(const HeaderMap& headers,
                                                       std::string_view field_name) {
  std::vector<std::string_view> lines = headers.all(field_name);
  if (lines.empty()) return std::nullopt;
  // RFC 8941 §4.2: all field lines are combined with ", " before parsing. Each line is first
  // trimmed of OWS as an HTTP/1 parser would have done.
  std::string combined;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    while (!line.empty() && is_ows(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_ows(line.back())) line.remove_suffix(1);
    combined.append(i > 0 ? ", " : "").append(line);
  }
  // Only known directives are kept (unknown ones just make the record present), so the
  // last-wins bookkeeping stays small whatever the number of members.
  std::vector<std::pair<const DirectiveInfo*, SfItem>> known;
  bool any_member = false;
  bool parsed = SfDictionaryParser(combined).parse([&](std::string&& key, SfItem&& value) {
    any_member = true;
    const DirectiveInfo& info = lookup_directive(key);
    if (info.kind == Kind::unknown) return;
    auto same = std::find_if(known.begin(), known.end(),
                             [&](const auto& member) { return member.first == &info; });
    if (same != known.end()) {
      same->second = std::move(value);
    } else {
      known.emplace_back(&info, std::move(value));
    }
  });
  if (!parsed || !any_member) return std::nullopt;
  CacheDirectives out;
  out.present = true;
  for (const auto& [info, value] : known) apply_sf_member(*info, value, out);
  return out;
}

}  // namespace stavka::http
