// GET /api/v1/cache and /api/v1/cache/entry: see cache_api.h.
#include "admin/cache_api.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "admin/json.h"
#include "admin/tokens.h"
#include "cache/stored_response.h"
#include "proxy/cache_stage.h"
#include "proxy/range_cache.h"

namespace stavka::admin {

namespace {

constexpr size_t default_limit = 100;
constexpr size_t max_limit = 1000;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A cursor is the position of the last key listed: the hex of its URL, '.', the hex of its key.
std::optional<std::string> from_hex(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

void member(std::string& out, std::string_view name) {
  if (out.back() != '{') out += ',';
  append_json_string(out, name);
  out += ':';
}
void string_member(std::string& out, std::string_view name, std::string_view value) {
  member(out, name);
  append_json_string(out, value);
}
void number_member(std::string& out, std::string_view name, int64_t value) {
  member(out, name);
  out += std::to_string(value);
}

// The members an entry shares with a block set: who and how fresh, from one object's meta.
void describe(std::string& out, const storage::ObjectMeta& m, int64_t now) {
  string_member(out, "url", m.url);
  string_member(out, "host", m.host);
  number_member(out, "status", m.status);
  number_member(out, "age", std::max<int64_t>(0, now - m.response_time));
  number_member(out, "ttl", m.expires - now);
  string_member(out, "etag", m.etag);
  string_member(out, "last_modified", m.last_modified);
  member(out, "tags");
  out += '[';
  for (size_t i = 0; i < m.surrogate_keys.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, m.surrogate_keys[i]);
  }
  out += ']';
}

// One stored response (a variant).
void object_entry(std::string& out, const storage::ObjectMeta& m, int64_t now) {
  out += '{';
  describe(out, m, now);
  string_member(out, "key", m.primary_key);
  string_member(out, "variant", m.variant);
  member(out, "size");
  out += m.size == storage::unknown_size ? "null" : std::to_string(m.size);
  number_member(out, "stored_bytes", m.size == storage::unknown_size ? 0 : m.size);
  member(out, "partial");
  out += "false";
  number_member(out, "hits", m.hits);
  number_member(out, "last_access", m.last_access);
  out += '}';
}

// A URL stored as blocks (one stored object per block, the block's index its variant): one
// entry, described by its most recent block.
void blocks_entry(std::string& out, const std::vector<storage::ObjectRef>& blocks, int64_t now) {
  const storage::ObjectMeta* newest = &blocks.front()->meta();
  uint64_t stored = 0, hits = 0;
  int64_t last_access = 0;
  for (const storage::ObjectRef& b : blocks) {
    const storage::ObjectMeta& m = b->meta();
    if (m.response_time > newest->response_time) newest = &m;
    if (m.size != storage::unknown_size) stored += m.size;
    hits += m.hits;
    last_access = std::max(last_access, m.last_access);
  }
  out += '{';
  describe(out, *newest, now);
  string_member(out, "key", proxy::blocks_of(newest->primary_key).value_or(""));
  string_member(out, "variant", "");
  member(out, "size");
  const std::optional<http::ContentRange> where = proxy::stored_block_range(*newest);
  out += where ? std::to_string(where->length) : "null";
  number_member(out, "stored_bytes", stored);
  member(out, "partial");
  out += "true";
  number_member(out, "blocks", blocks.size());
  number_member(out, "block_size", newest->block_size);
  number_member(out, "hits", hits);
  number_member(out, "last_access", last_access);
  out += '}';
}

// The stored fields as [name, value] pairs.
void fields(std::string& out, std::string_view headers) {
  out += '[';
  bool first = true;
  for (const http::Header& h : cache::parse_fields(headers)) {
    if (!first) out += ',';
    first = false;
    out += '[';
    append_json_string(out, h.name);
    out += ',';
    append_json_string(out, h.value);
    out += ']';
  }
  out += ']';
}

ApiResponse bad(std::string_view message) { return json_error(400, "bad_request", message); }

}  // namespace

std::optional<std::string> query_param(std::string_view target, std::string_view name, bool* bad) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string value;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        value += ' ';
      } else if (raw[i] != '%') {
        value += raw[i];
      } else if (i + 2 < raw.size() && hex_digit(raw[i + 1]) >= 0 && hex_digit(raw[i + 2]) >= 0) {
        value += static_cast<char>(hex_digit(raw[i + 1]) * 16 + hex_digit(raw[i + 2]));
        i += 2;
      } else {
        *bad = true;
        return std::nullopt;
      }
    }
    return value;
  }
  return std::nullopt;
}

