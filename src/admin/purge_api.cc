// POST /api/v1/purge: see purge_api.h.
#include "admin/purge_api.h"

#include <optional>
#include <string>
#include <vector>

#include "admin/json.h"
#include "cache/cache_key.h"
#include "proxy/cache_serving.h"
#include "proxy/cache_stage.h"
#include "proxy/range_cache.h"

namespace stavka::admin {

namespace {

// The strings of a JSON array member; nullopt with *error when it is not an array of strings.
std::optional<std::vector<std::string>> strings(const JsonValue& v, std::string_view name,
                                                std::string* error) {
  if (!v.is_array()) {
    *error = "'" + std::string(name) + "' must be an array of strings";
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const JsonValue& item : v.items()) {
    if (item.type() != JsonValue::Type::string) {
      *error = "'" + std::string(name) + "' must be an array of strings";
      return std::nullopt;
    }
    out.push_back(item.string_or(""));
  }
  return out;
}

ApiResponse purged(size_t count) {
  ApiResponse r;
  r.body = "{\"purged\":" + std::to_string(count) + "}\n";
  return r;
}

// Marks each object stale (a soft purge) as of `now`; how many were.
size_t mark_stale(storage::Storage& storage, const std::vector<storage::ObjectRef>& objects,
                  int64_t now) {
  size_t marked = 0;
  for (const storage::ObjectRef& object : objects) {
    storage::ObjectMeta meta = object->meta();
    meta.soft_purged = now;
    if (storage.update_meta(object, std::move(meta))) ++marked;
  }
  return marked;
}

// Soft purge of what a listing gives (a tag, a prefix, everything), page by page: each object
// that passes q's filters.
size_t mark_listed(storage::Storage& storage, storage::ListQuery q, int64_t now) {
  constexpr size_t page = 1000;
  q.limit = page;
  size_t marked = 0;
  while (true) {
    std::vector<storage::ListedKey> keys = storage.list(q);
    for (const storage::ListedKey& k : keys) {
      std::vector<storage::ObjectRef> passing;
      for (const storage::ObjectRef& v : k.variants) {
        if (storage::passes(q, v->meta())) passing.push_back(v);
      }
      marked += mark_stale(storage, passing, now);
    }
    if (keys.size() < page) return marked;
    q.after_url = keys.back().url;
    q.after_key = keys.back().key;
  }
}

}  // namespace

ApiResponse handle_purge(std::string_view method, std::string_view body, storage::Storage* storage) {
  if (method != "POST") {
    ApiResponse r = json_error(405, "method_not_allowed", "a purge is a POST");
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  if (!storage) return json_error(503, "no_cache", "this server has no cache");
  std::string error;
  std::optional<JsonValue> doc = JsonValue::parse(body, &error);
  if (!doc) return json_error(400, "bad_json", "the body is not JSON: " + error);
  if (!doc->is_object()) return json_error(400, "bad_request", "the body must be a JSON object");
  int kinds = 0;
  for (const auto& [name, value] : doc->members()) {
    if (name == "urls" || name == "tags" || name == "prefix" || name == "all") {
      ++kinds;
    } else if (name != "soft") {
      return json_error(400, "unknown_field",
                        "unknown field '" + name + "' (urls, tags, prefix, all, soft)");
    }
  }
  if (kinds != 1) return json_error(400, "bad_request", "give exactly one of urls, tags, prefix or all");
  bool soft = false;
  if (doc->has("soft")) {
    if ((*doc)["soft"].type() != JsonValue::Type::boolean) {
      return json_error(400, "bad_request", "'soft' must be true or false");
    }
    soft = (*doc)["soft"].bool_or(false);
  }
  const int64_t now = proxy::unix_now();
  if (doc->has("all")) {
    const JsonValue& all = (*doc)["all"];
    if (all.type() != JsonValue::Type::boolean || !all.bool_or(false)) {
      return json_error(400, "bad_request", "'all' must be true");
    }
    return purged(soft ? mark_listed(*storage, {}, now) : storage->remove_by_prefix(""));
  }
  if (doc->has("prefix")) {
    const JsonValue& prefix = (*doc)["prefix"];
    if (prefix.type() != JsonValue::Type::string) {
      return json_error(400, "bad_request", "'prefix' must be a string");
    }
    std::optional<std::string> url_prefix = proxy::stored_url(prefix.string_or(""));
    if (!url_prefix) {
      return json_error(400, "bad_url",
                        "the prefix must be an absolute http(s) URL (scheme, host, then "
                        "optionally a path): '" + prefix.string_or("") + "'");
    }
    if (!soft) return purged(storage->remove_by_prefix(*url_prefix));
    storage::ListQuery q;
    q.url_prefix = *url_prefix;
    return purged(mark_listed(*storage, q, now));
  }
  if (doc->has("urls")) {
    auto urls = strings((*doc)["urls"], "urls", &error);
    if (!urls) return json_error(400, "bad_request", error);
    // Every URL is checked before any is purged: a bad one purges nothing.
    for (const std::string& url : *urls) {
      if (!cache::request_url("http", "", url)) {
        return json_error(400, "bad_url", "not an absolute http(s) URL: '" + url + "'");
      }
    }
    size_t count = 0;
    for (const std::string& url : *urls) {
      if (!soft) {
        count += proxy::purge_url(*storage, url).value_or(0);
        continue;
      }
      const std::string key = *proxy::stored_url(url);  // (checked above)
      count += mark_stale(*storage, storage->lookup(key), now) +
               mark_stale(*storage, storage->lookup(proxy::block_key(key)), now);
    }
    return purged(count);
  }
  auto tags = strings((*doc)["tags"], "tags", &error);
  if (!tags) return json_error(400, "bad_request", error);
  for (const std::string& tag : *tags) {
    if (tag.empty()) return json_error(400, "bad_request", "a tag must not be empty");
  }
  size_t count = 0;
  for (const std::string& tag : *tags) {
    if (soft) {
      storage::ListQuery q;
      q.tag = tag;
      count += mark_listed(*storage, q, now);
    } else {
      count += storage->remove_by_tag(tag);
    }
  }
  return purged(count);
}

}  // namespace stavka::admin
