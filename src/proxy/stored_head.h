// StoredHead: a stored response decoded once for serving.
//
// A hit needs the stored fields twice: parsed, for the RFC 9111 policy (freshness, Vary,
// conditionals), and as bytes, for the client. Both are made when the object is stored and
// travel with its meta (ObjectMeta::decoded), so a hit neither parses fields nor rebuilds the
// head: it appends the few fields that differ per response (Age, Cache-Status, Via,
// Content-Length, Connection) to bytes prepared once.
//
// Immutable once built; shared between workers through the meta.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cache/directives.h"
#include "cache/stored_response.h"
#include "storage/storage.h"

namespace stavka::proxy {

struct StoredHead {
  cache::StoredResponse response;   // status, parsed fields, request and response times
  cache::ResponseDirectives rcc;    // the response's caching directives
  // Status line and every stored field except the hop-by-hop ones and those appended per
  // response: Age, Cache-Status, Via, Content-Length.
  std::string fixed;
  uint32_t fixed_fields = 0;          // the field lines in `fixed`
  std::string upstream_cache_status;  // Cache-Status of caches nearer the origin, joined
  std::string upstream_via;           // Via of intermediaries nearer the origin, joined
};

// Decodes a stored response (hop-by-hop fields are dropped here, as for any response to a
// client).
std::shared_ptr<const StoredHead> make_stored_head(cache::StoredResponse response);

// The object's decoding: the one stored with its meta, or made now (objects loaded from disk).
std::shared_ptr<const StoredHead> stored_head_of(const storage::ObjectMeta& meta);

// What a 206 changes in a stored 200's head (RFC 9110 §15.3.7): the status line, and either
// Content-Range (one range) or a multipart/byteranges Content-Type in place of the stored one
// (several ranges; the stored type then goes into each part).
struct PartialHead {
  std::string_view content_range;
  std::string_view multipart_type;
};

// Appends the client's response head for a stored body of content_length bytes: the fixed part,
// then Age, Cache-Status (upstream members, then ours), Via (upstream, then ours),
// Content-Length, and Connection: close when the connection ends after it. With partial, the
// head of a 206 instead. Returns how many fields it wrote but Content-Length and Connection.
uint32_t assemble_head(const StoredHead& head, std::string_view age, std::string_view cache_status,
                   std::string_view via_name, uint64_t content_length, bool close,
                   std::string& out, const PartialHead* partial = nullptr);

}  // namespace stavka::proxy
