// Admin listener implementation; see admin_server.h.
#include "admin/admin_server.h"

#include "admin/cache_api.h"
#include "admin/config_json.h"
#include "admin/purge_api.h"
#include "admin/stats_json.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <iterator>
#include <string_view>

#include "admin/json.h"
#include "admin/modules_api.h"
#include "admin/purge_api.h"
#include "http/date.h"
#include "proxy/cache_serving.h"
#include "http/parser.h"
#include "http/serializer.h"
#include "net/address.h"
#include "runtime/io.h"
#include "runtime/task.h"
#include "wasm/shared_state.h"

namespace stavka::admin {

using runtime::Task;

namespace {

void metric_header(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
  out.append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, uint64_t value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(value)).append("\n");
}

std::string seconds_text(uint64_t us) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", static_cast<double>(us) / 1e6);
  return text;
}

// Storage tier metrics: name, type, one-line description, and the TierStats field.
struct TierMetric {
  const char* name;
  const char* type;
  const char* help;
  uint64_t storage::TierStats::*field;
};
constexpr TierMetric tier_metrics[] = {
    {"stavka_cache_objects", "gauge", "Objects stored, per storage tier",
     &storage::TierStats::objects},
    {"stavka_cache_bytes", "gauge", "Bytes stored (bodies, heads and keys), per storage tier",
     &storage::TierStats::bytes},
    {"stavka_cache_capacity_bytes", "gauge", "Byte budget, per storage tier",
     &storage::TierStats::capacity},
    {"stavka_cache_evictions_total", "counter", "Objects evicted for space, per storage tier",
     &storage::TierStats::evictions},
};

}  // namespace

std::string render_metrics(const AdminContext& context) {
  std::string out;
  out.reserve(8192);
  for (uint32_t i = 0; i < static_cast<uint32_t>(proxy::Metric::count_); ++i) {
    const auto& info = proxy::metric_info[i];
    int64_t sum = 0;
    for (const auto* c : context.workers) sum += c->get(static_cast<proxy::Metric>(i));
    metric_header(out, info.name, info.type, info.help);
    out.append(info.name).append(" ").append(std::to_string(sum)).append("\n");
  }

  metric_header(out, proxy::ttfb_metric, "histogram", proxy::ttfb_help);
  for (size_t s = 0; s < static_cast<size_t>(proxy::ResponseSource::count_); ++s) {
    auto source = static_cast<proxy::ResponseSource>(s);
    std::string label = std::string("source=\"") + proxy::response_source_name[s] + "\"";
    uint64_t cumulative = 0;
    uint64_t sum_us = 0;
    for (size_t b = 0; b < proxy::ttfb_bucket_count; ++b) {
      for (const auto* c : context.workers) cumulative += c->ttfb(source).bucket(b);
      std::string le = b < std::size(proxy::ttfb_bounds_us)
                           ? seconds_text(proxy::ttfb_bounds_us[b])
                           : std::string("+Inf");
      sample(out, std::string(proxy::ttfb_metric) + "_bucket", label + ",le=\"" + le + "\"",
             cumulative);
    }
    for (const auto* c : context.workers) sum_us += c->ttfb(source).sum_us();
    out.append(proxy::ttfb_metric).append("_sum{").append(label).append("} ");
    out.append(seconds_text(sum_us)).append("\n");
    sample(out, std::string(proxy::ttfb_metric) + "_count", label, cumulative);
  }

  std::vector<storage::TierStats> stats;
  for (const TierSource& t : context.tiers) stats.push_back(t.tier->stats());
  for (const TierMetric& m : tier_metrics) {
    metric_header(out, m.name, m.type, m.help);
    for (size_t i = 0; i < stats.size(); ++i) {
      sample(out, m.name, "tier=\"" + context.tiers[i].name + "\"", stats[i].*m.field);
    }
  }
  if (context.arena) {
    const storage::BlockArena::Stats a = context.arena->stats();
    metric_header(out, "stavka_block_arena_bytes", "gauge",
                  "Bytes of body blocks in the block arena (memory file hits are spliced from)");
    sample(out, "stavka_block_arena_bytes", "", a.bytes_in_use);
    metric_header(out, "stavka_block_arena_reserve_bytes", "gauge",
                  "Address space reserved for the block arena (RAM is used only as written)");
    sample(out, "stavka_block_arena_reserve_bytes", "", a.reserve);
    metric_header(out, "stavka_block_arena_full_total", "counter",
                  "Blocks put on the heap (then copied, not spliced) because the arena was full");
    sample(out, "stavka_block_arena_full_total", "", a.full);
  }
  // Modules: the host's counters for each, and the metrics modules define themselves.
  wasm::ModuleStats::write_prometheus(out);
  return out;
}

