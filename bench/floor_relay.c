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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kBuffers = 4096, kBufferSize = 16384, kGroup = 1, kMaxPairs = 1 << 15 };  // pairs: half the descriptors
enum { kAccept = 1, kRecv = 2, kSend = 3 };

// A client connection and its origin connection: side 0 and side 1. Bytes received on one side
// are sent on the other. When a side's stream ends (or fails), the other side's write half is
// shut once everything received before the end has been sent; the pair is closed when both
// streams have ended and nothing is being sent.
struct Pair {
  int fd[2];
  int sending[2];      // sends in flight on each side
  bool ended[2];       // the side's receive has ended
  bool shut_after[2];  // shut the side's write half once its sends are done
};

static struct io_uring ring;
static struct io_uring_buf_ring* buffers;
static char* memory;
static int max_fd;  // descriptors (and file-table slots) below this are used
static struct Pair* pairs;
static uint32_t* free_pairs;
static uint32_t free_count;
static uint16_t length_of[kBuffers];  // bytes received into each buffer being sent

// user_data: operation (4 bits), side (1), pair (24), buffer id (16), offset sent (16).
static uint64_t tag(int op, uint32_t pair, int side, int bid, int offset) {
  return (uint64_t)op | ((uint64_t)side << 4) | ((uint64_t)pair << 5) | ((uint64_t)bid << 29) |
         ((uint64_t)offset << 45);
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

static void arm_recv(uint32_t pair, int side) {
  struct io_uring_sqe* sqe = next_sqe();
  io_uring_prep_recv_multishot(sqe, pairs[pair].fd[side], NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT | IOSQE_FIXED_FILE;
  sqe->buf_group = kGroup;
  io_uring_sqe_set_data64(sqe, tag(kRecv, pair, side, 0, 0));
}

static void give_back(int bid) {
  io_uring_buf_ring_add(buffers, memory + (size_t)bid * kBufferSize, kBufferSize, bid,
                        io_uring_buf_ring_mask(kBuffers), 0);
  io_uring_buf_ring_advance(buffers, 1);
}

static void send_from(uint32_t pair, int side, int bid, int offset) {
  struct io_uring_sqe* sqe = next_sqe();
  io_uring_prep_send(sqe, pairs[pair].fd[side], memory + (size_t)bid * kBufferSize + offset,
                     length_of[bid] - offset, MSG_NOSIGNAL);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, tag(kSend, pair, side, bid, offset));
}

// Shuts the side's write half if its peer's stream has ended and everything is sent; closes the
// pair once both streams have ended and nothing is in flight.
static void settle(uint32_t pair) {
  struct Pair* p = &pairs[pair];
  for (int side = 0; side < 2; ++side) {
    if (p->shut_after[side] && p->sending[side] == 0) {
      p->shut_after[side] = false;
      shutdown(p->fd[side], SHUT_WR);
    }
  }
  if (p->ended[0] && p->ended[1] && p->sending[0] == 0 && p->sending[1] == 0) {
    for (int side = 0; side < 2; ++side) {
      register_socket(p->fd[side], -1);
      close(p->fd[side]);
    }
    free_pairs[free_count++] = pair;
  }
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
  pairs = calloc(kMaxPairs, sizeof *pairs);
  free_pairs = malloc(sizeof *free_pairs * kMaxPairs);
  for (uint32_t i = 0; i < kMaxPairs; ++i) free_pairs[free_count++] = kMaxPairs - 1 - i;

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
  io_uring_sqe_set_data64(sqe, tag(kAccept, 0, 0, 0, 0));

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
      const int op = (int)(t & 0xf), side = (int)((t >> 4) & 1);
      const uint32_t pair = (uint32_t)((t >> 5) & 0xffffff);
      int bid = (int)((t >> 29) & 0xffff);
      const int offset = (int)(t >> 45);
      const int res = cqe->res;
      if (op == kAccept) {
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
          fprintf(stderr, "floor_relay: accepting stopped: %s\n", strerror(-res));
          return 1;
        }
        if (res < 0) continue;
        int o = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (o < 0 || res >= max_fd || o >= max_fd || free_count == 0 ||
            connect(o, (const struct sockaddr*)&origin, sizeof origin) < 0) {
          close(res);
          if (o >= 0) close(o);
          continue;
        }
        setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(o, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        register_socket(res, res);
        register_socket(o, o);
        const uint32_t n = free_pairs[--free_count];
        pairs[n] = (struct Pair){.fd = {res, o}};
        arm_recv(n, 0);
        arm_recv(n, 1);
      } else if (op == kRecv) {
        struct Pair* p = &pairs[pair];
        const int other = 1 - side;
        const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
        if (res > 0) {
          bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
          length_of[bid] = (uint16_t)res;
          ++p->sending[other];
          send_from(pair, other, bid, 0);
          if (!more) arm_recv(pair, side);  // the multishot stopped by itself
        } else if (res == -ENOBUFS) {
          arm_recv(pair, side);  // every buffer is out being sent: try again
        } else if (!more) {
          p->ended[side] = true;  // end of stream, or an error
          p->shut_after[other] = true;
          settle(pair);
        }
      } else if (op == kSend) {
        struct Pair* p = &pairs[pair];
        if (res > 0 && offset + res < length_of[bid]) {
          send_from(pair, side, bid, offset + res);  // a short send: the rest of the buffer
          continue;
        }
        give_back(bid);
        --p->sending[side];
        if (res < 0) shutdown(p->fd[side], SHUT_RDWR);  // the peer is gone: end both ways
        settle(pair);
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
}
