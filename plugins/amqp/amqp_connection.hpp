// amqp_connection.hpp -- one librabbitmq connection: connect + login, channel
// RPCs (open, confirm.select, queue.declare, qos, consume, cancel) with their
// errors mapped, and teardown. NOT thread-safe: it is used by exactly one
// thread at a time (open() in the caller of qplug open(), then the I/O thread).
#pragma once

#include <amqp.h>
#include <qplug/driver.h>

#include <cstdint>
#include <string>

#include "amqp_config.hpp"

namespace qplug::amqp {

// The frame_max qplug asks for at login; the broker may lower it.
inline constexpr int kRequestedFrameMax = 131072;

class Connection {
 public:
  Connection() = default;
  ~Connection() { close(1000); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects, logs in (connection_name, heartbeat) and opens `channels`.
  int32_t open(const DriverConfig& cfg, qplug_status* st);
  // Graceful close bounded by timeout_ms, then frees everything. Idempotent.
  void close(uint32_t timeout_ms);
  bool is_open() const { return conn_ != nullptr; }
  // The frame size the broker agreed to at login (0 when not open).
  int frame_max() const { return conn_ == nullptr ? 0 : amqp_get_frame_max(conn_); }
  amqp_connection_state_t get() const { return conn_; }
  int fd() const { return conn_ == nullptr ? -1 : amqp_get_sockfd(conn_); }

  int32_t open_channel(uint16_t ch, qplug_status* st);
  int32_t close_channel(uint16_t ch, qplug_status* st);
  int32_t confirm_select(uint16_t ch, qplug_status* st);
  // Declares `name` (and its dead-letter queue, when configured). passive=true
  // only checks existence and reads the counts.
  int32_t declare(uint16_t ch, const std::string& name, const QueueOptions& q, bool passive, int64_t* messages,
                  int64_t* consumers, qplug_status* st);
  // A fanout exchange (idempotent when it exists with the same type), and a
  // binding of `queue` to it (idempotent too).
  int32_t declare_fanout(uint16_t ch, const std::string& exchange, bool durable, qplug_status* st);
  int32_t bind(uint16_t ch, const std::string& queue, const std::string& exchange, qplug_status* st);
  int32_t consume(uint16_t ch, const std::string& queue, uint16_t prefetch, const std::string& tag, bool exclusive,
                  std::string* actual_tag, qplug_status* st);
  int32_t cancel(uint16_t ch, const std::string& tag, qplug_status* st);

  // Holds back partial TCP segments (TCP_CORK) while on: librabbitmq writes
  // every frame with its own send(), so a pass that publishes many messages
  // would otherwise put one small segment per message on the wire and make
  // the broker wake up and parse once per message. Turning it off pushes
  // everything held at once. No-op when already in that state.
  void cork(bool on);

  // Set when the last RPC failed at connection level: the caller reconnects.
  bool broken() const { return broken_; }
  void mark_broken() { broken_ = true; }

 private:
  // Checks the reply of the last RPC on `ch`. A channel-level error answers
  // channel.close-ok and reopens the channel so it stays usable.
  int32_t check(uint16_t ch, const std::string& what, qplug_status* st);

  amqp_connection_state_t conn_ = nullptr;
  bool broken_ = false;
  bool corked_ = false;
};

}  // namespace qplug::amqp
