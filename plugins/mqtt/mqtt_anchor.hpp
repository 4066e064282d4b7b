// mqtt_anchor.hpp -- keeping a queue's messages while its group has no member.
//
// MQTT drops a message that matches no subscription, but a queue must keep
// what is published before its first consumer subscribes and while all its
// consumers are gone. So every (group, queue) pair may have one "anchor": a
// durable session (client ID anchor_client_id()) that belongs to no process,
// subscribed to the group's shared subscription while it is offline, so the
// broker queues the group's messages for it.
//
//  - declare() creates the default group's anchor when the queue's state
//    (a retained message on queue_state_topic()) says nothing exists yet.
//  - subscribe() takes the anchor over once its own session is in the group:
//    unsubscribes it, drains it (mqtt_drain.hpp), republishes what it held
//    and ends the anchor session; the state becomes "live".
//  - unsubscribe() re-creates the anchor before leaving the group, so the
//    group is never empty; the state becomes "anchor". The next subscribe
//    drains it again.
// Caveat (docs/drivers/mqtt.md): while other members are live, an anchor made
// by an unsubscribe takes its round-robin share of new messages and keeps
// them until the next subscribe of that group drains it.
#pragma once

#include <cstdint>
#include <memory>
#include <qplug/sdk/host_log.hpp>
#include <string>

#include "mqtt_connection.hpp"
#include "mqtt_drain.hpp"
#include "mqtt_publisher.hpp"
#include "mqtt_settings.hpp"

namespace qplug::mqtt {

inline constexpr const char* kStateAnchor = "anchor";
inline constexpr const char* kStateLive = "live";

// The queue's state ("" when never declared, kStateAnchor or kStateLive).
int32_t read_queue_state(const Settings& s, const sdk::HostLog& log, const std::string& group, const std::string& topic,
                         std::string* state, qplug_status* st);

// Makes sure the anchor session exists and is in the group; state -> "anchor".
int32_t ensure_anchor(const Settings& s, const sdk::HostLog& log, Publisher& publisher, const std::string& group,
                      const std::string& topic, qplug_status* st);

// A broker restart: mosquitto 2.0.11 restores an offline session's shared
// subscription from its persistence file but no longer delivers to it, so
// an anchor would silently stop keeping messages. The driver's publisher
// re-subscribes the anchors of its queues after each reconnect, before it
// sends anything: hold() connects and subscribes them, leaving at the
// SUBACK (no publishing, so it may run on the publisher's network thread);
// release() joins the connection and republishes what it was handed
// meanwhile (not on that thread).
class AnchorHold {
 public:
  int32_t hold(const Settings& s, const sdk::HostLog& log, const std::string& group, const std::string& topic,
               qplug_status* st);
  void release(Publisher& publisher, const sdk::HostLog& log);

 private:
  std::string topic_;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<Drain> pushed_;
};

// Moves what the anchor holds back into the group and ends it; state -> "live".
int32_t drain_anchor(const Settings& s, const sdk::HostLog& log, Publisher& publisher, const std::string& group,
                     const std::string& topic, qplug_status* st);

}  // namespace qplug::mqtt
