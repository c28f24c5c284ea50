// A TCP connection over loopback for unit tests that need real socket buffers: the sender is
// the accepted end, the peer the connecting one (blocking). buffer > 0 shrinks both ends' socket
// buffers (the peer's before connecting, since the window is set from it), so that a large body
// has to wait for the peer.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace stavka::test {

struct TcpPair {
  int sender = -1;
  int peer = -1;

  explicit TcpPair(int buffer = 0, bool nonblocking_sender = true) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(listen(listener, 1), 0);
    EXPECT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    peer = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (buffer > 0) {
      EXPECT_EQ(setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer), 0);
    }
    EXPECT_EQ(connect(peer, reinterpret_cast<sockaddr*>(&addr), len), 0);
    sender = accept4(listener, nullptr, nullptr,
                     SOCK_CLOEXEC | (nonblocking_sender ? SOCK_NONBLOCK : 0));
    EXPECT_GE(sender, 0);
    if (buffer > 0) {
      EXPECT_EQ(setsockopt(sender, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer), 0);
    }
    ::close(listener);
  }
  ~TcpPair() {
    ::close(sender);
    if (peer >= 0) ::close(peer);
  }
  TcpPair(const TcpPair&) = delete;
  TcpPair& operator=(const TcpPair&) = delete;
};

}  // namespace stavka::test