ApiResponse handle_cache_list(std::string_view target, storage::Storage* storage, int64_t now) {
  if (!storage) return json_error(503, "no_cache", "this server has no cache");
  bool malformed = false;
  storage::ListQuery q;
  q.url_prefix = query_param(target, "prefix", &malformed).value_or("");
  q.host = query_param(target, "host", &malformed).value_or("");
  q.tag = query_param(target, "tag", &malformed).value_or("");
  std::optional<std::string> limit = query_param(target, "limit", &malformed);
  std::optional<std::string> cursor = query_param(target, "cursor", &malformed);
  if (malformed) return bad("a query parameter has a malformed %-escape");
  q.limit = default_limit;
  if (limit) {
    size_t n = 0;
    auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || p != limit->data() + limit->size() || n == 0 || n > max_limit) {
      return bad("limit must be a number from 1 to " + std::to_string(max_limit));
    }
    q.limit = n;
  }
  if (cursor && !cursor->empty()) {
    const size_t dot = cursor->find('.');
    std::optional<std::string> url = from_hex(std::string_view(*cursor).substr(0, dot));
    std::optional<std::string> key =
        dot == std::string::npos ? std::nullopt : from_hex(std::string_view(*cursor).substr(dot + 1));
    if (!url || !key) return bad("cursor is not one this API gave");
    q.after_url = std::move(*url);
    q.after_key = std::move(*key);
  }
  // One more key than the page, to know whether the listing goes on.
  const size_t page = q.limit;
  q.limit = page + 1;
  std::vector<storage::ListedKey> keys = storage->list(q);
  const bool more = keys.size() > page;
  if (more) keys.resize(page);
  std::string out = "{\"entries\":[";
  bool first = true;
  for (const storage::ListedKey& listed : keys) {
    const std::vector<storage::ObjectRef>& variants = listed.variants;
    if (proxy::blocks_of(listed.key)) {
      if (!first) out += ',';
      first = false;
      blocks_entry(out, variants, now);
      continue;
    }
    for (const storage::ObjectRef& v : variants) {
      if (!storage::passes(q, v->meta())) continue;
      if (!first) out += ',';
      first = false;
      object_entry(out, v->meta(), now);
    }
  }
  out += "],\"next_cursor\":";
  if (more) {
    append_json_string(out, to_hex(keys.back().url) + "." + to_hex(keys.back().key));
  } else {
    out += "null";
  }
  out += "}\n";
  ApiResponse r;
  r.body = std::move(out);
  return r;
}

ApiResponse handle_cache_entry(std::string_view target, storage::Storage* storage, int64_t now) {
  if (!storage) return json_error(503, "no_cache", "this server has no cache");
  bool malformed = false;
  std::optional<std::string> url = query_param(target, "url", &malformed);
  if (malformed) return bad("a query parameter has a malformed %-escape");
  if (!url) return bad("give the object's url: /api/v1/cache/entry?url=...");
  std::optional<std::string> stored = proxy::stored_url(*url);
  if (!stored) return bad("not an absolute http(s) URL: '" + *url + "'");
  const std::string& key = *stored;
  std::vector<storage::ObjectRef> variants = storage->lookup(key);
  std::vector<storage::ObjectRef> blocks = storage->lookup(proxy::block_key(key));
  if (variants.empty() && blocks.empty()) {
    return json_error(404, "not_cached", "nothing is stored for " + key);
  }
  std::string out = "{";
  string_member(out, "url", key);
  member(out, "variants");
  out += '[';
  for (size_t i = 0; i < variants.size(); ++i) {
    if (i) out += ',';
    object_entry(out, variants[i]->meta(), now);
    out.pop_back();  // the entry, with its stored fields
    out += ",\"fields\":";
    fields(out, variants[i]->meta().headers);
    out += '}';
  }
  out += ']';
  member(out, "blocks");
  if (blocks.empty()) {
    out += "null";
  } else {
    blocks_entry(out, blocks, now);
    out.pop_back();  // with each block's index and size
    out += ",\"stored\":[";
    std::sort(blocks.begin(), blocks.end(), [](const auto& a, const auto& b) {
      return a->meta().variant.size() != b->meta().variant.size()
                 ? a->meta().variant.size() < b->meta().variant.size()
                 : a->meta().variant < b->meta().variant;
    });
    for (size_t i = 0; i < blocks.size(); ++i) {
      const storage::ObjectMeta& m = blocks[i]->meta();
      if (i) out += ',';
      out += "{\"index\":" + (m.variant.empty() ? std::string("0") : m.variant) +
             ",\"bytes\":" + std::to_string(m.size == storage::unknown_size ? 0 : m.size) + "}";
    }
    out += "],\"fields\":";
    fields(out, blocks.front()->meta().headers);
    out += '}';
  }
  out += "}\n";
  ApiResponse r;
  r.body = std::move(out);
  return r;
}

}  // namespace stavka::admin
