// Socket helpers; see socket.h and address.h.
#include "net/socket.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace stavka::net {

std::string SocketAddress::host_text() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf,
              sizeof buf);
  }
  return buf;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::text() const {
  std::string host = host_text();
  if (family() == AF_INET6) host = "[" + host + "]";
  return host + ":" + std::to_string(port());
}

bool SocketAddress::operator==(const SocketAddress& o) const {
  return length == o.length && std::memcmp(&storage, &o.storage, length) == 0;
}

std::optional<SocketAddress> make_address(std::string_view host_view, uint16_t port) {
  std::string host(host_view);
  if (host == "localhost") host = "127.0.0.1";
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.length = sizeof(sockaddr_in);
    return a;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.length = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

std::optional<SocketAddress> loopback_if_wildcard(const SocketAddress& addr) {
  const std::string host = addr.host_text();
  if (host == "0.0.0.0") return make_address("127.0.0.1", addr.port());
  if (host == "::") return make_address("::1", addr.port());
  return std::nullopt;
}

int open_listener(const SocketAddress& addr, int backlog, std::string* error) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + strerror(errno);
    return -errno;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, addr.get(), addr.length) < 0) {
    int e = errno;
    *error = "cannot listen on " + addr.text() + ": " + strerror(e);
    ::close(fd);
    return -e;
  }
  if (backlog > 0 && listen(fd, backlog) < 0) {
    int e = errno;
    *error = "listen on " + addr.text() + ": " + strerror(e);
    ::close(fd);
    return -e;
  }
  return fd;
}

int start_listening(int fd, int backlog, std::string* error) {
  if (listen(fd, backlog) == 0) return 0;
  int e = errno;
  *error = std::string("listen: ") + strerror(e);
  return -e;
}

int open_stream_socket(const SocketAddress& addr) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void tune_client_socket(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

uint16_t local_port(int fd) {
  SocketAddress a;
  a.length = sizeof a.storage;
  if (getsockname(fd, a.get(), &a.length) < 0) return 0;
  return a.port();
}

}  // namespace stavka::net
