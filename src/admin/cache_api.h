// The cache listing on the admin listener (scope `read`):
//
//   GET /api/v1/cache?prefix=&host=&tag=&limit=&cursor=
//     {"entries": [...], "next_cursor": "..." | null}
//     Stored objects in the order of their URLs (then cache keys), `limit` keys a page
//     (default 100, at most 1000); `next_cursor` continues the listing (null: it is complete).
//     prefix: the URL starts with it (a range of the order, not a scan); host: the object's
//     host; tag: it carries the tag. An entry is one stored
//     response (one per variant), or one per URL stored as blocks (range caching), with
//     "partial": true, the blocks stored and their bytes.
//   GET /api/v1/cache/entry?url=URL
//     {"url": ..., "variants": [...], "blocks": {...} | null}: every variant stored for URL
//     with its stored fields, and its blocks when stored as blocks; 404 when nothing is.
//
// Entry fields: url, host, key, variant, status, size (null while unknown), stored_bytes,
// age (seconds since the response was received), ttl (seconds of freshness left when stored;
// negative once stale), hits, last_access, etag, last_modified, tags. Reads storage only (no
// worker is involved). Bad parameters: 400.
#pragma once

#include <string_view>

#include "admin/modules_api.h"
#include "storage/storage.h"

namespace stavka::admin {

inline constexpr std::string_view cache_path = "/api/v1/cache";
inline constexpr std::string_view cache_entry_path = "/api/v1/cache/entry";

// target: the request target (path and query); now: Unix seconds.
ApiResponse handle_cache_list(std::string_view target, storage::Storage* storage, int64_t now);
ApiResponse handle_cache_entry(std::string_view target, storage::Storage* storage, int64_t now);

// The value of query parameter `name` in target, percent-decoded ('+' as a space); nullopt when
// absent; *bad set when it is malformed (a bad escape).
std::optional<std::string> query_param(std::string_view target, std::string_view name, bool* bad);

}  // namespace stavka::admin
