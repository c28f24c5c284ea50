// The floor under any HTTP proxy in bench/run.py: a TCP byte relay on io_uring.
//
// Each accepted connection gets its own connection to the origin, and bytes are copied both
// ways untouched: no parsing, no header rewriting, no pools, no timers. Per proxied request it
// makes the same kernel calls as the cheapest possible HTTP/1.1 proxy with keep-alive origin
// connections (a receive and a send on each side), on the same ring set-up as Stavka's workers
// (single issuer, deferred task work, multishot receives into a provided-buffer ring, sockets
// in the ring's registered-file table). What it
// costs per request is what the kernel costs; whatever a proxy spends above it is its own work.
//
// Usage: floor_relay LISTEN_PORT ORIGIN_PORT (both on 127.0.0.1). Built by bench/run.py with
// `cc -O2 floor_relay.c -luring`; one thread, meant to be pinned to the proxy CPU.
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kBuffers = 4096, kBufferSize = 16384, kGroup = 1 };
enum { kAccept = 1, kRecv = 2, kSend = 3 };

static struct io_uring ring;
static struct io_uring_buf_ring* buffers;
static char* memory;
static int max_fd;            // descriptors (and file-table slots) below this are used
static int* peer_of;          // fd -> the other side's fd
static uint16_t length_of[kBuffers];  // bytes received into each buffer being sent

// user_data: operation (8 bits), fd (20), buffer id (16), offset sent so far (16).
static uint64_t tag(int op, int fd, int bid, int offset) {
  return (uint64_t)op | ((uint64_t)fd << 8) | ((uint64_t)bid << 28) | ((uint64_t)offset << 44);
}

static struct io_uring_sqe* next_sqe(void) {
  struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (!sqe) {
    io_uring_submit(&ring);
    sqe = io_uring_get_sqe(&ring);
  }
  return sqe;
}

// Sockets are named by their slot in the ring's file table, which is their descriptor.
static void register_socket(int fd, int slot_value) {
  io_uring_register_files_update(&ring, (unsigned)fd, &slot_value, 1);
}

static void arm_recv(int fd) {
  struct io_uring_sqe* sqe = next_sqe();
  io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT | IOSQE_FIXED_FILE;
  sqe->buf_group = kGroup;
  io_uring_sqe_set_data64(sqe, tag(kRecv, fd, 0, 0));
}

static void give_back(int bid) {
  io_uring_buf_ring_add(buffers, memory + (size_t)bid * kBufferSize, kBufferSize, bid,
                        io_uring_buf_ring_mask(kBuffers), 0);
  io_uring_buf_ring_advance(buffers, 1);
}

static void send_from(int fd, int bid, int offset) {
  struct io_uring_sqe* sqe = next_sqe();
  io_uring_prep_send(sqe, fd, memory + (size_t)bid * kBufferSize + offset,
                     length_of[bid] - offset, MSG_NOSIGNAL);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, tag(kSend, fd, bid, offset));
}

static void close_pair(int fd) {
  int other = peer_of[fd];
  if (other >= 0) {
    shutdown(other, SHUT_RDWR);  // its receive ends with 0, which closes it
    peer_of[other] = -1;
  }
  peer_of[fd] = -1;
  register_socket(fd, -1);
  close(fd);
}

