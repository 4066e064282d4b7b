// tests/support/fault_proxy_test.cpp -- the fault proxy on its own, over a
// loopback echo server (no broker): it forwards, cut() resets and refuses,
// blackhole() holds bytes without closing anything and heal() lets them
// through, slow() delays without losing a byte, rewrite_url() keeps the rest
// of a URL.
#include "fault_proxy.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace qplug::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Echoes every byte back on each accepted connection, one thread each.
class EchoServer {
 public:
  EchoServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "echo server cannot listen";
    }
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;  // shutdown() of the listener
        workers_.emplace_back([c] {
          char buf[4096];
          ssize_t n;
          while ((n = ::read(c, buf, sizeof buf)) > 0) {
            if (::send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
          }
          ::close(c);
        });
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    for (auto& w : workers_) w.join();  // their clients are closed by then
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// Reads until `want` bytes arrived, the peer closed/reset, or the deadline
// passed; returns what came.
std::string read_for(int fd, size_t want, std::chrono::milliseconds within) {
  std::string got;
  const auto deadline = Clock::now() + within;
  while (got.size() < want) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[8192];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// True when the peer closed or reset `fd` (read returns 0 or an error).
bool peer_closed(int fd, std::chrono::milliseconds within) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(within.count())) <= 0) return false;
  char c;
  return ::read(fd, &c, 1) <= 0;
}

void send_all(int fd, const std::string& s) {
  ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

TEST(FaultProxy, ForwardsBothWays) {
  EchoServer echo;
  FaultProxy proxy("127.0.0.1", echo.port());
  int fd = connect_to(proxy.port());
  send_all(fd, "hello");
  EXPECT_EQ(read_for(fd, 5, 10s), "hello");
  EXPECT_EQ(proxy.accepted(), 1u);
  ::close(fd);
}

TEST(FaultProxy, CutResetsEveryConnectionAndRefusesNewOnesUntilHealed) {
  EchoServer echo;
  FaultProxy proxy("127.0.0.1", echo.port());
  int a = connect_to(proxy.port());
  send_all(a, "x");
  ASSERT_EQ(read_for(a, 1, 10s), "x");
  proxy.cut();
  EXPECT_TRUE(peer_closed(a, 10s)) << "an open connection is reset by cut()";
  int b = connect_to(proxy.port());  // the listener still accepts ...
  EXPECT_TRUE(peer_closed(b, 10s)) << "... and resets at once while cut";
  proxy.heal();
  int c = connect_to(proxy.port());
  send_all(c, "back");
  EXPECT_EQ(read_for(c, 4, 10s), "back");
  for (int fd : {a, b, c}) ::close(fd);
}

TEST(FaultProxy, BlackholeHoldsBytesWithoutClosingAndHealLetsThemThrough) {
  EchoServer echo;
  FaultProxy proxy("127.0.0.1", echo.port());
  int a = connect_to(proxy.port());
  send_all(a, "1");
  ASSERT_EQ(read_for(a, 1, 10s), "1");
  const uint64_t mark = proxy.accepted();
  proxy.blackhole();
  send_all(a, "held");
  // Nothing comes back, and nothing closes: no FIN, no RST. (A wait that
  // can only fail if the proxy forwards or closes.)
  pollfd p{a, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 300), 0) << "a black hole neither forwards nor closes";
  int late = connect_to(proxy.port());  // accepted, never answered
  send_all(late, "late");
  EXPECT_EQ(proxy.open_accepted_before(mark), 1u);
  proxy.heal();
  EXPECT_EQ(read_for(a, 4, 10s), "held");
  EXPECT_EQ(read_for(late, 4, 10s), "late");

  // A client that gives up during a black hole is seen doing so.
  proxy.blackhole();
  const uint64_t closes = proxy.client_closes();
  ::close(a);
  const auto deadline = Clock::now() + 10s;
  while (proxy.open_accepted_before(mark) != 0 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(proxy.open_accepted_before(mark), 0u);
  EXPECT_EQ(proxy.client_closes(), closes + 1);
  proxy.heal();
  ::close(late);
}

TEST(FaultProxy, SlowLinkDelaysButDeliversEveryByte) {
  EchoServer echo;
  FaultProxy proxy("127.0.0.1", echo.port());
  proxy.slow(100ms, 256 * 1024);
  int fd = connect_to(proxy.port());
  std::string payload(64 * 1024, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  const auto start = Clock::now();
  std::thread writer([&] { send_all(fd, payload); });
  const std::string got = read_for(fd, payload.size(), 60s);
  writer.join();
  EXPECT_EQ(got, payload);
  // Correctness of the delay, not speed: a round trip crosses the link twice.
  EXPECT_GE(Clock::now() - start, 200ms);
  ::close(fd);
}

TEST(FaultProxy, RewriteUrlReplacesOnlyHostAndPort) {
  EchoServer echo;
  FaultProxy proxy("127.0.0.1", echo.port());
  const std::string p = std::to_string(proxy.port());
  EXPECT_EQ(proxy.rewrite_url("redis://127.0.0.1:6390/0"), "redis://127.0.0.1:" + p + "/0");
  EXPECT_EQ(proxy.rewrite_url("amqp://guest:guest@127.0.0.1:5690/"), "amqp://guest:guest@127.0.0.1:" + p + "/");
  EXPECT_EQ(proxy.rewrite_url("mqtt://u:p@localhost:1890"), "mqtt://u:p@127.0.0.1:" + p);
}

}  // namespace
}  // namespace qplug::testing
