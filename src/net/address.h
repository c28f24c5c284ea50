// Socket addresses: numeric IPv4/IPv6 endpoints and their text form.
//
// Plain values, no ownership; safe to copy between threads.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stavka::net {

struct SocketAddress {
  // TCP over IPv4 or IPv6 only: sockaddr_in6 holds either (28 bytes, not sockaddr_storage's 128;
  // every client connection keeps one).
  sockaddr_in6 storage{};
  socklen_t length = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  int family() const { return storage.sin6_family; }
  // "1.2.3.4" or "::1" (no port).
  std::string host_text() const;
  // "1.2.3.4:80" or "[::1]:80".
  std::string text() const;
  uint16_t port() const;

  bool operator==(const SocketAddress& o) const;
};

// A numeric host ("127.0.0.1", "::1"; "localhost" means 127.0.0.1) and a port.
std::optional<SocketAddress> make_address(std::string_view host, uint16_t port);

// For a wildcard address (0.0.0.0, ::), the loopback one of its family and port (where a local
// client reaches a listener bound to it); nullopt for any other address.
std::optional<SocketAddress> loopback_if_wildcard(const SocketAddress& addr);

}  // namespace stavka::net
