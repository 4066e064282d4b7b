// mqtt_drain.hpp -- emptying a durable session into its queue again.
//
// Two places hand messages back: a consumer that unsubscribes (what the
// broker still has queued for its session, plus what it holds locally) and
// the first consumer of a group taking over the group's anchor session
// (mqtt_anchor.hpp). Both leave the shared subscription first; what the
// broker queued for the session before that still arrives. A marker message
// published to the session's private marker topic AFTER the UNSUBACK arrives
// behind all of it (a session's queue is FIFO), so once the marker is back
// nothing more will come. The collected messages are then republished to the
// queue topic, where the group's remaining members get them; a delayed one
// keeps its due time, so the member that gets it keeps the schedule.
#pragma once

#include <mosquitto.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <qplug/sdk/message.hpp>
#include <string>
#include <vector>

#include "mqtt_connection.hpp"
#include "mqtt_publisher.hpp"

namespace qplug::mqtt {

class Drain {
 public:
  explicit Drain(std::string marker_topic);

  // For a connection's message hook: notes the marker, keeps anything else.
  void take(const mosquitto_message& msg, const mosquitto_property* props);
  // Keeps a message that was already decoded (and perhaps delivered);
  // due_ms > 0: its due time (epoch ms), republished with it.
  void keep(sdk::OwnedMessage m, uint32_t prior_deliveries, int64_t due_ms = 0);
  // Publishes the marker through `conn` and waits (connect_timeout) for it to
  // come back. The session must be subscribed to marker_topic().
  int32_t wait_for_marker(Connection& conn, int64_t timeout_ms, qplug_status* st);
  // Republishes everything kept, in order, and waits for the PUBACKs.
  int32_t republish(Publisher& publisher, const std::string& topic, int64_t timeout_ms, qplug_status* st);

  const std::string& marker_topic() const { return marker_topic_; }
  size_t size();

 private:
  std::string marker_topic_;
  std::string nonce_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool marker_seen_ = false;
  std::vector<sdk::OwnedMessage> kept_;
  std::vector<uint32_t> prior_;
  std::vector<int64_t> due_;
};

}  // namespace qplug::mqtt
