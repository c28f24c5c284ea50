// The bundled demo origin: a tiny HTTP server on Stavka's own runtime, so that the embedded
// default shows a working proxy at once. One reactor thread; not meant for production.
//   /              an HTML page about what you are looking at
//   /hello         a short text
//   /bytes/N       N bytes (up to 1 GiB), cacheable for 60 s
//   /headers       the request's fields as the origin received them (see what Stavka adds)
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.h"
#include "http/date.h"
#include "http/parser.h"
#include "http/serializer.h"
#include "net/socket.h"
#include "runtime/io.h"
#include "runtime/task.h"
#include "runtime/log.h"
#include "server.h"

namespace stavka {

namespace {

using runtime::Task;

constexpr const char* index_page =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Stavka demo origin</title></head>"
    "<body style=\"font-family: sans-serif; max-width: 40em; margin: 3em auto\">"
    "<h1>It works</h1><p>This page came from Stavka's demo origin, through the Stavka proxy "
    "(look for <code>Via: 1.1 stavka</code> in the response headers).</p><ul>"
    "<li><a href=\"/hello\">/hello</a>: a short text</li>"
    "<li><a href=\"/bytes/1024\">/bytes/1024</a>: 1024 bytes</li>"
    "<li><a href=\"/headers\">/headers</a>: the request as the origin saw it</li></ul>"
    "</body></html>\n";

Task<void> send_body(int fd, std::string head, uint64_t size) {
  std::string chunk(65536, 'x');
  if (co_await runtime::send_all(fd, head) < 0) co_return;
  while (size > 0) {
    size_t n = size < chunk.size() ? size : chunk.size();
    if (co_await runtime::send_all(fd, std::string_view(chunk.data(), n)) < 0) co_return;
    size -= n;
  }
}

Task<void> serve(int fd) {
  http::Http1Parser parser(http::Http1Parser::Kind::request);
  runtime::Buffer carry;
  while (true) {
    while (true) {
      http::ParseResult pr = parser.feed(carry.view());
      carry.consume(pr.consumed);
      if (pr.state == http::ParseState::error) {
        ::close(fd);
        co_return;
      }
      if (pr.state == http::ParseState::message_done) break;
      if (pr.state == http::ParseState::head_done) continue;
      carry.release();
      runtime::RecvResult r = co_await runtime::recv(fd, std::chrono::seconds(60));
      if (r.bytes <= 0) {
        ::close(fd);
        co_return;
      }
      carry = std::move(r.buffer);
    }
    const http::RequestHead& req = parser.request();
    http::ResponseHead resp;
    resp.headers.add("Date", http::http_date_now());
    resp.headers.add("Server", "stavka-demo-origin");
    std::string body;
    uint64_t big = 0;
    std::string_view path = req.target;
    if (path == "/") {
      body = index_page;
      resp.headers.add("Content-Type", "text/html; charset=utf-8");
    } else if (path == "/hello") {
      body = "Hello from the Stavka demo origin.\n";
      resp.headers.add("Content-Type", "text/plain");
    } else if (path.starts_with("/bytes/")) {
      big = std::strtoull(std::string(path.substr(7)).c_str(), nullptr, 10);
      if (big > (1ull << 30)) big = 1ull << 30;
      resp.headers.add("Content-Type", "application/octet-stream");
      resp.headers.add("Cache-Control", "public, max-age=60");
    } else if (path == "/headers") {
      body = req.method + " " + req.target + "\n";
      for (const auto& h : req.headers) body.append(h.name).append(": ").append(h.value) += "\n";
      resp.headers.add("Content-Type", "text/plain");
    } else {
      resp.status = 404;
      body = "not found\n";
    }
    resp.reason = http::reason_phrase(resp.status);
    resp.framing = http::BodyFraming::content_length;
    resp.content_length = big ? big : body.size();
    resp.keep_alive = req.keep_alive;
    std::string out;
    http::serialize_response_head(resp, out);
    if (req.is_head()) {
      if (co_await runtime::send_all(fd, out) < 0) break;
    } else if (big) {
      co_await send_body(fd, std::move(out), big);
    } else {
      out += body;
      if (co_await runtime::send_all(fd, out) < 0) break;
    }
    if (!req.keep_alive) break;
  }
  ::close(fd);
}

Task<void> accept_loop(int listen_fd) {
  while (true) {
    int fd = co_await runtime::accept(listen_fd, nullptr, nullptr);
    if (fd >= 0) runtime::spawn(serve(fd));
  }
}

}  // namespace

int run_demo_origin(const std::string& listen) {
  config::ListenAddress la;
  try {
    la = config::parse_listen_address(listen);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "stavka demo-origin: %s\n", e.what());
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  auto addr = net::make_address(la.host, la.port);
  std::string error;
  int fd = addr ? net::open_listener(*addr, 1024, &error) : -1;
  if (fd < 0) {
    std::fprintf(stderr, "stavka demo-origin: %s\n", error.c_str());
    return 1;
  }
  runtime::Reactor reactor(0);
  reactor.make_current();
  runtime::spawn(accept_loop(fd));
  runtime::log(runtime::LogLevel::info, "demo origin listening on %s", la.text.c_str());
  reactor.run();
  return 0;
}

}  // namespace stavka
