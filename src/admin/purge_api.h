// POST /api/v1/purge on the admin listener (scope `purge`): removes stored objects from every
// tier at once. The body is one JSON object with exactly one of
//
//   {"urls": ["https://example.com/a", ...]}   every variant of each URL, whole or as blocks
//   {"tags": ["video-42", ...]}                every object carrying one of the tags
//   {"prefix": "https://example.com/videos/"}  every object whose URL starts with it
//   {"all": true}                              every object
//
// and the answer is {"purged": N}, N the objects removed (0 when nothing matched; a URL stored
// as blocks counts each block). Storage is shared by the workers, so the purge has taken effect
// on all of them when the call returns, and removals are written to the disk tier's manifest,
// so a purged object never comes back after a restart. A prefix is compared with stored URLs
// after the same normalisation (scheme and host in lower case, the default port dropped); a
// prefix and "all" visit every stored key, a batch per shard lock. Not built yet: "soft"
// (answered 501). Malformed JSON, an unknown field, a wrong type or a bad URL: 400 with a
// message.
#pragma once

#include <cstddef>
#include <string_view>

#include "admin/modules_api.h"
#include "storage/storage.h"

namespace stavka::admin {

inline constexpr std::string_view purge_path = "/api/v1/purge";
// The largest purge body.
inline constexpr size_t max_purge_bytes = 1u << 20;

ApiResponse handle_purge(std::string_view method, std::string_view body, storage::Storage* storage);

}  // namespace stavka::admin
