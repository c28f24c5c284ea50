// send_spliced on a real Reactor to a TCP loopback peer: order and content of what arrives, a
// full socket waited for, the timeout, short files and a closed peer; and the PipePool.
#include "runtime/splice.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "runtime/pipe_pool.h"
#include "runtime/reactor.h"
#include "support/run_on_reactor.h"
#include "support/tcp_pair.h"

namespace stavka::runtime {
namespace {

using namespace std::chrono_literals;
using test::run_on_reactor;

std::string pattern(size_t size, uint32_t seed) {
  std::string bytes(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : bytes) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return bytes;
}

// A memory file holding bytes.
struct MemFile {
  int fd;
  explicit MemFile(std::string_view bytes) : fd(memfd_create("splice-test", MFD_CLOEXEC)) {
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  ~MemFile() { ::close(fd); }
};

// A regular file holding bytes (in the page cache, having just been written), already unlinked.
struct TmpFile {
  int fd;
  explicit TmpFile(std::string_view bytes) {
    char path[] = "/tmp/stavka-splice-XXXXXX";
    fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    unlink(path);
    EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  ~TmpFile() { ::close(fd); }
};

using test::TcpPair;

// Reads everything the peer gets until end of stream, on its own thread; pause between reads
// makes it a slow reader.
class Reader {
 public:
  explicit Reader(int fd, size_t chunk = 64 * 1024, std::chrono::microseconds pause = 0us)
      : thread_([this, fd, chunk, pause] {
          std::string buffer(chunk, '\0');
          for (;;) {
            ssize_t n = ::read(fd, buffer.data(), buffer.size());
            if (n <= 0) break;
            received_.append(buffer.data(), static_cast<size_t>(n));
            if (pause > 0us) std::this_thread::sleep_for(pause);
          }
        }) {}
  ~Reader() {
    if (thread_.joinable()) thread_.join();
  }
  // Waits for end of stream.
  const std::string& received() {
    thread_.join();
    return received_;
  }

 private:
  std::string received_;
  std::thread thread_;
};

// send_spliced on a fresh reactor; also reports how many pipes its pool kept afterwards.
int64_t run_send(int sock, std::string_view prefix, const std::vector<SpliceRange>& ranges,
                 Duration timeout, size_t* idle_pipes = nullptr) {
  int64_t result = 0;
  run_on_reactor([&]() -> Task<void> {
    result = co_await send_spliced(sock, prefix, ranges, timeout);
    if (idle_pipes) *idle_pipes = Reactor::current().pipes().idle();
  });
  return result;
}

// Splicing into a socket whose peer is gone raises SIGPIPE (splice has no MSG_NOSIGNAL); the
// server ignores it (server.cc), so this test binary does too, for the tests that need it.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() : previous_(signal(SIGPIPE, SIG_IGN)) {}
  ~IgnoreSigpipe() { signal(SIGPIPE, previous_); }

