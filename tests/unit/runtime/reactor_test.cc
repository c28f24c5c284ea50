// Runs a real Reactor on the test thread and drives real io_uring operations through it.
#include "runtime/reactor.h"

#include <fcntl.h>
#include <liburing.h>
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "runtime/helper_pool.h"
#include "runtime/io.h"
#include "runtime/task.h"

namespace stavka::runtime {
namespace {

using namespace std::chrono_literals;

// Runs body on a fresh reactor until it finishes.
template <typename Body>
void run_on_reactor(Body body, ReactorOptions options = {}) {
  Reactor reactor(0, options);
  reactor.make_current();
  bool finished = false;
  auto wrapper = [&]() -> Task<void> {
    co_await body();
    finished = true;
    reactor.stop();
  };
  spawn(wrapper());
  if (!finished) reactor.run();
  ASSERT_TRUE(finished);
}

struct SocketPair {
  int a, b;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a = fds[0];
    b = fds[1];
  }
  ~SocketPair() {
    ::close(a);
    ::close(b);
  }
};

TEST(Reactor, ProbeFindsEverythingOnThisKernel) { EXPECT_EQ(probe_io_uring(), ""); }

TEST(Reactor, SendAndReceiveThroughProvidedBuffers) {
  SocketPair sp;
  run_on_reactor([&]() -> Task<void> {
    int64_t sent = co_await send_all(sp.a, std::string_view("hello, reactor"));
    EXPECT_EQ(sent, 14);
    RecvResult r = co_await recv(sp.b);
    EXPECT_EQ(r.bytes, 14);
    EXPECT_EQ(r.buffer.view(), "hello, reactor");
    ::shutdown(sp.a, SHUT_WR);
    RecvResult eof = co_await recv(sp.b);
    EXPECT_EQ(eof.bytes, 0);
    EXPECT_FALSE(eof.buffer);
  });
}

TEST(Reactor, ReceiveTimesOut) {
  SocketPair sp;
  run_on_reactor([&]() -> Task<void> {
    auto start = Clock::now();
    RecvResult r = co_await recv(sp.b, 50ms);
    EXPECT_EQ(r.bytes, -ETIMEDOUT);
    EXPECT_GE(Clock::now() - start, 45ms);
  });
}

TEST(Reactor, SendAllVectorsCompletesLargeWrites) {
  SocketPair sp;
  std::string big(4 << 20, 'z');
  std::string received;
  run_on_reactor([&]() -> Task<void> {
    // A reader coroutine drains the other end while the writer pushes 4 MiB in two vectors.
    bool reader_done = false;
    auto reader = [&]() -> Task<void> {
      while (received.size() < big.size() + 3) {
        RecvResult r = co_await recv(sp.b);
        if (r.bytes <= 0) break;
        received.append(r.buffer.view());
      }
      reader_done = true;
    };
    spawn(reader());
    iovec iov[2] = {{const_cast<char*>("abc"), 3}, {big.data(), big.size()}};
    int64_t n = co_await send_all(sp.a, iov, 2);
    EXPECT_EQ(n, static_cast<int64_t>(big.size() + 3));
    while (!reader_done) co_await sleep(1ms);
  });
  EXPECT_EQ(received.size(), big.size() + 3);
  EXPECT_EQ(received.substr(0, 4), "abcz");
}

TEST(Reactor, ATimedSendToAFullSocketWaitsForRoom) {
  // With a timeout the first attempt does not wait; 4 MiB overflows the socket, so the send
  // goes on waiting for room (timer armed then) while a slow reader drains it.
  SocketPair sp;
  std::string big(4 << 20, 'q');
  size_t received = 0;
  run_on_reactor([&]() -> Task<void> {
    bool reader_done = false;
    auto reader = [&]() -> Task<void> {
      while (received < big.size()) {
        co_await sleep(1ms);
        RecvResult r = co_await recv(sp.b);
        if (r.bytes <= 0) break;
        received += static_cast<size_t>(r.bytes);
      }
      reader_done = true;
    };
    spawn(reader());
    int64_t n = co_await send_all(sp.a, big, 10s);
    EXPECT_EQ(n, static_cast<int64_t>(big.size()));
    while (!reader_done) co_await sleep(1ms);
  });
  EXPECT_EQ(received, big.size());
}

TEST(Reactor, ATimedSendToAPeerThatNeverReadsTimesOut) {
  SocketPair sp;
  std::string big(4 << 20, 'q');
  run_on_reactor([&]() -> Task<void> {
    auto start = Clock::now();
    int64_t n = co_await send_all(sp.a, big, 50ms);
    EXPECT_EQ(n, -ETIMEDOUT);
    EXPECT_GE(Clock::now() - start, 45ms);
    EXPECT_LT(Clock::now() - start, 2s);
    // A small send with room left needs no wait at all.
    SocketPair other;
    EXPECT_EQ(co_await send_all(other.a, std::string_view("fits"), 50ms), 4);
  });
}

TEST(Reactor, FallsBackToHeapBlocksWhenTheRingIsEmpty) {
  // Two ring buffers, four receives holding their buffers: two must use heap blocks.
  ReactorOptions options;
  options.recv_buffers = 2;
  options.recv_buffer_size = 4096;
  SocketPair p[4];
  run_on_reactor(
      [&]() -> Task<void> {
        std::vector<Buffer> held;
        for (auto& sp : p) {
          co_await send_all(sp.a, std::string_view("x"));
          RecvResult r = co_await recv(sp.b);
          EXPECT_EQ(r.bytes, 1);
          EXPECT_EQ(r.buffer.view(), "x");
          held.push_back(std::move(r.buffer));
        }
        EXPECT_EQ(Reactor::current().buffers().ring_buffers_out(), 2u);
        held.clear();
        EXPECT_EQ(Reactor::current().buffers().ring_buffers_out(), 0u);
      },
      options);
}

TEST(Reactor, FileOperations) {
  char dir_template[] = "/tmp/stavka-reactor-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string path = std::string(dir_template) + "/data";
  run_on_reactor([&]() -> Task<void> {
    int fd = co_await openat(AT_FDCWD, path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    int w = co_await write(fd, "0123456789", 10, 0);
    EXPECT_EQ(w, 10);
    char buf[4] = {0};
    int r = co_await read(fd, buf, 4, 3);
    EXPECT_EQ(r, 4);
    EXPECT_EQ(std::string(buf, 4), "3456");
    EXPECT_EQ(co_await close(fd), 0);
  });
  unlink(path.c_str());
  rmdir(dir_template);
}

TEST(Reactor, SleepWaitsAtLeastItsDuration) {
  run_on_reactor([&]() -> Task<void> {
    auto start = Clock::now();
    co_await sleep(30ms);
    EXPECT_GE(Clock::now() - start, 29ms);
  });
}

// Completions that keep coming (each one queues the next, and a full submission queue is
// submitted at once, completing at once) must not keep the loop from its clock and timers.
TEST(Reactor, TimersFireWhileCompletionsKeepComing) {
  ReactorOptions options;
  options.ring_entries = 8;
  struct Chain : Completion {
    Reactor* reactor = nullptr;
    bool* stop = nullptr;
    uint64_t* done = nullptr;
    void next() {
      io_uring_sqe* sqe = reactor->get_sqe();
      io_uring_prep_nop(sqe);
      io_uring_sqe_set_data(sqe, this);
    }
  };
  bool stop = false;
  uint64_t done = 0;
  int live = 0;
  std::vector<Chain> chains(32);
  run_on_reactor(
      [&]() -> Task<void> {
        Reactor& r = Reactor::current();
        for (Chain& c : chains) {
          c.reactor = &r;
          c.stop = &stop;
          c.done = &done;
          c.on_complete = [](Completion* self, int32_t, uint32_t) {
            auto* c = static_cast<Chain*>(self);
            ++*c->done;
            if (!*c->stop) c->next();
          };
          c.next();
        }
        live = static_cast<int>(chains.size());
        const Clock::time_point before = r.now();
        co_await sleep(20ms);
        stop = true;
        EXPECT_GT(done, 1000u) << "the completions did not keep coming: the test shows nothing";
        EXPECT_GE(r.now() - before, 19ms);
        co_await sleep(5ms);  // the chains' last completions drain
      },
      options);
  EXPECT_EQ(live, 32);
}

TEST(Reactor, AnAlarmWaitsItsDurationWhenNobodyRingsIt) {
  run_on_reactor([&]() -> Task<void> {
    Alarm alarm;
    auto start = Clock::now();
    co_await alarm.wait_for(30ms);
    EXPECT_GE(Clock::now() - start, 29ms);
  });
}

TEST(Reactor, RingingAnAlarmEndsItsWaitAtOnce) {
  run_on_reactor([&]() -> Task<void> {
    Alarm alarm;
    bool woke = false;
    auto waiter = [&]() -> Task<void> {
      co_await alarm.wait_for(10s);
      woke = true;
    };
    spawn(waiter());
    EXPECT_FALSE(woke);
    auto start = Clock::now();
    co_await sleep(5ms);
    alarm.ring();
    EXPECT_TRUE(woke);  // resumed inside ring()
    EXPECT_LT(Clock::now() - start, 1s);
    alarm.ring();  // nothing waits now: no-op
  });
}

TEST(Reactor, PostedWorkRunsOnTheReactorThread) {
  run_on_reactor([&]() -> Task<void> {
    Reactor* r = &Reactor::current();
    std::thread::id reactor_thread = std::this_thread::get_id();
    std::atomic<int> ran{0};
    std::thread other([&] {
      for (int i = 0; i < 100; ++i) {
        r->post([&, reactor_thread] {
          EXPECT_EQ(std::this_thread::get_id(), reactor_thread);
          ++ran;
        });
      }
    });
    while (ran.load() < 100) co_await sleep(1ms);
    other.join();
    EXPECT_EQ(ran.load(), 100);
  });
}

TEST(Reactor, BlockingWorkResumesOnTheCallingReactor) {
  HelperPool pool(2);
  run_on_reactor([&]() -> Task<void> {
    std::thread::id reactor_thread = std::this_thread::get_id();
    std::thread::id worker_thread;
    int v = co_await run_blocking(pool, [&] {
      worker_thread = std::this_thread::get_id();
      return 42;
    });
    EXPECT_EQ(v, 42);
    EXPECT_NE(worker_thread, reactor_thread);
    EXPECT_EQ(std::this_thread::get_id(), reactor_thread);
  });
}

TEST(Reactor, ConnectFailureIsReported) {
  run_on_reactor([&]() -> Task<void> {
    // A port nobody listens on: bind one, note its port, close it.
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(probe);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int rc = co_await connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a, 1s);
    EXPECT_EQ(rc, -ECONNREFUSED);
    ::close(fd);
  });
}

}  // namespace
}  // namespace stavka::runtime

namespace stavka::runtime {
namespace {

TEST(Reactor, SendAllSlicesMoreVectorsThanIovMax) {
  SocketPair sp;
  std::vector<std::string> parts;
  for (int i = 0; i < 3000; ++i) parts.push_back(std::to_string(i % 10));
  std::vector<iovec> iov;
  for (auto& p : parts) iov.push_back({p.data(), p.size()});
  std::string received;
  run_on_reactor([&]() -> Task<void> {
    int64_t n = co_await send_all(sp.a, iov.data(), static_cast<int>(iov.size()));
    EXPECT_EQ(n, 3000);
    while (received.size() < 3000) {
      RecvResult r = co_await recv(sp.b);
      if (r.bytes <= 0) break;
      received.append(r.buffer.view());
    }
  });
  ASSERT_EQ(received.size(), 3000u);
  EXPECT_EQ(received.substr(0, 12), "012345678901");
}

}  // namespace
}  // namespace stavka::runtime
