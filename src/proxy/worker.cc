// Worker implementation; see worker.h.
#include "proxy/worker.h"

#include <sys/socket.h>

#include "runtime/io.h"

namespace stavka::proxy {

Worker::Worker(runtime::Reactor& reactor, std::shared_ptr<const config::Config> config, int log_fd)
    : reactor_(reactor),
      sites_(std::make_shared<SiteTable>(config)),
      access_log_(log_fd, config->log.format),
      modules_(reactor) {}

Worker::~Worker() { access_log_.flush_blocking(); }

void Worker::apply_config(std::shared_ptr<const config::Config> config,
                          std::shared_ptr<const wasm::ModuleSet> modules) {
  sites_ = std::make_shared<SiteTable>(std::move(config));
  spare_parsers_[0].clear();  // request limits may have changed
  modules_.apply(std::move(modules));
}

void Worker::apply_modules(std::shared_ptr<const wasm::ModuleSet> modules) {
  modules_.apply(std::move(modules));
}

std::unique_ptr<http::Http1Parser> Worker::take_parser(http::Http1Parser::Kind kind) {
  auto& spares = spare_parsers_[static_cast<int>(kind)];
  if (!spares.empty()) {
    auto p = std::move(spares.back());
    spares.pop_back();
    return p;
  }
  if (kind == http::Http1Parser::Kind::request) {
    const auto& limits = config().limits;
    return std::make_unique<http::Http1Parser>(
        kind, http::ParserLimits{limits.max_header_bytes, limits.max_headers});
  }
  return std::make_unique<http::Http1Parser>(kind);
}

void Worker::give_back(std::unique_ptr<http::Http1Parser> parser) {
  // Only a parser resting between messages is as good as new.
  if (!parser || parser->in_message() || parser->error_status() != 0) return;
  auto kind = static_cast<int>(parser->kind());
  if (spare_parsers_[kind].size() < 64) spare_parsers_[kind].push_back(std::move(parser));
}

void Worker::attach(ClientConnection* c) {
  connections_.push_front(c);
  ++open_;
  counters_.add(Metric::client_connections_open);
}

void Worker::detach(ClientConnection* c) {
  connections_.erase(c);
  --open_;
  counters_.add(Metric::client_connections_open, -1);
}

void Worker::set_idle(ClientConnection* c, bool idle) {
  c->idle = idle;
  // shutdown() wakes the pending receive with end-of-stream, so the connection ends itself.
  if (idle && draining_) ::shutdown(c->fd, SHUT_RDWR);
}

void Worker::start_drain() {
  draining_ = true;
  modules_.stop();
  connections_.for_each([](ClientConnection* c) {
    if (c->idle) ::shutdown(c->fd, SHUT_RDWR);
  });
  upkeep_alarm_.ring();
}

void Worker::abort_connections() {
  connections_.for_each([](ClientConnection* c) { ::shutdown(c->fd, SHUT_RDWR); });
}

void Worker::attach(OriginInFlight* r) { origin_requests_.push_front(r); }

void Worker::detach(OriginInFlight* r) { origin_requests_.erase(r); }

void Worker::abort_origin_requests() {
  // shutdown() ends the pending receive (or connect) with end-of-stream; the socket itself is
  // closed by its owner as it unwinds.
  origin_requests_.for_each([](OriginInFlight* r) {
    if (*r->conn) ::shutdown(r->conn->fd, SHUT_RDWR);
  });
}

runtime::Task<void> housekeeping(Worker& w) {
  Worker::ServiceTask running(w);
  while (!w.draining()) {
    co_await w.upkeep_alarm().wait_for(std::chrono::milliseconds(250));
    w.upstreams().close_expired(w.reactor().now(), w.config().timeouts.origin_idle);
  }
}

}  // namespace stavka::proxy