namespace {

constexpr auto admin_timeout = std::chrono::seconds(30);

enum class BodyRead { ok, too_large, malformed, closed };

// Reads the body of the request whose head `parser` just finished, into *body, up to `limit`
// bytes (413 beyond it). Bytes already received are in `carry`; on return `carry` holds what
// follows the message.
Task<BodyRead> read_body(int fd, http::Http1Parser& parser, runtime::Buffer& carry, size_t limit,
                         std::string* body) {
  while (true) {
    http::ParseResult pr = parser.feed(carry ? carry.view() : std::string_view());
    for (std::string_view piece : pr.body) {
      if (body->size() + piece.size() > limit) co_return BodyRead::too_large;
      body->append(piece);
    }
    if (carry) carry.consume(pr.consumed);
    if (pr.state == http::ParseState::error) co_return BodyRead::malformed;
    if (pr.state == http::ParseState::message_done) co_return BodyRead::ok;
    carry.release();
    runtime::RecvResult r = co_await runtime::recv(fd, admin_timeout);
    if (r.bytes <= 0) co_return BodyRead::closed;
    carry = std::move(r.buffer);
  }
}

// After an answer sent before the request's body was read: closing with unread bytes would
// reset the connection, and the client could lose the answer. Stop sending, then discard what
// the client still sends for a while.
Task<void> linger(int fd) {
  ::shutdown(fd, SHUT_WR);
  size_t discarded = 0;
  while (discarded < 2 * max_module_bytes) {
    runtime::RecvResult r = co_await runtime::recv(fd, std::chrono::seconds(2));
    if (r.bytes <= 0) break;
    discarded += static_cast<size_t>(r.bytes);
  }
}

ApiResponse text(int status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = "text/plain";
  return r;
}

constexpr std::string_view reload_path = "/api/v1/config/reload";

// POST /api/v1/config/reload: reloads the configuration as SIGHUP does, and answers once every
// worker runs it (200 {"reloaded": true, ...}) or with why it was refused (422; the running
// configuration stays).
Task<ApiResponse> handle_reload(std::string method, ModuleControl* control) {
  if (method != "POST") {
    ApiResponse r = json_error(405, "method_not_allowed", "a reload is a POST");
    r.headers.emplace_back("Allow", "POST");
    co_return r;
  }
  if (!control) co_return json_error(503, "unavailable", "no control plane");
  ControlAwaiter<ReloadResult> reload{
      [control](std::function<void(ReloadResult)> done) { control->reload(std::move(done)); },
      {}};
  ReloadResult r = co_await reload;
  if (r.status != 200) co_return json_error(r.status, r.error, r.message);
  ApiResponse out;
  out.body = "{\"reloaded\":true,\"source\":";
  append_json_string(out.body, r.source);
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.1f", r.ms);
  out.body.append(",\"ms\":").append(ms).append("}\n");
  co_return out;
}

// Whether the request may go on; else *denied is the 401 or 403 to answer.
bool authorized(const AdminContext& context, const http::RequestHead& req, std::string_view path,
                ApiResponse* denied) {
  const config::Config* cfg = context.home ? &context.home->config() : nullptr;
  const bool read_only = req.method == "GET" || req.method == "HEAD";
  if (read_only && cfg) {
    for (const std::string& open : cfg->admin.public_paths) {
      if (open == path) return true;
    }
  }
  // Purges and prefetches change what is cached: scope purge.
  const Scope needed = path == purge_path || path == prefetch_path ? Scope::purge
                       : read_only                                  ? Scope::read
                                                                    : Scope::admin;
  std::string_view token;
  if (std::optional<std::string_view> auth = req.headers.find("authorization")) token = bearer_token(*auth);
  if (token.empty()) {
    *denied = json_error(401, "unauthorized", "this endpoint needs a bearer token (Authorization: Bearer TOKEN)");
    denied->headers.emplace_back("WWW-Authenticate", "Bearer");
    return false;
  }
  const std::string hash = token_hash(token);
  std::string name;
  uint8_t scopes = 0;
  bool known = false;
  if (const config::AdminToken* t = cfg ? find_by_hash(cfg->admin.tokens, hash) : nullptr) {
    known = true;
    name = t->name;
    scopes = scope_bits(t->scopes);
  } else if (const TokenEntry* e = context.process_tokens.find_hash(hash)) {
    known = true;
    name = e->name;
    scopes = e->scopes;
  }
  if (!known) {
    *denied = json_error(401, "unauthorized", "the bearer token is not one this server knows");
    denied->headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return false;
  }
  if (!TokenTable::allows({name, hash, scopes}, needed)) {
    *denied = json_error(403, "forbidden",
                         "token " + name + " lacks the '" + std::string(scope_name(needed)) +
                             "' scope this needs");
    return false;
  }
  return true;
}

// Keeps a connection in AdminConnections while it is open, and closes its socket.
class TrackedConnection {
 public:
  TrackedConnection(int fd, AdminConnections* connections) : fd_(fd), connections_(connections) {
    if (connections_) connections_->opened(fd_);
  }
  TrackedConnection(const TrackedConnection&) = delete;
  ~TrackedConnection() {
    if (connections_) connections_->closed(fd_);
    ::close(fd_);
  }
  bool draining() const { return connections_ && connections_->draining(); }
  void idle(bool idle) {
    if (connections_) connections_->idle(fd_, idle);
  }

