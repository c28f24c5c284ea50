// Sockets: creating listeners and outgoing connections, and the options Stavka sets.
//
// These calls never block (socket(), bind(), listen() and setsockopt() return at once); the
// waiting parts (accept, connect, receive, send) go through the reactor's io_uring.
#pragma once

#include <string>

#include "net/address.h"

namespace stavka::net {

// A TCP socket with SO_REUSEPORT, so each worker has its own and the kernel spreads new
// connections across them, bound to addr. With backlog > 0 it listens at once; with 0 it only
// holds the address (connections are refused) until start_listening(). Returns the fd, or
// -errno (message in *error).
int open_listener(const SocketAddress& addr, int backlog, std::string* error);
// listen() on a socket from open_listener(addr, 0). 0, or -errno (message in *error).
int start_listening(int fd, int backlog, std::string* error);

// An unconnected TCP socket of addr's family, close-on-exec, TCP_NODELAY set. -errno on failure.
int open_stream_socket(const SocketAddress& addr);

// Options for an accepted client socket (TCP_NODELAY).
void tune_client_socket(int fd);

// The port a bound socket listens on.
uint16_t local_port(int fd);

}  // namespace stavka::net
