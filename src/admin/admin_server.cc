// Admin listener implementation; see admin_server.h.
#include "admin/admin_server.h"

#include "wasm/shared_state.h"

#include <unistd.h>

#include <cstdio>
#include <iterator>
#include <string_view>

#include "http/date.h"
#include "http/parser.h"
#include "http/serializer.h"
#include "net/address.h"
#include "runtime/io.h"
#include "runtime/task.h"

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

Task<void> serve_admin_connection(int fd, const AdminContext& context) {
  http::Http1Parser parser(http::Http1Parser::Kind::request);
  runtime::Buffer carry;
  bool keep = true;
  while (keep) {
    bool head = false;
    while (!head) {
      if (!carry || carry.remaining() == 0) {
        carry.release();
        runtime::RecvResult r = co_await runtime::recv(fd, std::chrono::seconds(30));
        if (r.bytes <= 0) {
          ::close(fd);
          co_return;
        }
        carry = std::move(r.buffer);
      }
      http::ParseResult pr = parser.feed(carry.view());
      carry.consume(pr.consumed);
      if (pr.state == http::ParseState::error) {
        keep = false;
        break;
      }
      head = pr.state == http::ParseState::head_done;
    }
    http::ResponseHead resp;
    std::string body;
    if (!head) {
      resp.status = 400;
      body = "malformed request\n";
    } else {
      const http::RequestHead& req = parser.request();
      std::string_view path = req.target;
      path = path.substr(0, path.find('?'));
      keep = req.keep_alive && !req.has_body();
      if (req.method != "GET" && req.method != "HEAD") {
        resp.status = 405;
        body = "method not allowed\n";
        resp.headers.add("Allow", "GET, HEAD");
      } else if (path == "/healthz") {
        body = "ok\n";
      } else if (path == "/metrics") {
        body = render_metrics(context);
        resp.headers.add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      } else {
        resp.status = 404;
        body = "not found\n";
      }
      if (req.is_head()) body.clear();
      // Skip to the end of this (body-less) message so the parser is ready for the next one.
      if (keep) {
        http::ParseResult pr = parser.feed(carry.view());
        carry.consume(pr.consumed);
      }
    }
    resp.reason = http::reason_phrase(resp.status);
    resp.headers.add("Date", http::http_date_now());
    resp.headers.add("Cache-Control", "no-store");
    if (!resp.headers.contains("content-type")) resp.headers.add("Content-Type", "text/plain");
    resp.framing = http::BodyFraming::content_length;
    resp.content_length = body.size();
    resp.keep_alive = keep;
    std::string out;
    http::serialize_response_head(resp, out);
    out += body;
    int64_t n = co_await runtime::send_all(fd, out, std::chrono::seconds(30));
    if (n < 0) break;
  }
  ::close(fd);
}

}  // namespace

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
