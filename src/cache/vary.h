// Secondary cache keys from Vary (RFC 9111 §4.1): which stored variant answers a request.
//
// A stored response is filed under its primary key and a variant string built from the request
// fields its Vary names, as the request that fetched it sent them. A later request matches
// when the same construction over its own fields gives the same string. Pure functions; any
// thread.
//
// Normalisation (what §4.1 allows without knowing each field's syntax): names lower-cased,
// sorted and de-duplicated; each field line trimmed of surrounding whitespace and the lines of
// one name joined with ", " (combining field lines is always allowed). Values are otherwise
// kept byte for byte: removing whitespace inside a value or changing case is only allowed where
// the field's own syntax says so, and merging two requests the origin distinguishes would serve
// one client's variant to another. A missing field and an empty one are different variants.
// The variant string is "name=value" or, for an absent field, "name", one per line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/headers.h"

namespace stavka::cache {

// The field names Vary lists, lower-cased, sorted, unique; empty without Vary. nullopt when
// Vary contains "*": no later request can match such a response.
std::optional<std::vector<std::string>> vary_fields(const http::HeaderMap& response_headers);

// The value a request field contributes to a key: its lines trimmed and joined with ", ";
// nullopt when the request has no such field.
std::optional<std::string> joined_field_value(const http::HeaderMap& headers,
                                              std::string_view name);

// The variant of `response_headers` as requested with `request_headers` ("" without Vary;
// nullopt for Vary: *). Stored as storage::ObjectMeta::variant.
std::optional<std::string> variant_key(const http::HeaderMap& response_headers,
                                       const http::HeaderMap& request_headers);

// Whether a stored response (its fields and the variant it was stored under) may answer a
// request with these fields. Never true under Vary: *.
bool vary_matches(const http::HeaderMap& stored_headers, std::string_view stored_variant,
                  const http::HeaderMap& request_headers);

struct VariantCandidate {
  const http::HeaderMap* headers = nullptr;  // the stored response's fields
  std::string_view variant;                  // the variant it was stored under
  int64_t response_time = 0;                 // stands in for a missing or invalid Date
};

// Of several stored responses under one primary key, the index of the one to use for this
// request: among those whose Vary matches, the most recent by Date (§4.1), the later one in
// the list on a tie. nullopt when none matches (a "vary-miss" if candidates is not empty).
std::optional<size_t> select_variant(std::span<const VariantCandidate> candidates,
                                     const http::HeaderMap& request_headers);

}  // namespace stavka::cache
