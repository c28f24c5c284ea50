// Entity-tag parsing and comparison (RFC 9110 §8.8.3).
//
// Stateless. etagc is %x21 / %x23-7E / obs-text: anything visible but DQUOTE.
#include "cache/entity_tag.h"

#include "cache/field_text.h"

namespace stavka::cache {

namespace {

bool is_etagc(unsigned char c) { return c == 0x21 || (c >= 0x23 && c != 0x7f); }

// Reads one entity-tag at the start of text; on success advances text past it.
std::optional<EntityTag> take_entity_tag(std::string_view& text) {
  EntityTag tag;
  std::string_view rest = text;
  if (rest.starts_with("W/")) {
    tag.weak = true;
    rest.remove_prefix(2);
  }
  if (rest.empty() || rest.front() != '"') return std::nullopt;
  size_t end = 1;
  while (end < rest.size() && rest[end] != '"') {
    if (!is_etagc(static_cast<unsigned char>(rest[end]))) return std::nullopt;
    ++end;
  }
  if (end >= rest.size()) return std::nullopt;
  tag.opaque = rest.substr(0, end + 1);
  text = rest.substr(end + 1);
  return tag;
}

}  // namespace

std::optional<EntityTag> parse_entity_tag(std::string_view text) {
  text = trim_ows(text);
  auto tag = take_entity_tag(text);
  if (!tag || !text.empty()) return std::nullopt;
  return tag;
}

bool strong_match(const EntityTag& a, const EntityTag& b) {
  return !a.weak && !b.weak && a.opaque == b.opaque;
}

bool weak_match(const EntityTag& a, const EntityTag& b) { return a.opaque == b.opaque; }

std::optional<EntityTagList> parse_entity_tag_list(const http::HeaderMap& headers,
                                                   std::string_view name) {
  std::vector<std::string_view> lines = headers.all(name);
  if (lines.empty()) return std::nullopt;
  EntityTagList list;
  for (std::string_view line : lines) {
    std::string_view rest = trim_ows(line);
    if (rest == "*") {
      list.any = true;
      continue;
    }
    // #entity-tag: elements separated by commas with optional whitespace; empty elements are
    // allowed and ignored (RFC 9110 §5.6.1.2).
    while (true) {
      rest = trim_ows(rest);
      while (!rest.empty() && rest.front() == ',') rest = trim_ows(rest.substr(1));
      if (rest.empty()) break;
      auto tag = take_entity_tag(rest);
      if (!tag) return std::nullopt;
      list.tags.push_back(*tag);
      rest = trim_ows(rest);
      if (!rest.empty() && rest.front() != ',') return std::nullopt;
    }
  }
  if (!list.any && list.tags.empty()) return std::nullopt;
  return list;
}

}  // namespace stavka::cache
