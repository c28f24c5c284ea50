// UpstreamPool: idle keep-alive connections to origins, per worker.
//
// Owned by one worker; connections never move between workers. A connection enters the pool
// only after a response that was read completely and allowed keep-alive, and leaves it when a
// request takes it, when it has been idle for origin_idle, or when the pool is full.
#pragma once

#include <deque>
#include <unordered_map>

#include "net/address.h"
#include "runtime/timer_heap.h"

namespace stavka::proxy {

class UpstreamPool {
 public:
  UpstreamPool() = default;
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;

  // An idle connection to addr, or -1. Connections idle for longer than max_idle are closed.
  int acquire(const net::SocketAddress& addr, runtime::Clock::time_point now,
              runtime::Clock::duration max_idle);
  // Gives a healthy connection back; closes it instead if addr already has max_idle_count.
  void release(const net::SocketAddress& addr, int fd, runtime::Clock::time_point now,
               size_t max_idle_count);
  // Closes connections idle for max_idle or longer (called periodically by the worker).
  void close_expired(runtime::Clock::time_point now, runtime::Clock::duration max_idle);
  // Closes every idle connection (reload, shutdown).
  void close_all();
  size_t idle_count() const;

 private:
  struct Idle {
    int fd;
    runtime::Clock::time_point since;
  };
  // Hashes the address's bytes (sockaddr_in or sockaddr_in6, as compared by ==).
  struct AddressHash {
    size_t operator()(const net::SocketAddress& a) const noexcept;
  };
  std::unordered_map<net::SocketAddress, std::deque<Idle>, AddressHash> idle_;
};

}  // namespace stavka::proxy
