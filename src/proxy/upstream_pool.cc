// UpstreamPool implementation; see upstream_pool.h.
#include "proxy/upstream_pool.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string_view>

namespace stavka::proxy {

UpstreamPool::~UpstreamPool() { close_all(); }

size_t UpstreamPool::AddressHash::operator()(const net::SocketAddress& a) const noexcept {
  if (a.family() == AF_INET) {  // the usual case: address and port in one word, mixed
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
    uint64_t x = (uint64_t{in->sin_addr.s_addr} << 16) | in->sin_port;
    x *= 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(x ^ (x >> 32));
  }
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(&a.storage), a.length));
}

void UpstreamConnection::close() {
  rx.reset();
  if (fd >= 0) ::close(fd);
  fd = -1;
}

UpstreamConnection UpstreamPool::acquire(const net::SocketAddress& addr,
                                         runtime::Clock::time_point now,
                                         runtime::Clock::duration max_idle) {
  auto it = idle_.find(addr);
  if (it == idle_.end()) return {};
  auto& list = it->second;
  // The most recently used connection is the least likely to have been closed by the origin.
  while (!list.empty()) {
    Idle c = std::move(list.back());
    list.pop_back();
    if (now - c.since < max_idle && !c.conn.rx.at_end() && !c.conn.rx.has_queued()) {
      // Drop the stale ones at the front while we are here.
      while (!list.empty() && now - list.front().since >= max_idle) {
        list.front().conn.close();
        list.pop_front();
      }
      return std::move(c.conn);
    }
    c.conn.close();
  }
  return {};
}

void UpstreamPool::release(const net::SocketAddress& addr, UpstreamConnection c,
                           runtime::Clock::time_point now, size_t max_idle_count) {
  auto& list = idle_[addr];
  if (list.size() >= max_idle_count) {
    c.close();
    return;
  }
  list.push_back(Idle{std::move(c), now});
}

void UpstreamPool::close_expired(runtime::Clock::time_point now,
                                 runtime::Clock::duration max_idle) {
  for (auto& [k, list] : idle_) {
    // Oldest first: stop at the first one still young enough.
    while (!list.empty() && now - list.front().since >= max_idle) {
      list.front().conn.close();
      list.pop_front();
    }
  }
}

void UpstreamPool::close_all() {
  for (auto& [k, list] : idle_) {
    for (auto& c : list) c.conn.close();
    list.clear();
  }
}

size_t UpstreamPool::idle_count() const {
  size_t n = 0;
  for (const auto& [k, list] : idle_) n += list.size();
  return n;
}

}  // namespace stavka::proxy
