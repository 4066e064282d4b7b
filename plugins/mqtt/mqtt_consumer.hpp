// mqtt_consumer.hpp -- one subscription: a durable v5 session in the shared
// subscription $share/<group>/<topic>, on its own connection and network thread.
//
// Deliveries are handed to the host from libmosquitto's message callback on
// that thread; while `prefetch` deliveries are unsettled the callback waits,
// so the PUBACK of the waiting message has not left (the broker still owns
// it) and Receive Maximum (= prefetch) stops the broker from sending more.
// The PUBACK of a delivered message leaves when the callback returns, before
// the host processed it. With the spool (spool.enabled, the default) the
// callback first writes the message to the session's local spool
// (mqtt_spool.hpp), so from then on the spool owns it; settle() removes the
// entry, and a restarted process replays what is left, on a replay thread,
// before the callback delivers anything new. Without the spool a crash of the
// process loses up to `prefetch` messages per subscription (no
// ack-after-processing; docs/drivers/mqtt.md). settle(): ACK removes the
// spool entry, NACK_REQUEUE republishes with attempts + 1 and then removes
// it, REJECT removes it with a log line.
// unsubscribe() re-anchors the group, leaves it, drains the session and
// republishes what it held, unsettled and not yet replayed deliveries
// included (their spool entries are removed once republished).
//
// Delayed messages (a "qplug.due" time, mqtt_properties.hpp): one that
// arrives before its due time does not wait for a prefetch slot and is not
// handed to the host; the callback writes it to the spool with its due time,
// files it in `scheduled` (due-time order) and returns, so its PUBACK leaves
// and the spool owns it. The scheduler thread hands each one to the host once
// it is due AND a prefetch slot is free; settle() works as for any delivery.
// A restarted process schedules the spool's entries that are not due yet
// instead of replaying them; unsubscribe() republishes the scheduled ones
// with their due time, so the member that gets them keeps the schedule.
// Without the spool `scheduled` is memory only (a crash loses it, like the
// unsettled deliveries); the driver then does not claim QPLUG_CAP_DELAY, so
// such messages only come from other processes' publishes.
#pragma once

#include <qplug/driver.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/message.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mqtt_connection.hpp"
#include "mqtt_drain.hpp"
#include "mqtt_publisher.hpp"
#include "mqtt_settings.hpp"
#include "mqtt_spool.hpp"

namespace qplug::mqtt {

// The part of a subscription its deliveries share; outlives the subscription.
struct ConsumerCore {
  std::mutex mu;
  std::condition_variable cv;
  // The scheduler thread's own: woken only for what it waits on (an entry
  // scheduled, a prefetch slot freed while entries wait, stopping). On `cv`
  // every delivery and settle would wake it for nothing: two context
  // switches per message on the hot path (bench/mqtt_bench.cpp, end to end).
  std::condition_variable schedule_cv;
  bool stopping = false;
  int in_callback = 0;     // deliveries being handed to the host (callback or replay thread)
  bool replaying = false;  // the replay thread still has spool entries to deliver
  uint32_t prefetch = 1;
  std::set<qplug_delivery*> unsettled;
  struct Scheduled {
    sdk::OwnedMessage message;
    uint64_t spool_seq = 0;  // 0: not spooled (spool off)
  };
  std::multimap<int64_t, Scheduled> scheduled;  // by due time (epoch ms); equal times keep arrival order
  std::shared_ptr<Publisher> publisher;
  std::shared_ptr<Spool> spool;  // null: spool off (or the consumer stopped)
  std::string topic;
  sdk::HostLog log;
};

struct ConsumerConfig {
  std::string topic;
  std::string group;
  std::string client_id;
  uint32_t prefetch = 1;
  qplug_deliver_fn deliver = nullptr;
  void* host_ud = nullptr;
};

class Consumer {
 public:
  Consumer(const Settings& settings, const sdk::HostLog& log, std::shared_ptr<Publisher> publisher,
           ConsumerConfig config);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  int32_t start(qplug_status* st);
  // Quiesces, hands everything back to the queue; idempotent, any thread.
  void stop();
  // Waits (bounded) until this consumer's connection is back and subscribed
  // again after a reconnect; false when the deadline passed first.
  bool wait_resubscribed(std::chrono::steady_clock::time_point deadline);
  // Messages this consumer holds locally: scheduled (delayed, not due or
  // waiting for a slot), delivered and unsettled, and not yet replayed.
  size_t held();
  static int32_t settle(qplug_delivery* d, int32_t disposition, qplug_status* st);

 private:
  void on_message(const mosquitto_message& msg, const mosquitto_property* props);
  // Writes d's message to the spool, retrying while the disk refuses (the
  // PUBACK waits meanwhile); 0 when the consumer stops first.
  uint64_t spool_durably(const sdk::OwnedMessage& m, int64_t due_ms = 0);
  int32_t open_spool(qplug_status* st);
  void replay();
  // The callback's path for a message not due yet: spooled, scheduled.
  void schedule(sdk::OwnedMessage m, int64_t due_ms);
  // The scheduler thread: hands scheduled messages to the host when due.
  void run_schedule();
  void hand_to_host(qplug_delivery* d);

  const Settings& settings_;
  sdk::HostLog log_;
  ConsumerConfig config_;
  std::shared_ptr<ConsumerCore> core_;
  Drain drain_;
  std::unique_ptr<Connection> conn_;
  std::atomic<bool> started_{false};  // start() succeeded: stop() has a group membership to hand back
  std::vector<Spool::Entry> replay_;  // what the spool held at start, oldest first
  size_t replayed_ = 0;               // replay_[0, replayed_) were delivered (core_->mu)
  std::thread replayer_;
  std::thread scheduler_;
  std::once_flag stopped_;
};

}  // namespace qplug::mqtt

// One delivered, unsettled message (the ABI's handle, completed here).
struct qplug_delivery {
  std::shared_ptr<qplug::mqtt::ConsumerCore> core;
  qplug::sdk::OwnedMessage message;
  bool canceled = false;   // unsubscribe gave it back to the queue
  uint64_t spool_seq = 0;  // its spool entry (0: none)
};
