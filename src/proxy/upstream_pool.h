// UpstreamPool: idle keep-alive connections to origins, per worker.
//
// Owned by one worker; connections never move between workers. A connection enters the pool
// only after a response that was read completely and allowed keep-alive, and leaves it when a
// request takes it, when it has been idle for origin_idle, or when the pool is full.
#pragma once

#include <deque>
#include <unordered_map>
#include <utility>

#include "net/address.h"
#include "runtime/recv_stream.h"
#include "runtime/timer_heap.h"

namespace stavka::proxy {

// A connection to an origin: its socket and the receive stream reading it. While idle in the
// pool the stream stays armed, so an origin that closes the connection is noticed before the
// connection is reused.
// Move-only: a moved-from connection is empty, and assigning over one closes it first.
struct UpstreamConnection {
  int fd = -1;
  runtime::RecvStream rx;

  UpstreamConnection() = default;
  UpstreamConnection(UpstreamConnection&& o) noexcept
      : fd(std::exchange(o.fd, -1)), rx(std::move(o.rx)) {}
  UpstreamConnection& operator=(UpstreamConnection&& o) noexcept {
    if (this != &o) {
      close();
      fd = std::exchange(o.fd, -1);
      rx = std::move(o.rx);
    }
    return *this;
  }
  ~UpstreamConnection() { close(); }

  explicit operator bool() const { return fd >= 0; }
  void close();  // the stream first, then the socket
};

class UpstreamPool {
 public:
  UpstreamPool() = default;
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;

  // An idle connection to addr, or none (fd -1). Connections idle for longer than max_idle,
  // closed by the origin, or with bytes nobody asked for are closed.
  UpstreamConnection acquire(const net::SocketAddress& addr, runtime::Clock::time_point now,
                             runtime::Clock::duration max_idle);
  // Gives a healthy connection back; closes it instead if addr already has max_idle_count.
  void release(const net::SocketAddress& addr, UpstreamConnection c,
               runtime::Clock::time_point now, size_t max_idle_count);
  // Closes connections idle for max_idle or longer (called periodically by the worker).
  void close_expired(runtime::Clock::time_point now, runtime::Clock::duration max_idle);
  // Closes every idle connection (reload, shutdown).
  void close_all();
  size_t idle_count() const;

 private:
  struct Idle {
    UpstreamConnection conn;
    runtime::Clock::time_point since;
  };
  // Hashes the address's bytes (sockaddr_in or sockaddr_in6, as compared by ==).
  struct AddressHash {
    size_t operator()(const net::SocketAddress& a) const noexcept;
  };
  std::unordered_map<net::SocketAddress, std::deque<Idle>, AddressHash> idle_;
};

}  // namespace stavka::proxy
