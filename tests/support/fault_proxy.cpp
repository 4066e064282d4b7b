// tests/support/fault_proxy.cpp -- see fault_proxy.hpp. One poll() thread
// owns the listener and every connection; a connection is a pair of
// non-blocking sockets and one byte queue per direction. Each chunk read is
// stamped with the time it may be written (now, or later on a slow link),
// so a slow link and a plain one are the same code.
#include "fault_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace qplug::testing {

namespace {

using Clock = std::chrono::steady_clock;

enum class Mode { kForward, kBlackhole, kCut };

constexpr size_t kMaxQueued = 256 * 1024;  // per direction, then stop reading (backpressure)

struct Chunk {
  Clock::time_point due;  // may be written from then on
  std::string bytes;
  size_t offset = 0;
};

// One direction of a connection: bytes read from one socket, waiting to be
// written to the other.
struct Direction {
  std::deque<Chunk> queue;
  size_t queued = 0;
  Clock::time_point link_free{};  // a slow link is busy sending until then
  bool eof = false;               // the sending side shut down its writes
  bool shut = false;              // ... and we passed that on (shutdown(SHUT_WR))
};

struct Conn {
  uint64_t seq = 0;
  int client = -1;
  int upstream = -1;  // -1 once the broker closed it during a black hole
  Direction to_upstream;
  Direction to_client;
  std::atomic<bool> done{false};  // read by open_accepted_before() on other threads
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// close() after SO_LINGER {on, 0}: the peer gets an RST, not a FIN.
void reset_close(int fd) {
  if (fd < 0) return;
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(fd);
}

int connect_upstream(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

struct FaultProxy::Impl {
  std::string upstream_host;
  int upstream_port = 0;
  int listener = -1;
  int port = 0;
  int wake[2] = {-1, -1};
  std::thread thread;

  // Guarded by mu: the mode the commands asked for, and the connection list
  // (changed only by the thread, under mu, so other threads may count it).
  mutable std::mutex mu;
  std::condition_variable applied_cv;
  Mode mode = Mode::kForward;
  std::chrono::microseconds latency{0};
  size_t bytes_per_second = 0;  // 0 = unlimited
  uint64_t requested = 0, applied = 0;
  bool stopping = false;
  std::vector<std::unique_ptr<Conn>> conns;
  uint64_t next_seq = 0;
  std::atomic<uint64_t> client_closes{0};
  // The thread's copy of the slow-link settings (taken under mu each turn).
  std::chrono::microseconds cur_latency{0};
  size_t cur_bytes_per_second = 0;

  void command(Mode m, std::chrono::microseconds lat, size_t bw) {
    std::unique_lock lock(mu);
    mode = m;
    latency = lat;
    bytes_per_second = bw;
    const uint64_t mine = ++requested;
    const char c = 'c';
    (void)!::write(wake[1], &c, 1);
    applied_cv.wait(lock, [&] { return applied >= mine; });
  }

  void run();
  void accept_one(Mode m);
  void forward(Conn& c, Direction& d, int from, int to, Mode m, Clock::time_point now);
  void close_conn(Conn& c, bool reset) {
    if (reset) {
      reset_close(c.client);
      reset_close(c.upstream);
    } else {
      if (c.client >= 0) ::close(c.client);
      if (c.upstream >= 0) ::close(c.upstream);
    }
    c.client = c.upstream = -1;
    c.done = true;
  }
};

void FaultProxy::Impl::accept_one(Mode m) {
  int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  if (m == Mode::kCut) {
    reset_close(fd);
    return;
  }
  int up = connect_upstream(upstream_host, upstream_port);
  if (up < 0) {  // broker down: the client sees what it would see directly
    reset_close(fd);
    return;
  }
  for (int s : {fd, up}) {
    set_nonblocking(s);
    set_nodelay(s);
  }
  auto c = std::make_unique<Conn>();
  c->client = fd;
  c->upstream = up;
  std::lock_guard lock(mu);
  c->seq = next_seq++;
  conns.push_back(std::move(c));
}

// Reads what `from` has (when forwarding and there is room), writes to `to`
// what is due, and passes a FIN on once the queue is empty.
void FaultProxy::Impl::forward(Conn& c, Direction& d, int from, int to, Mode m, Clock::time_point now) {
  if (m != Mode::kForward || c.done) return;
  if (!d.eof && d.queued < kMaxQueued) {
    const size_t bw = cur_bytes_per_second;
    const size_t chunk = bw == 0 ? 16384 : std::clamp<size_t>(bw / 50, 256, 16384);
    std::string buf(chunk, '\0');
    ssize_t n = ::read(from, buf.data(), buf.size());
    if (n > 0) {
      buf.resize(static_cast<size_t>(n));
      const auto send_time = bw == 0 ? Clock::duration::zero()
                                     : std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(
                                           static_cast<int64_t>(n) * 1000000 / static_cast<int64_t>(bw)));
      d.link_free = std::max(now, d.link_free) + send_time;
      d.queued += buf.size();
      d.queue.push_back({d.link_free + cur_latency, std::move(buf), 0});
    } else if (n == 0) {
      d.eof = true;
      if (from == c.client) client_closes++;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      if (from == c.client) client_closes++;
      close_conn(c, true);
      return;
    }
  }
  while (!d.queue.empty() && d.queue.front().due <= now) {
    Chunk& ch = d.queue.front();
    ssize_t n = ::send(to, ch.bytes.data() + ch.offset, ch.bytes.size() - ch.offset, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      close_conn(c, true);
      return;
    }
    ch.offset += static_cast<size_t>(n);
    d.queued -= static_cast<size_t>(n);
    if (ch.offset < ch.bytes.size()) return;
    d.queue.pop_front();
  }
  if (d.eof && d.queue.empty() && !d.shut) {
    ::shutdown(to, SHUT_WR);
    d.shut = true;
  }
}

void FaultProxy::Impl::run() {
  Mode last_mode = Mode::kForward;
  for (;;) {
    Mode m;
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      m = mode;
      cur_latency = latency;
      cur_bytes_per_second = bytes_per_second;
      if (applied != requested) {
        if (m == Mode::kCut) {
          for (auto& c : conns) close_conn(*c, true);
        }
        // Healed: a connection whose broker side went away during the
        // black hole is reset, as the broker's RST would on the wire.
        if (m == Mode::kForward && last_mode == Mode::kBlackhole) {
          for (auto& c : conns) {
            if (c->upstream < 0) close_conn(*c, true);
          }
        }
        last_mode = m;
        applied = requested;
        applied_cv.notify_all();
      }
      std::erase_if(conns, [](const std::unique_ptr<Conn>& c) { return c->done.load(); });
    }

    // What to wait for: commands, new connections, and per connection the
    // reads there is room for, the writes that are due, and (black hole)
    // only a close by either side.
    const auto now = Clock::now();
    std::vector<pollfd> fds{{wake[0], POLLIN, 0}, {listener, POLLIN, 0}};
    Clock::time_point next_due = Clock::time_point::max();
    for (auto& c : conns) {
      short ce = 0, ue = 0;
      if (m == Mode::kForward) {
        if (!c->to_upstream.eof && c->to_upstream.queued < kMaxQueued) ce |= POLLIN;
        if (!c->to_client.eof && c->to_client.queued < kMaxQueued) ue |= POLLIN;
        for (auto [d, ev] : {std::pair{&c->to_upstream, &ue}, std::pair{&c->to_client, &ce}}) {
          if (d->queue.empty()) continue;
          if (d->queue.front().due <= now) {
            *ev |= POLLOUT;
          } else {
            next_due = std::min(next_due, d->queue.front().due);
          }
        }
      } else {
        if (!c->to_upstream.eof) ce |= POLLRDHUP;
        if (!c->to_client.eof) ue |= POLLRDHUP;
      }
      fds.push_back({c->client, ce, 0});
      fds.push_back({c->upstream, ue, 0});  // -1 is skipped by poll()
    }
    int timeout = -1;
    if (next_due != Clock::time_point::max()) {
      timeout = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(next_due - now).count());
      timeout = std::max(timeout, 0);
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
    const size_t polled = conns.size();  // accept_one() may add one

    if (fds[0].revents & POLLIN) {
      char buf[64];
      (void)!::read(wake[0], buf, sizeof buf);
    }
    if (fds[1].revents & POLLIN) accept_one(m);
    const auto after = Clock::now();
    for (size_t i = 0; i < polled; ++i) {
      Conn& c = *conns[i];
      const short cr = fds[2 + 2 * i].revents, ur = fds[3 + 2 * i].revents;
      if (c.done) continue;
      if (m == Mode::kForward && ((cr | ur) & POLLERR)) {  // a reset by either side ends both
        if (cr & POLLERR) client_closes++;
        close_conn(c, true);
        continue;
      }
      if (m != Mode::kForward) {
        // Black hole: the client giving up is what the tests wait for; the
        // broker giving up stays hidden from the client, as on a real
        // partition.
        if (cr & (POLLRDHUP | POLLHUP | POLLERR)) {
          client_closes++;
          close_conn(c, true);
        } else if (ur & (POLLRDHUP | POLLHUP | POLLERR)) {
          reset_close(c.upstream);
          c.upstream = -1;
          c.to_client.eof = true;
        }
        continue;
      }
      if (cr | ur) {
        forward(c, c.to_upstream, c.client, c.upstream, m, after);
        forward(c, c.to_client, c.upstream, c.client, m, after);
      } else {
        // Nothing to read or write yet, but a delayed chunk may be due now.
        if (!c.to_upstream.queue.empty() && c.to_upstream.queue.front().due <= after)
          forward(c, c.to_upstream, c.client, c.upstream, m, after);
        if (!c.to_client.queue.empty() && c.to_client.queue.front().due <= after)
          forward(c, c.to_client, c.upstream, c.client, m, after);
      }
      if (c.to_upstream.shut && c.to_client.shut) close_conn(c, false);
    }
  }
}

FaultProxy::FaultProxy(std::string upstream_host, int upstream_port) : impl_(std::make_unique<Impl>()) {
  impl_->upstream_host = std::move(upstream_host);
  impl_->upstream_port = upstream_port;
  impl_->listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (impl_->listener < 0 || ::bind(impl_->listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(impl_->listener, 64) != 0 ||
      ::getsockname(impl_->listener, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      ::pipe2(impl_->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    const std::string why = std::strerror(errno);
    if (impl_->listener >= 0) ::close(impl_->listener);
    throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1: " + why);
  }
  impl_->port = ntohs(a.sin_port);
  impl_->thread = std::thread([this] { impl_->run(); });
}

FaultProxy::~FaultProxy() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  const char c = 's';
  (void)!::write(impl_->wake[1], &c, 1);
  impl_->thread.join();
  for (auto& conn : impl_->conns) impl_->close_conn(*conn, true);
  ::close(impl_->listener);
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

int FaultProxy::port() const { return impl_->port; }

void FaultProxy::cut() { impl_->command(Mode::kCut, {}, 0); }
void FaultProxy::blackhole() { impl_->command(Mode::kBlackhole, {}, 0); }
void FaultProxy::slow(std::chrono::milliseconds latency, size_t bytes_per_second) {
  impl_->command(Mode::kForward, latency, bytes_per_second);
}
void FaultProxy::heal() { impl_->command(Mode::kForward, {}, 0); }

uint64_t FaultProxy::accepted() const {
  std::lock_guard lock(impl_->mu);
  return impl_->next_seq;
}

size_t FaultProxy::open_accepted_before(uint64_t mark) const {
  std::lock_guard lock(impl_->mu);
  return static_cast<size_t>(std::count_if(impl_->conns.begin(), impl_->conns.end(),
                                           [&](const auto& c) { return !c->done && c->seq < mark; }));
}

uint64_t FaultProxy::client_closes() const { return impl_->client_closes.load(); }

std::string FaultProxy::rewrite_url(const std::string& url) const {
  const size_t scheme_end = url.find("://");
  const size_t start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const size_t end = std::min(url.find_first_of("/?", start), url.size());
  const size_t at = url.rfind('@', end);
  const size_t host = at == std::string::npos || at < start ? start : at + 1;
  return url.substr(0, host) + "127.0.0.1:" + std::to_string(impl_->port) + url.substr(end);
}

}  // namespace qplug::testing