 private:
  int fd_;
  AdminConnections* connections_;
};

Task<void> serve_admin_connection(int fd, const AdminContext& context) {
  TrackedConnection tracked(fd, context.connections);
  http::Http1Parser parser(http::Http1Parser::Kind::request);
  runtime::Buffer carry;
  bool keep = true;
  while (keep) {
    bool head = false;
    bool started = false;  // bytes of this request have come
    while (!head) {
      if (!carry || carry.remaining() == 0) {
        carry.release();
        if (!started && tracked.draining()) co_return;
        tracked.idle(!started);
        runtime::RecvResult r = co_await runtime::recv(fd, admin_timeout);
        tracked.idle(false);
        if (r.bytes <= 0) co_return;
        carry = std::move(r.buffer);
      }
      started = true;
      http::ParseResult pr = parser.feed(carry.view());
      carry.consume(pr.consumed);
      if (pr.state == http::ParseState::error) {
        keep = false;
        break;
      }
      head = pr.state == http::ParseState::head_done;
    }
    ApiResponse resp;
    bool is_head = false;
    bool unread_body = false;  // answered before reading the whole body
    if (!head) {
      resp = text(400, "malformed request\n");
    } else {
      const http::RequestHead& req = parser.request();
      std::string method = req.method;
      std::string path(std::string_view(req.target).substr(0, req.target.find('?')));
      is_head = req.is_head();
      keep = req.keep_alive;
      size_t limit = path == purge_path && method == "POST"      ? max_purge_bytes
                     : path == prefetch_path && method == "POST" ? max_prefetch_bytes
                                                                 : modules_body_limit(method, path, context.modules);
      std::string body;
      bool answered = false;
      if (!authorized(context, req, path, &resp)) {
        answered = true;  // before reading any body
        if (req.has_body()) {
          keep = false;
          unread_body = true;
        }
      } else if (req.has_body() && limit == 0) {
        keep = false;  // a body nobody reads: answer, then close rather than skip it
        unread_body = true;
      } else if (req.has_body() && req.framing == http::BodyFraming::content_length &&
                 req.content_length > limit) {
        resp = json_error(413, "body_too_large",
                          "the body has " + std::to_string(req.content_length) +
                              " bytes; at most " + std::to_string(limit) + " may come here");
        keep = false;
        unread_body = true;
        answered = true;
      } else {
        if (req.has_body() && req.expect_continue) {
          int64_t n = co_await runtime::send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", admin_timeout);
          if (n < 0) break;
        }
        BodyRead b = co_await read_body(fd, parser, carry, limit, &body);
        if (b == BodyRead::closed) break;
        if (b != BodyRead::ok) {
          resp = b == BodyRead::too_large
                     ? json_error(413, "body_too_large",
                                  "at most " + std::to_string(limit) + " bytes may come here")
                     : text(400, "malformed request body\n");
          keep = false;
          unread_body = true;
          answered = true;
        }
      }
      if (answered) {
        // resp is set
      } else if (path == purge_path) {
        resp = handle_purge(method, body, context.storage);
      } else if (path == prefetch_path) {
        resp = context.prefetch ? context.prefetch->handle_start(method, body)
                                : json_error(503, "no_listener", "no proxy listener to fetch through");
      } else if (path == reload_path) {
        resp = co_await handle_reload(method, context.modules);
      } else if (is_modules_path(path)) {
        resp = co_await handle_modules(method, path, std::move(body), context.modules);
      } else if (method != "GET" && method != "HEAD") {
        resp = text(405, "method not allowed\n");
        resp.headers.emplace_back("Allow", "GET, HEAD");
      } else if (path == "/healthz") {
        resp = text(200, "ok\n");
      } else if (path == "/metrics") {
        resp = text(200, render_metrics(context));
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
      } else if (path == "/api/v1/stats") {
        resp.body = stats_json(render_metrics(context));
      } else if (path == config_path && context.home) {
        resp.body = config_json(context.home->config(), static_cast<unsigned>(context.workers.size()));
      } else if (path.starts_with(jobs_prefix) && context.prefetch) {
        resp = context.prefetch->handle_status(path);
      } else if (path == cache_path) {
        resp = handle_cache_list(req.target, context.storage, proxy::unix_now());
      } else if (path == cache_entry_path) {
        resp = handle_cache_entry(req.target, context.storage, proxy::unix_now());
      } else {
        resp = text(404, "not found\n");
      }
    }
    http::ResponseHead out_head;
    out_head.status = resp.status;
    out_head.reason = http::reason_phrase(resp.status);
    out_head.headers.add("Date", http::http_date_now());
    out_head.headers.add("Cache-Control", "no-store");
    out_head.headers.add("Content-Type", resp.content_type);
    for (const auto& [name, value] : resp.headers) out_head.headers.add(name, value);
    out_head.framing = http::BodyFraming::content_length;
    out_head.content_length = resp.body.size();
    if (tracked.draining()) keep = false;
    out_head.keep_alive = keep;
    std::string out;
    http::serialize_response_head(out_head, out);
    if (!is_head) out += resp.body;
    int64_t n = co_await runtime::send_all(fd, out, admin_timeout);
    if (n < 0) break;
    if (unread_body) {
      co_await linger(fd);
      break;
    }
  }
}

}  // namespace

void AdminConnections::drain() {
  draining_ = true;
  // A shut-down socket ends the pending receive with 0 bytes: the connection closes itself.
  for (const auto& [fd, idle] : open_) {
    if (idle) ::shutdown(fd, SHUT_RDWR);
  }
}

void AdminConnections::abort() {
  draining_ = true;
  for (const auto& [fd, idle] : open_) ::shutdown(fd, SHUT_RDWR);
}

void AdminConnections::idle(int fd, bool idle) {
  auto it = open_.find(fd);
  if (it == open_.end()) return;
  it->second = idle;
  if (idle && draining_) ::shutdown(fd, SHUT_RDWR);
}

Task<void> serve_admin(int listen_fd, const AdminContext& context) {
  while (true) {
    net::SocketAddress peer;
    peer.length = sizeof peer.storage;
    int fd = co_await runtime::accept(listen_fd, peer.get(), &peer.length);
    if (fd < 0) {
      if (fd == -EINVAL || fd == -EBADF || fd == -ECANCELED) break;
      continue;
    }
    runtime::spawn(serve_admin_connection(fd, context));
  }
}

}  // namespace stavka::admin
