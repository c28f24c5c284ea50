// Entity tags (RFC 9110 §8.8.3): parsing single tags and If-None-Match lists, and the strong
// and weak comparison functions.
//
// Pure functions; any thread. Views returned point into the caller's text. An entity-tag is
// `[W/] DQUOTE *etagc DQUOTE`; a comma is a legal etagc, so lists are split by scanning quoted
// tags, never by splitting on commas.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "http/headers.h"

namespace stavka::cache {

struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // including the quotes
};

// One entity-tag, the whole of text (surrounding whitespace allowed); nullopt if malformed.
std::optional<EntityTag> parse_entity_tag(std::string_view text);

// §8.8.3.2: strong — both strong and opaque tags equal; weak — opaque tags equal.
bool strong_match(const EntityTag& a, const EntityTag& b);
bool weak_match(const EntityTag& a, const EntityTag& b);

struct EntityTagList {
  bool any = false;  // "*"
  std::vector<EntityTag> tags;
};
// Every line of an If-None-Match / If-Match field; nullopt when absent or malformed (a
// recipient cannot evaluate a condition it cannot read).
std::optional<EntityTagList> parse_entity_tag_list(const http::HeaderMap& headers,
                                                   std::string_view name);

}  // namespace stavka::cache