 private:
  sighandler_t previous_;
};

TEST(SendSpliced, PrefixAndRangesArriveInOrder) {
  const std::string a = pattern(1 << 20, 1);
  const std::string b = pattern(300'000, 2);
  MemFile mem(a);
  TmpFile file(b);
  const std::vector<SpliceRange> ranges = {
      {mem.fd, 100, 5000},       // unaligned, inside the first pages
      {mem.fd, 300'001, 70'000},
      {file.fd, 0, 300'000},     // another file, whole
      {mem.fd, 0, 10},           // back to the start of the first
      {file.fd, 299'990, 10},    // the last bytes of the second
  };
  const std::string prefix = "HTTP/1.1 200 OK\r\nContent-Length: 375020\r\n\r\n";
  const std::string expected = prefix + a.substr(100, 5000) + a.substr(300'001, 70'000) + b +
                               a.substr(0, 10) + b.substr(299'990, 10);

  TcpPair tcp;
  Reader reader(tcp.peer);
  size_t idle = 0;
  int64_t sent = run_send(tcp.sender, prefix, ranges, 5s, &idle);
  ::shutdown(tcp.sender, SHUT_WR);
  EXPECT_EQ(sent, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(idle, 1u);  // the pipe went back to the pool, empty
  const std::string& received = reader.received();
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected) << "the bytes differ";
}

TEST(SendSpliced, EmptyRangesAreSkipped) {
  const std::string a = pattern(100'000, 3);
  MemFile mem(a);
  const std::vector<SpliceRange> ranges = {
      {mem.fd, 0, 0}, {mem.fd, 0, 40'000}, {mem.fd, 40'000, 0}, {mem.fd, 40'000, 60'000},
      {mem.fd, 99'999, 0}};
  TcpPair tcp;
  Reader reader(tcp.peer);
  size_t idle = 0;
  int64_t sent = run_send(tcp.sender, "", ranges, 5s, &idle);
  ::shutdown(tcp.sender, SHUT_WR);
  EXPECT_EQ(sent, static_cast<int64_t>(a.size()));
  EXPECT_EQ(idle, 1u);
  EXPECT_TRUE(reader.received() == a) << "the bytes differ";
}

TEST(SendSpliced, PrefixAloneAndNothingAtAll) {
  TcpPair tcp;
  Reader reader(tcp.peer);
  EXPECT_EQ(run_send(tcp.sender, "only a head", {}, 5s), 11);
  EXPECT_EQ(run_send(tcp.sender, "", {}, 5s), 0);
  ::shutdown(tcp.sender, SHUT_WR);
  EXPECT_EQ(reader.received(), "only a head");
}

TEST(SendSpliced, PrefixLargerThanThePipe) {
  const std::string prefix = pattern(3 << 20, 3);  // several pipefuls, written not spliced
  const std::string body = pattern(100'000, 4);
  MemFile mem(body);
  TcpPair tcp;
  Reader reader(tcp.peer);
  int64_t sent = run_send(tcp.sender, prefix, {{mem.fd, 0, 100'000}}, 5s);
  ::shutdown(tcp.sender, SHUT_WR);
  EXPECT_EQ(sent, static_cast<int64_t>(prefix.size() + body.size()));
  EXPECT_TRUE(reader.received() == prefix + body) << "the bytes differ";
}

TEST(SendSpliced, LargeBodyToASlowReaderWaitsForTheSocket) {
  const std::string body = pattern(8 << 20, 5);
  MemFile mem(body);
  TcpPair tcp(64 * 1024);
  Reader reader(tcp.peer, 32 * 1024, 500us);  // at most ~64 MB/s: many waits for POLLOUT
  size_t idle = 0;
  int64_t sent = run_send(tcp.sender, "head", {{mem.fd, 0, 4 << 20}, {mem.fd, 4 << 20, 4 << 20}},
                          30s, &idle);
  ::shutdown(tcp.sender, SHUT_WR);
  EXPECT_EQ(sent, static_cast<int64_t>(4 + body.size()));
  EXPECT_EQ(idle, 1u);
  const std::string& received = reader.received();
  EXPECT_EQ(received.size(), 4 + body.size());
  EXPECT_TRUE(received == "head" + body) << "the bytes differ";
}

TEST(SendSpliced, PeerThatNeverReadsTimesOut) {
  const std::string body = pattern(8 << 20, 6);
  MemFile mem(body);
  TcpPair tcp(64 * 1024);
  size_t idle = 1;
  auto start = std::chrono::steady_clock::now();
  int64_t result = run_send(tcp.sender, "head", {{mem.fd, 0, 8 << 20}}, 200ms, &idle);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result, -ETIMEDOUT);
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 10s);
  EXPECT_EQ(idle, 0u);  // the pipe still held bytes: closed, not pooled
}

TEST(SendSpliced, RangePastTheEndOfItsFileIsEIO) {
  const std::string bytes = pattern(1000, 7);
  MemFile mem(bytes);
  TcpPair tcp;
  size_t idle = 1;
  EXPECT_EQ(run_send(tcp.sender, "", {{mem.fd, 500, 1000}}, 5s, &idle), -EIO);
  EXPECT_EQ(idle, 0u);  // 500 bytes were left in the pipe: closed, not pooled
  EXPECT_EQ(run_send(tcp.sender, "", {{mem.fd, 0, 1000}, {mem.fd, 2000, 10}}, 5s), -EIO);
}

TEST(SendSpliced, ClosedPeerIsAnErrorNotACrash) {
  IgnoreSigpipe ignore;
  const std::string body = pattern(8 << 20, 8);
  MemFile mem(body);
  TcpPair tcp;
  ::close(tcp.peer);
  tcp.peer = -1;
  int64_t result = run_send(tcp.sender, "head", {{mem.fd, 0, 8 << 20}}, 5s);
  EXPECT_TRUE(result == -EPIPE || result == -ECONNRESET) << result;
}

TEST(PipePool, TakeGivesAnEmptyNonBlockingPipe) {
  PipePool pool;
  Pipe pipe = pool.take();
  ASSERT_TRUE(pipe);
  EXPECT_GE(pipe.write_fd, 0);
  EXPECT_GT(pipe.capacity, 0u);
  EXPECT_LE(pipe.capacity, PipePool::wanted_capacity);
  EXPECT_EQ(static_cast<int>(pipe.capacity), fcntl(pipe.write_fd, F_GETPIPE_SZ));
  EXPECT_TRUE(fcntl(pipe.read_fd, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(pipe.write_fd, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(pipe.read_fd, F_GETFD) & FD_CLOEXEC);
  char c;
  EXPECT_EQ(::read(pipe.read_fd, &c, 1), -1);  // empty, and a read does not wait
  EXPECT_EQ(errno, EAGAIN);
  ASSERT_EQ(::write(pipe.write_fd, "x", 1), 1);  // the two ends are one pipe
  EXPECT_EQ(::read(pipe.read_fd, &c, 1), 1);
  pool.give(pipe, true);
}

TEST(PipePool, AnEmptyPipeGivenBackIsTakenAgain) {
  PipePool pool;
  EXPECT_EQ(pool.idle(), 0u);
  Pipe pipe = pool.take();
  pool.give(pipe, true);
  EXPECT_EQ(pool.idle(), 1u);
  Pipe again = pool.take();
  EXPECT_EQ(again.read_fd, pipe.read_fd);
  EXPECT_EQ(again.write_fd, pipe.write_fd);
  EXPECT_EQ(again.capacity, pipe.capacity);
  EXPECT_EQ(pool.idle(), 0u);
  pool.give(again, true);
}

TEST(PipePool, APipeGivenBackNotEmptyIsClosed) {
  PipePool pool;
  Pipe pipe = pool.take();
  ASSERT_EQ(::write(pipe.write_fd, "left over", 9), 9);
  pool.give(pipe, false);
  EXPECT_EQ(pool.idle(), 0u);
  EXPECT_EQ(fcntl(pipe.read_fd, F_GETFD), -1);
  EXPECT_EQ(fcntl(pipe.write_fd, F_GETFD), -1);
}

TEST(PipePool, KeepsAtMostMaxIdle) {
  PipePool pool;
  std::vector<Pipe> pipes;
  for (size_t i = 0; i < PipePool::max_idle + 3; ++i) {
    pipes.push_back(pool.take());
    ASSERT_TRUE(pipes.back());
  }
  for (const Pipe& p : pipes) pool.give(p, true);
  EXPECT_EQ(pool.idle(), PipePool::max_idle);
  // The last ones given back found the pool full and were closed.
  for (size_t i = PipePool::max_idle; i < pipes.size(); ++i) {
    EXPECT_EQ(fcntl(pipes[i].read_fd, F_GETFD), -1) << i;
  }
}

TEST(PipePool, ClosesItsIdlePipesWhenDestroyed) {
  Pipe pipe;
  {
    PipePool pool;
    pipe = pool.take();
    pool.give(pipe, true);
    EXPECT_GE(fcntl(pipe.read_fd, F_GETFD), 0);
  }
  EXPECT_EQ(fcntl(pipe.read_fd, F_GETFD), -1);
  EXPECT_EQ(fcntl(pipe.write_fd, F_GETFD), -1);
}

TEST(PipePool, GivingBackANullPipeDoesNothing) {
  PipePool pool;
  pool.give(Pipe{}, true);
  EXPECT_EQ(pool.idle(), 0u);
}

}  // namespace
}  // namespace stavka::runtime
