// The module phases; see module_stage.h.
#include "proxy/module_stage.h"

#include <sys/uio.h>

#include <chrono>

#include "cache/cache_key.h"
#include "http/date.h"
#include "http/serializer.h"
#include "proxy/cache_stage.h"
#include "proxy/client_io.h"
#include "proxy/forwarding.h"
#include "proxy/range_cache.h"
#include "runtime/log.h"
#include "wasm/shared_state.h"

namespace stavka::proxy {

using runtime::Task;

void connect_module_services(Worker& w) {
  Worker* worker = &w;
  w.modules().set_purgers(
      [worker](std::string_view url) -> std::optional<uint64_t> {
        CacheServices* services = worker->cache_services();
        if (!services) return 0;
        auto parsed = cache::request_url("http", "", url);
        if (!parsed) return std::nullopt;
        std::string key = cache::url_string(*parsed);
        size_t removed = services->storage->remove_all_variants(key);
        removed += services->storage->remove_all_variants(block_key(key));
        return removed;
      },
      nullptr);  // purge by tag arrives with the surrogate-key index
}

namespace {

int64_t unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Task<Outcome> send_local_response(Worker& w, Exchange& ex, const wasm::LocalResponse& local) {
  http::ResponseHead head;
  head.status = local.status;
  head.reason = http::reason_phrase(local.status);
  bool has_type = false;
  for (const auto& [name, value] : local.headers) {
    if (http::iequals(name, "content-length") || http::iequals(name, "transfer-encoding") ||
        http::iequals(name, "connection")) {
      continue;  // framing is the host's
    }
    has_type |= http::iequals(name, "content-type");
    head.headers.add(name, value);
  }
  if (!head.headers.contains("date")) head.headers.add("Date", http::http_date_now());
  if (!has_type && !local.body.empty()) head.headers.add("Content-Type", "text/plain; charset=utf-8");
  const bool no_body = local.status == 204 || local.status == 304;
  head.framing = no_body ? http::BodyFraming::none : http::BodyFraming::content_length;
  head.content_length = no_body ? 0 : local.body.size();
  ex.close_connection = !ex.client_keep_alive || w.draining() || ex.request.has_body();
  head.keep_alive = !ex.close_connection;
  std::string bytes;
  http::serialize_response_head(head, bytes);
  if (!ex.is_head && !no_body) bytes += local.body;
  ex.status = local.status;
  iovec iov{bytes.data(), bytes.size()};
  if (!co_await send_to_client(w, ex, &iov, 1)) co_return Outcome::client_gone;
  co_return ex.close_connection ? Outcome::close : Outcome::done;
}

}  // namespace

Task<std::optional<Outcome>> run_request_modules(Worker& w, Exchange& ex) {
  const std::shared_ptr<const wasm::ModuleSet>& set = w.modules().set();
  if (!set || set->empty()) co_return std::nullopt;
  const std::vector<const wasm::Module*>& chain = set->chain(ex.site->config->name);
  if (chain.empty()) co_return std::nullopt;
  Exchange::Modules& m = ex.modules.emplace();
  m.set = set;
  wasm::Stream& s = m.stream;
  s.request = &ex.request;
  s.path = &ex.origin_target;
  s.authority = &ex.authority;
  s.client_ip = ex.client.peer_ip;
  s.client_fd = ex.client.fd;
  s.site = ex.site->config->name;
  s.start_unix_ns = unix_ns();
  // The default key is made only if a module reads it (from the request as it is then).
  s.cache.default_key = [&ex]() -> std::string {
    auto url = cache::request_url("http", ex.authority, ex.origin_target);
    if (!url) return "";
    return cache::primary_key(*url, ex.request.headers,
                              {ex.site->config->cache_ignore_query, ex.site->config->cache_key_headers});
  };
  m.filters.begin(w.modules(), chain, s);
  wasm::Verdict verdict = co_await m.filters.request_headers(ex.sites->config().timeouts.origin_first_byte);
  switch (verdict) {
    case wasm::Verdict::proceed:
      ex.host = normalize_host(ex.authority);  // a module may have changed :authority
      co_return std::nullopt;
    case wasm::Verdict::respond:
      if (s.reset) {
        ex.status = 0;
        co_return Outcome::close;
      }
      co_return co_await send_local_response(w, ex, *s.local_response);
    case wasm::Verdict::fail:
      break;
  }
  bool close = ex.request.has_body() || !ex.client_keep_alive;
  co_return co_await respond_error(w, ex, 503, "a module failed on this request", close);
}

void run_response_modules(Worker& w, Exchange& ex, http::ResponseHead& head,
                          std::optional<uint64_t> size, std::optional<int64_t> age) {
  if (!ex.modules_active() || ex.modules->filters.response_done()) return;
  wasm::Stream& s = ex.modules->stream;
  s.response = &head;
  s.cache.status = ex.cache_status;
  s.cache.object_size = size;
  s.cache.age = age;
  const bool end_of_stream = ex.is_head || head.status == 204 || head.status == 304 || size == 0;
  wasm::Verdict verdict = ex.modules->filters.response_headers(end_of_stream);
  s.response = nullptr;
  if (verdict != wasm::Verdict::proceed) {
    // The head is about to go out with a body the caller sends: a module cannot replace the
    // response at this point; what it changed stays.
    runtime::log(runtime::LogLevel::warn,
                 "modules of site %s: %s in the response phase; the response goes on",
                 ex.site->config->name.c_str(),
                 verdict == wasm::Verdict::respond ? "a local response or reset"
                                                   : "a fail-closed fault");
  }
}

}  // namespace stavka::proxy
