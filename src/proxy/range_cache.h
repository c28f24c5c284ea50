// Block-aligned range caching: objects stored block by block and filled by range.
//
// A GET with Range that finds no fresh whole object, and a GET of an object whose blocks are
// (partly) stored, are served here. Each block of the site's block size is a stored object of its
// own, under the key's block key (block_key()) with the block's index as variant; it carries
// the origin's response fields and a Content-Range saying where it lies in the whole. Blocks
// fetched by different requests form one object when their validators match (a strong ETag,
// else Last-Modified); a fill that sees another validator drops the blocks that differ. Which
// blocks are present is what the index holds: a block evicted, purged or gone stale is missing.
//
// Serving: the blocks the client's range covers are sent in order, each from storage when
// present and usable, else from a range fill. A range fill asks the origin for
// `Range: bytes=S-E`, S the first missing byte floored to a block boundary, E the end of the
// client's range rounded up to a block plus the site's read-ahead (capped at the object's size);
// for an open-ended range E is left open and the fill stays one read-ahead ahead of its furthest
// reader. A reader sends bytes as they arrive: its first byte leaves once the origin has sent the
// bytes from S up to it, at worst block_size − 1 bytes. Each block is stored the moment it is
// complete, so other requests find it at once; the fill keeps only the blocks not yet stored.
//
// Collapsing: range fills are registered per key with the span they fetch (FillTable spans); a
// reader wanting a byte some fill has or will fetch joins it. An origin that ignores Range and
// answers 200 is read from its first byte: the client's range is served by skipping, the blocks
// that pass are stored, and the fill stops at the range plus read-ahead (closing that origin
// connection), or goes on to the end when the site sets fill_whole_objects.
//
// Not stored as blocks (the request goes to the origin as the client sent it): responses without
// a strong ETag or Last-Modified (blocks could not be matched), with Vary, without a known
// length, uncacheable ones, and answers other than 200 or 206. Suffix ranges on an object with no
// usable block are passed through too (their position needs the length).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cache/cache_key.h"
#include "http/cache_control.h"
#include "http/range.h"
#include "proxy/cache_stage.h"
#include "proxy/exchange.h"
#include "runtime/task.h"

namespace stavka::proxy {

// Where the blocks of the object with primary_key are stored (its variants: block indexes).
std::string block_key(std::string_view primary_key);
// The object's primary key when `key` is a block_key(), else nullopt.
std::optional<std::string_view> blocks_of(std::string_view key);
// A block object's stored Content-Range: where its bytes lie in the whole, and its length.
std::optional<http::ContentRange> stored_block_range(const storage::ObjectMeta& meta);

// Whether any block of primary_key is stored or being fetched (a request for the whole object
// then joins the range fills instead of fetching it again).
bool has_blocks(CacheServices& services, std::string_view primary_key);

// Serves a GET (with or without Range) from primary_key's blocks, fetching missing ones.
runtime::Task<Outcome> serve_blocks(Worker& w, Exchange& ex, CacheServices& services,
                                    const std::string& primary_key,
                                    const cache::RequestUrl& url,
                                    const http::CacheDirectives& request_cc);

}  // namespace stavka::proxy