static int listen_on(const struct sockaddr_in* at) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (s < 0 || bind(s, (const struct sockaddr*)at, sizeof *at) < 0 || listen(s, 4096) < 0) {
    perror("floor_relay: listen");
    exit(1);
  }
  return s;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: floor_relay LISTEN_PORT ORIGIN_PORT\n");
    return 2;
  }
  struct rlimit nofile;
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  max_fd = nofile.rlim_cur < 65536 ? (int)nofile.rlim_cur : 65536;
  peer_of = malloc(sizeof(int) * (size_t)max_fd);
  memset(peer_of, 0xff, sizeof(int) * (size_t)max_fd);

  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  params.cq_entries = 16384;
  int rc = io_uring_queue_init_params(4096, &ring, &params);
  if (rc < 0) {
    fprintf(stderr, "floor_relay: io_uring_queue_init: %s\n", strerror(-rc));
    return 1;
  }
  io_uring_register_ring_fd(&ring);
  if ((rc = io_uring_register_files_sparse(&ring, (unsigned)max_fd)) < 0) {
    fprintf(stderr, "floor_relay: io_uring_register_files_sparse: %s\n", strerror(-rc));
    return 1;
  }
  buffers = mmap(NULL, kBuffers * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  io_uring_buf_ring_init(buffers);
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (uint64_t)(uintptr_t)buffers;
  reg.ring_entries = kBuffers;
  reg.bgid = kGroup;
  if ((rc = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
    fprintf(stderr, "floor_relay: io_uring_register_buf_ring: %s\n", strerror(-rc));
    return 1;
  }
  memory = malloc((size_t)kBuffers * kBufferSize);
  for (int i = 0; i < kBuffers; ++i) {
    io_uring_buf_ring_add(buffers, memory + (size_t)i * kBufferSize, kBufferSize, i,
                          io_uring_buf_ring_mask(kBuffers), i);
  }
  io_uring_buf_ring_advance(buffers, kBuffers);

  struct sockaddr_in listen_at, origin;
  memset(&listen_at, 0, sizeof listen_at);
  listen_at.sin_family = AF_INET;
  listen_at.sin_port = htons((uint16_t)atoi(argv[1]));
  inet_pton(AF_INET, "127.0.0.1", &listen_at.sin_addr);
  origin = listen_at;
  origin.sin_port = htons((uint16_t)atoi(argv[2]));
  int listener = listen_on(&listen_at);
  struct io_uring_sqe* sqe = next_sqe();
  io_uring_prep_multishot_accept(sqe, listener, NULL, NULL, 0);
  io_uring_sqe_set_data64(sqe, tag(kAccept, listener, 0, 0));

  for (;;) {
    rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR) {
      fprintf(stderr, "floor_relay: io_uring_submit_and_wait: %s\n", strerror(-rc));
      return 1;
    }
    struct io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      uint64_t t = cqe->user_data;
      int op = (int)(t & 0xff), fd = (int)((t >> 8) & 0xfffff);
      int bid = (int)((t >> 28) & 0xffff), offset = (int)(t >> 44);
      int res = cqe->res;
      if (op == kAccept) {
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
          fprintf(stderr, "floor_relay: accepting stopped: %s\n", strerror(-res));
          return 1;
        }
        if (res < 0) continue;
        int o = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (o < 0 || res >= max_fd || o >= max_fd ||
            connect(o, (const struct sockaddr*)&origin, sizeof origin) < 0) {
          close(res);
          if (o >= 0) close(o);
          continue;
        }
        setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(o, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        peer_of[res] = o;
        peer_of[o] = res;
        register_socket(res, res);
        register_socket(o, o);
        arm_recv(res);
        arm_recv(o);
      } else if (op == kRecv) {
        if (res > 0) {
          bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
          if (peer_of[fd] < 0) {
            give_back(bid);
          } else {
            length_of[bid] = (uint16_t)res;
            send_from(peer_of[fd], bid, 0);
          }
          if (!(cqe->flags & IORING_CQE_F_MORE)) arm_recv(fd);
        } else if (res == -ENOBUFS) {
          arm_recv(fd);  // every buffer is out being sent: try again
        } else if (!(cqe->flags & IORING_CQE_F_MORE)) {
          close_pair(fd);  // end of stream or an error
        }
      } else if (op == kSend) {
        if (res > 0 && offset + res < length_of[bid]) {
          send_from(fd, bid, offset + res);  // a short send: the rest of the same buffer
        } else {
          give_back(bid);
        }
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
}
