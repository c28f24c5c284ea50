// RecvStream on a real Reactor over loopback TCP: reads in order and the end after them, a
// timeout that keeps the stream, the bound on unclaimed reads, the heap fallback when the ring
// is empty, the state a reset leaves to the reactor, and the socket's registration with the ring.
#include "runtime/recv_stream.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/io.h"
#include "runtime/reactor.h"
#include "support/run_on_reactor.h"
#include "support/tcp_pair.h"

namespace stavka::runtime {
namespace {

using namespace std::chrono_literals;
using test::run_on_reactor;
using test::TcpPair;

// Every test runs twice: with multishot receives (this kernel) and with the one-shot ones a
// kernel without the multishot byte limit gets.
class RecvStreamTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { RecvStream::set_multishot_for_testing(GetParam()); }
  void TearDown() override { RecvStream::set_multishot_for_testing(true); }
};

INSTANTIATE_TEST_SUITE_P(Receives, RecvStreamTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "multishot" : "oneshot"; });

void put(int fd, std::string_view bytes) {
  ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

// Reads until n bytes came (or the stream ended or failed).
Task<std::string> read_bytes(RecvStream& rx, size_t n) {
  std::string got;
  while (got.size() < n) {
    RecvResult r = co_await rx.next(2s);
    if (r.bytes <= 0) break;
    EXPECT_EQ(r.buffer.view().size(), static_cast<size_t>(r.bytes));
    got.append(r.buffer.view());
  }
  co_return got;
}

TEST_P(RecvStreamTest, ReadsComeInOrderAndTheEndAfterThem) {
  TcpPair tcp;
  run_on_reactor([&]() -> Task<void> {
    RecvStream rx(tcp.sender);
    put(tcp.peer, "one");
    EXPECT_EQ(co_await read_bytes(rx, 3), "one");
    put(tcp.peer, "two");
    put(tcp.peer, "three");
    ::shutdown(tcp.peer, SHUT_WR);
    EXPECT_EQ(co_await read_bytes(rx, 8), "twothree");
    RecvResult end = co_await rx.next();
    EXPECT_EQ(end.bytes, 0);
    EXPECT_FALSE(end.buffer);
    EXPECT_TRUE(rx.at_end());
    EXPECT_EQ((co_await rx.next()).bytes, 0);  // and again: the end stays
  });
}

TEST_P(RecvStreamTest, ATimeoutKeepsTheStream) {
  TcpPair tcp;
  run_on_reactor([&]() -> Task<void> {
    RecvStream rx(tcp.sender);
    auto start = Clock::now();
    RecvResult r = co_await rx.next(30ms, /*expect_wait=*/true);
    EXPECT_EQ(r.bytes, -ETIMEDOUT);
    EXPECT_GE(Clock::now() - start, 25ms);
    put(tcp.peer, "late");
    co_await sleep(10ms);  // arrives while nobody waits: kept for the next read
    EXPECT_TRUE(rx.has_queued());
    EXPECT_EQ(co_await read_bytes(rx, 4), "late");
    EXPECT_FALSE(rx.at_end());
  });
}

TEST_P(RecvStreamTest, UnclaimedReadsStopTheReceiveAndAllArriveLater) {
  // 1 MiB sent while the owner does not read: the stream stops receiving after kMaxQueued
  // buffers' worth (the rest waits in the socket), and every byte arrives in order once it
  // reads again.
  ReactorOptions options = test::small_reactor_options();
  options.recv_buffers = 64;
  TcpPair tcp;
  std::string sent(1 << 20, '\0');
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('a' + (i * 7) % 26);
  std::thread writer;
  run_on_reactor(
      [&]() -> Task<void> {
        RecvStream rx(tcp.sender);
        writer = std::thread([&] { put(tcp.peer, sent); });
        std::string got = co_await read_bytes(rx, 1);
        co_await sleep(200ms);
        size_t out = Reactor::current().buffers().ring_buffers_out();
        // A multishot receive read ahead, and stopped at its byte limit; a one-shot one
        // (older kernels) reads nothing nobody asked for.
        EXPECT_EQ(out, RecvStream::multishot() ? RecvStream::kMaxQueued - 1 : 0u);
        got += co_await read_bytes(rx, sent.size() - got.size());
        EXPECT_EQ(got.size(), sent.size());
        EXPECT_TRUE(got == sent);
      },
      options);
  writer.join();
}

TEST_P(RecvStreamTest, ReadsIntoHeapBlocksWhenTheRingIsEmpty) {
  ReactorOptions options = test::small_reactor_options();
  options.recv_buffers = 2;
  TcpPair a, b, c;
  run_on_reactor(
      [&]() -> Task<void> {
        RecvStream ra(a.sender), rb(b.sender), rc(c.sender);
        std::vector<Buffer> held;
        for (auto [rx, tcp] : {std::pair{&ra, &a}, {&rb, &b}}) {
          put(tcp->peer, "x");
          RecvResult r = co_await rx->next(2s);
          EXPECT_EQ(r.bytes, 1);
          held.push_back(std::move(r.buffer));
        }
        EXPECT_EQ(Reactor::current().buffers().ring_buffers_out(), 2u);
        put(c.peer, "heap");
        EXPECT_EQ(co_await read_bytes(rc, 4), "heap");
        EXPECT_EQ(Reactor::current().buffers().ring_buffers_out(), 2u);
        held.clear();
        put(c.peer, "ring");  // and back on the ring after it
        RecvResult r = co_await rc.next(2s);
        EXPECT_EQ(r.buffer.view(), "ring");
        EXPECT_EQ(Reactor::current().buffers().ring_buffers_out(), 1u);
      },
      options);
}

TEST_P(RecvStreamTest, AResetStreamIsFreedByItsLastCompletion) {
  TcpPair tcp;
  run_on_reactor([&]() -> Task<void> {
    Reactor& reactor = Reactor::current();
    RecvStream rx(tcp.sender);
    EXPECT_EQ((co_await rx.next(10ms, true)).bytes, -ETIMEDOUT);  // armed, nothing came
    rx.reset();
    EXPECT_EQ(reactor.orphans(), 1u);
    co_await sleep(20ms);
    EXPECT_EQ(reactor.orphans(), 0u);
    put(tcp.peer, "after");  // nothing reads it any more; nothing breaks
    co_await sleep(10ms);
    EXPECT_EQ(reactor.buffers().ring_buffers_out(), 0u);
  });
}

TEST_P(RecvStreamTest, ASocketReadOftenIsRegisteredWithTheRingUntilTheStreamLetsGo) {
  TcpPair tcp;
  timeval wait{2, 0};
  ASSERT_EQ(setsockopt(tcp.peer, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait), 0);
  run_on_reactor([&]() -> Task<void> {
    Reactor& reactor = Reactor::current();
    RecvStream rx(tcp.sender);
    for (uint32_t i = 0; i < RecvStream::kRegisterAfter; ++i) {
      EXPECT_FALSE(reactor.is_fixed(tcp.sender)) << i;
      put(tcp.peer, "x");
      EXPECT_EQ(co_await read_bytes(rx, 1), "x");
    }
    EXPECT_TRUE(reactor.is_fixed(tcp.sender));
    // Receives and sends name the socket by its slot now.
    put(tcp.peer, "more");
    EXPECT_EQ(co_await read_bytes(rx, 4), "more");
    EXPECT_EQ(co_await send_all(tcp.sender, "pong", 2s), 4);
    char got[8] = {};
    EXPECT_EQ(::recv(tcp.peer, got, sizeof got, 0), 4);
    EXPECT_STREQ(got, "pong");
    // Unregistered with the stream: closing the descriptor then closes the socket.
    rx.reset();
    EXPECT_FALSE(reactor.is_fixed(tcp.sender));
    ::close(std::exchange(tcp.sender, -1));
    co_await sleep(20ms);  // the receive's cancel goes out (until then it holds the socket)
    EXPECT_EQ(::recv(tcp.peer, got, sizeof got, 0), 0);
  });
}

TEST_P(RecvStreamTest, AReactorEndingFirstFreesWhatIsLeft) {
  // The cancel is never reaped: the reactor's end frees the state (a leak shows under ASan).
  TcpPair tcp;
  run_on_reactor([&]() -> Task<void> {
    auto* rx = new RecvStream(tcp.sender);
    EXPECT_EQ((co_await rx->next(10ms, true)).bytes, -ETIMEDOUT);
    delete rx;
    EXPECT_EQ(Reactor::current().orphans(), 1u);
  });
}

}  // namespace
}  // namespace stavka::runtime
