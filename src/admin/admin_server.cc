// Admin listener implementation; see admin_server.h.
#include "admin/admin_server.h"

#include <unistd.h>

#include "http/date.h"
#include "http/parser.h"
#include "http/serializer.h"
#include "net/address.h"
#include "runtime/io.h"
#include "runtime/task.h"

namespace stavka::admin {

using runtime::Task;

std::string render_metrics(const AdminContext& context) {
  std::string out;
  out.reserve(4096);
  for (uint32_t i = 0; i < static_cast<uint32_t>(proxy::Metric::count_); ++i) {
    const auto& info = proxy::metric_info[i];
    int64_t sum = 0;
    for (const auto* c : context.workers) sum += c->get(static_cast<proxy::Metric>(i));
    out += "# HELP ";
    out += info.name;
    out += ' ';
    out += info.help;
    out += "\n# TYPE ";
    out += info.name;
    out += ' ';
    out += info.type;
    out += '\n';
    out += info.name;
    out += ' ';
    out += std::to_string(sum);
    out += '\n';
  }
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
