// mqtt_publisher.hpp -- the driver's one publishing connection.
//
// Every publish() of every thread goes through it: the messages are handed to
// libmosquitto at once (it keeps up to send_maximum in flight and queues the
// rest, also while disconnected; at most kMaxHeld unconfirmed messages per
// connection, see below), and a batch completes when the PUBACK (QoS
// 1) or PUBCOMP (QoS 2) of each of its messages came back. A synchronous
// publish is an asynchronous one plus an sdk::Waiter, so concurrent callers
// share the pipeline. A batch not confirmed within its timeout completes with
// a retryable TIMEOUT (UNAVAILABLE while disconnected); close() completes the
// rest with UNAVAILABLE. Each completion runs exactly once.
#pragma once

#include <qplug/driver.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <qplug/sdk/host_log.hpp>
#include <string>
#include <thread>
#include <vector>

#include "mqtt_connection.hpp"
#include "mqtt_early_acks.hpp"
#include "mqtt_settings.hpp"

namespace qplug::mqtt {

class Publisher {
 public:
  Publisher(const Settings& settings, const sdk::HostLog& log);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // `reconnected` runs on the network thread after each reconnect, before
  // anything queued (or published meanwhile) is sent again. Set before open().
  void on_reconnect(std::function<void()> reconnected) { reconnected_ = std::move(reconnected); }
  int32_t open(qplug_status* st);

  // Publishes msgs[0..n) to `topic`, each with `prior_deliveries[i]` (NULL:
  // all 0). With done: returns OK and done() runs once later, or returns an
  // error and done() never runs. Without done: blocks until confirmed.
  // `due_ms[i]` > 0 (NULL: none) is message i's due time, epoch ms
  // (mqtt_properties.hpp).
  int32_t publish(const std::string& topic, const qplug_message* const* msgs, size_t n,
                  const uint32_t* prior_deliveries, int64_t timeout_ms, qplug_publish_done_fn done, void* done_ud,
                  size_t* accepted, qplug_status* st, const int64_t* due_ms = nullptr);
  // Publishes a retained QoS 1 message and waits for its PUBACK.
  int32_t publish_retained(const std::string& topic, const std::string& payload, qplug_status* st);

  // Completes every unconfirmed batch with UNAVAILABLE and disconnects.
  void close();
  bool closed();
  const Settings& settings() const { return settings_; }

 private:
  struct Batch {
    qplug_publish_done_fn done;
    void* done_ud;
    std::vector<bool> confirmed;
    std::vector<int> mids;
    size_t confirmed_count = 0;
    std::chrono::steady_clock::time_point deadline;
    bool finished = false;
    // A PUBACK "no matching subscribers" means the broker dropped the
    // message: a failure for a queue message, fine for the retained state.
    bool needs_subscriber = true;
    std::string topic;  // for that error
  };
  struct Pending {
    std::shared_ptr<Batch> batch;
    size_t index;
  };
  using Completions = std::vector<std::pair<std::shared_ptr<Batch>, qplug_status>>;
  // Hands message `index` of b to libmosquitto without holding mu_, then
  // records its mid, applying a PUBACK that came first (mqtt_early_acks.hpp).
  // The first message that goes out registers b with the expirer.
  // *finished: b completed meanwhile (here or on another thread), read under mu_.
  int32_t send(const std::shared_ptr<Batch>& b, size_t index, const std::string& topic, const void* body, size_t len,
               int qos, bool retain, const mosquitto_property* props, Completions* out, bool* finished,
               qplug_status* st);
  void on_ack(int mid, int reason);
  // One message less held by libmosquitto (mu_ held); wakes a send() waiting for room.
  void released_locked();
  // Applies the PUBACK `reason` of message p.index of p.batch (mu_ held).
  void acked_locked(const Pending& p, int reason, Completions* out);
  // Removes the batch from the in-flight map; returns the completion to run
  // (outside the lock) with `accepted` = confirmed leading messages.
  void finish_locked(const std::shared_ptr<Batch>& b, const qplug_status& st, Completions* out);
  static void run(Completions& completions);
  void expire_loop();
  // After a batch with this deadline was added (mu_ held): wakes the expirer
  // only when it would otherwise sleep past the deadline.
  void deadline_added_locked(std::chrono::steady_clock::time_point deadline);

  Settings settings_;  // a copy: a delivery settled after close() may still reach this publisher
  sdk::HostLog log_;
  std::unique_ptr<Connection> conn_;
  std::function<void()> reconnected_;
  std::mutex mu_;
  // Two waiters, woken only when they have something to do (a wake per
  // publish or per PUBACK made the expirer rescan every batch each time:
  // 9% of the pipelined bench's cycles plus the context switches).
  std::condition_variable expire_cv_;  // expire_loop: a batch due before expirer_wake_, or closing
  std::chrono::steady_clock::time_point expirer_wake_ = std::chrono::steady_clock::time_point::max();
  std::condition_variable drained_cv_;  // close(): the in-flight map became empty
  bool draining_ = false;               // close() is waiting on drained_cv_
  std::map<int, Pending> in_flight_;    // by mid
  EarlyAcks early_acks_;                // PUBACKs that came before send() recorded the mid
  // MQTT message IDs are 16 bits and libmosquitto hands them out in turn
  // without checking which are still unconfirmed: with 65535 messages held
  // (queued while the broker is slow or away, large batches at once) a mid
  // came round again and one message's PUBACK was taken for another's
  // (mqtt.MqttDriver.MoreThan65535MessagesOutstandingAreEachConfirmedOnce).
  // So at most kMaxHeld messages are held; send() waits for room, up to its
  // batch's deadline. PUBACKs of one connection come in order, so half the
  // ID space leaves every held mid unique.
  static constexpr size_t kMaxHeld = 32768;
  size_t held_ = 0;  // handed to libmosquitto, its PUBACK (or failure) not reported yet
  int room_waiters_ = 0;
  std::condition_variable room_cv_;        // send(): held_ fell below kMaxHeld, or closing
  std::condition_variable sends_done_cv_;  // close(): no send() under way any more
  std::vector<std::shared_ptr<Batch>> batches_;
  bool closing_ = false;
  std::thread expirer_;
};

}  // namespace qplug::mqtt
