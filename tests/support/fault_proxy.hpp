// tests/support/fault_proxy.hpp -- a TCP proxy that injects network faults
// between a driver and its broker, for the network-fault tests
// (tests/integration/netfault). It listens on an ephemeral loopback port and
// forwards every connection to the broker's host:port until told otherwise:
//
//   cut()        resets every connection (RST both ways); while cut, a new
//                connection is accepted and reset at once (a refused link)
//   blackhole()  half-open partition: nothing is forwarded either way, but
//                every socket stays open (no FIN, no RST); new connections
//                are accepted and their bytes held. Only a client that
//                notices the silence (heartbeat, timeout) gets out.
//   slow(l, bw)  forwards each byte `l` late, at most `bw` bytes/s each way
//   heal()       back to plain forwarding; bytes held by a black hole flow
//                on, as after a partition heals before TCP gave up
//
// One thread owns every socket (a poll() loop); the commands above only set
// the mode and wake it, so they may be called from any thread and return
// when the mode is in force (cut() after the resets were sent).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace qplug::testing {

class FaultProxy {
 public:
  // Starts forwarding 127.0.0.1:port() to upstream_host:upstream_port.
  // Throws std::runtime_error when it cannot listen.
  FaultProxy(std::string upstream_host, int upstream_port);
  ~FaultProxy();  // closes every connection and joins the thread
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const;

  void cut();
  void blackhole();
  void slow(std::chrono::milliseconds latency, size_t bytes_per_second);
  void heal();

  // Connections accepted so far (a sequence number for the next two calls).
  uint64_t accepted() const;
  // Connections accepted before `mark` that are still open: while black-holed,
  // a connection closes only when its client gives up on it, so 0 means
  // the client noticed every one.
  size_t open_accepted_before(uint64_t mark) const;
  // Connections whose client closed them (FIN or RST), over the proxy's life.
  uint64_t client_closes() const;

  // `url` with its host:port replaced by the proxy's (scheme, credentials
  // and path kept): "redis://127.0.0.1:6390/0" -> "redis://127.0.0.1:41234/0".
  std::string rewrite_url(const std::string& url) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qplug::testing
