// Worker: the proxy state one reactor thread owns.
//
// Everything here is touched only by the worker's own thread, except `counters` (read by the
// admin listener through relaxed atomics). A reload replaces `sites` with a table built from the
// new Config; requests in flight keep the table they started with through their shared_ptr, so
// a reload never changes a request half-way. Live client connections are kept in an intrusive
// list so that a drain can close the idle ones and tell the busy ones to close after their
// response.
#pragma once

#include <memory>

#include "config/config.h"
#include "http/parser.h"
#include "net/address.h"
#include "proxy/access_log.h"
#include "proxy/metrics.h"
#include "proxy/site_table.h"
#include "proxy/upstream_pool.h"
#include "runtime/intrusive_list.h"
#include "runtime/io.h"
#include "runtime/reactor.h"
#include "runtime/recv_stream.h"
#include "runtime/task.h"
#include "wasm/module.h"
#include "wasm/worker_modules.h"

namespace stavka::proxy {

struct CacheServices;  // cache_stage.h

struct ClientConnection {
  int fd = -1;
  runtime::RecvStream rx;  // every read from the client (reset before fd is closed)
  std::string peer_ip;
  bool idle = true;  // waiting for the first byte of a request
  runtime::ListLink<ClientConnection> link;  // in the worker's connections
};

// An origin request in flight, as its worker lists it (each OriginRequest has one).
struct OriginInFlight {
  const UpstreamConnection* conn = nullptr;
  runtime::ListLink<OriginInFlight> link;
};

class Worker {
 public:
  Worker(runtime::Reactor& reactor, std::shared_ptr<const config::Config> config, int log_fd);
  ~Worker();

  runtime::Reactor& reactor() { return reactor_; }
  std::shared_ptr<SiteTable> sites() const { return sites_; }
  const config::Config& config() const { return sites_->config(); }
  const std::string& bypass_status() const { return sites_->bypass_status(); }
  UpstreamPool& upstreams() { return upstreams_; }
  AccessLog& access_log() { return access_log_; }
  Counters& counters() { return counters_; }
  // Storage and fills in progress, shared by all workers; nullptr: no caching.
  CacheServices* cache_services() const { return cache_services_; }
  void set_cache_services(CacheServices* services) { cache_services_ = services; }

  // Parsers are recycled between requests (they keep their buffers' capacity); a connection
  // takes one only while it has a request in hand, so idle connections hold none.
  std::unique_ptr<http::Http1Parser> take_parser(http::Http1Parser::Kind kind);
  void give_back(std::unique_ptr<http::Http1Parser> parser);

  // Swaps in a new configuration and the modules loaded for it (this worker's thread).
  void apply_config(std::shared_ptr<const config::Config> config,
                    std::shared_ptr<const wasm::ModuleSet> modules);
  // Swaps in a new module set alone (a pushed module version).
  void apply_modules(std::shared_ptr<const wasm::ModuleSet> modules);
  wasm::WorkerModules& modules() { return modules_; }

  // Stop taking requests: idle connections are closed now, busy ones after their response.
  void start_drain();
  bool draining() const { return draining_; }

  // Tasks that run as long as the worker takes traffic hold one of these: the accept loops (and
  // the admin listener's, on worker 0), which end when the drain shuts their listeners down, and
  // housekeeping, which waits between rounds on upkeep_alarm(), which the drain rings. The drain
  // waits for them all, so none is left suspended when the reactor stops.
  class ServiceTask {
   public:
    explicit ServiceTask(Worker& w) : w_(w) { ++w_.service_tasks_; }
    ServiceTask(const ServiceTask&) = delete;
    ~ServiceTask() { --w_.service_tasks_; }

   private:
    Worker& w_;
  };
  size_t service_tasks() const { return service_tasks_; }
  runtime::Alarm& upkeep_alarm() { return upkeep_alarm_; }
  size_t open_connections() const { return open_; }
  // Closes every remaining client connection at once (drain deadline passed).
  void abort_connections();
  // Ends every origin request still in flight as if its origin had closed the connection
  // (drain deadline passed): what waits on one, a fill storing for no client included, unwinds.
  void abort_origin_requests();
  // Each OriginRequest is attached for its lifetime (for abort_origin_requests).
  void attach(OriginInFlight* r);
  void detach(OriginInFlight* r);

  void attach(ClientConnection* c);
  void detach(ClientConnection* c);
  // Marks a connection idle or busy; an idle one is shut down at once while draining.
  void set_idle(ClientConnection* c, bool idle);

 private:
  runtime::Reactor& reactor_;
  std::shared_ptr<SiteTable> sites_;
  UpstreamPool upstreams_;
  AccessLog access_log_;
  Counters counters_;
  wasm::WorkerModules modules_;
  CacheServices* cache_services_ = nullptr;
  bool draining_ = false;
  size_t service_tasks_ = 0;
  runtime::Alarm upkeep_alarm_;
  std::vector<std::unique_ptr<http::Http1Parser>> spare_parsers_[2];  // by Kind
  runtime::IntrusiveList<ClientConnection, &ClientConnection::link> connections_;
  size_t open_ = 0;
  runtime::IntrusiveList<OriginInFlight, &OriginInFlight::link> origin_requests_;
};

// Periodic upkeep until the worker drains: closes origin connections idle past origin_idle.
runtime::Task<void> housekeeping(Worker& worker);

// Serves one accepted client connection until it closes; owns fd.
runtime::Task<void> serve_client(Worker& worker, int fd, net::SocketAddress peer);

}  // namespace stavka::proxy
