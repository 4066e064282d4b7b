// rstream_subscription.hpp -- one subscription: a reader thread that owns its
// own connection and feeds deliver_cb from a consumer group.
//
// Reading order on every (re)connect: create the group if missing (from ID 0,
// MKSTREAM), re-read this consumer's own pending entries (ID 0: replies lost
// with a dropped connection), sweep the group's idle pending entries of dead
// consumers (XAUTOCLAIM after claim_idle), then new entries (">", BLOCK).
// settle() runs on host threads. ACK/REJECT become XACKs: while the reader
// is between commands they are pipelined in front of its next command on its
// own connection (one multi-ID XACK, no extra round trip); while it sits in a
// blocking XREADGROUP they go to the writer, merged per writer round
// (AckBatch). NACK hands the entry back to the reader, which XCLAIMs it to
// itself (the broker's delivery counter gives attempts + 1) and delivers it
// again. When few prefetch slots are free the reader waits briefly for more
// settlements, so it reads in batches rather than once per settled message.
// Before reading, the reader moves due delayed messages into the stream
// (rstream_delay.hpp), no more often than their next due time or one poll.
#pragma once

#include <qplug/driver.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <qplug/sdk/backoff.hpp>
#include <qplug/sdk/host_log.hpp>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "rstream_acks.hpp"
#include "rstream_connection.hpp"
#include "rstream_settings.hpp"
#include "rstream_writer.hpp"

namespace qplug::rstream {

class Subscription;

// The reply an entry list came in, shared by the deliveries made from it:
// freed when the last of them is settled (an arena: a few free() calls, see
// rstream_reply_arena.hpp).
using SharedReply = std::shared_ptr<const redisReply>;

// What a qplug_delivery* points to. `view` borrows from `reply` (fields),
// `headers` and `entry_id`; all live until the delivery is settled.
struct Delivery {
  std::shared_ptr<Subscription> sub;
  SharedReply reply;
  std::string entry_id;
  std::vector<qplug_header> headers;
  qplug_message view{};
};

struct SubscriptionParams {
  std::string key;           // stream key
  std::string delayed_set;   // delayed messages by due time (rstream_delay.hpp)
  std::string delayed_msgs;  // their parked fields
  int64_t maxlen = 0;        // the queue's MAXLEN ~ for moved messages; 0 = none
  std::string group;         // consumer group
  std::string consumer;      // consumer name inside the group
  uint32_t prefetch = 32;
  ConsumerSettings options;
  qplug_deliver_fn deliver = nullptr;
  void* host_ud = nullptr;
};

class Subscription : public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(std::shared_ptr<Writer> writer, const DriverSettings& settings, const qplug_host_v1* host,
               SubscriptionParams params);
  ~Subscription();

  // Connects once (so a bad group or auth fails subscribe()), then starts the thread.
  bool start(qplug_status* status);
  int32_t settle(Delivery* delivery, int32_t disposition, qplug_status* status);
  int32_t unsubscribe(qplug_status* status);

 private:
  void run();
  bool connect(qplug_status* status);
  bool ensure_group(qplug_status* status);
  bool step();  // one read cycle; false after an I/O error
  // Sends argv on the reader's connection, preceded (same round trip) by one
  // XACK of every ack waiting in acks_. `blocking`: argv is a blocking read,
  // so acks settled until it returns go to the writer instead.
  Reply command(const std::vector<std::string_view>& argv, bool blocking, qplug_status* status);
  // Waits for settlements before reading when few prefetch slots are free.
  // True if it waited (the caller re-evaluates), false: read now.
  bool wait_for_room(uint32_t free);
  bool redeliver_nacked();
  bool read_history(uint32_t room);
  bool claim_idle(uint32_t room);
  bool read_new(uint32_t room);
  bool move_due();  // delayed messages that are due -> the stream (one script)
  // Delivers the entries of an XREADGROUP/XCLAIM entry list; attempts come
  // from `attempts` (fresh/nack) or from XPENDING when `ask_counts`.
  // `entries` lies inside `reply`, which the deliveries keep alive.
  bool deliver_entries(const SharedReply& reply, const redisReply* entries, bool ask_counts,
                       const std::unordered_map<std::string, uint32_t>* known);
  bool pending_counts(const std::string& first, const std::string& last, size_t n,
                      std::unordered_map<std::string, uint32_t>* out);
  uint32_t room();
  void sleep_for(int64_t ms);
  bool submit_acks(std::vector<std::string> ids);  // through the writer; false if not queued
  void wake_reader();

  std::shared_ptr<Writer> writer_;
  DriverSettings settings_;
  sdk::HostLog log_;  // the host's log service
  SubscriptionParams p_;

  Connection conn_;        // reader thread only, but for unsubscribe()'s conn_.interrupt()
  int64_t client_id_ = 0;  // CLIENT ID of conn_, for CLIENT UNBLOCK
  std::atomic<int64_t> blocked_client_{0};
  bool window_used_ = false;  // waited for settlements once since the last read
  bool history_ = true;       // re-reading our own pending entries
  std::string history_cursor_ = "0";
  std::string claim_cursor_ = "0-0";
  Clock::time_point next_claim_{};
  Clock::time_point next_move_{};  // when move_due() runs next
  sdk::Backoff backoff_;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool cancelled_ = false;
  std::unordered_map<std::string, uint32_t> held_;        // unsettled entry -> attempts so far
  std::vector<std::pair<std::string, uint32_t>> nacked_;  // to redeliver
  std::vector<std::string> acks_;                         // settled, XACKed in front of the reader's next command
  bool reading_ = false;                                  // reader in a blocking XREADGROUP: acks go to writer_acks_
  bool reader_waiting_ = false;                           // in wait_for_room(): settle() wakes it once
  size_t wake_at_held_ = 0;                               //   held_.size() <= wake_at_held_

  std::shared_ptr<AckBatch> writer_acks_;
};

}  // namespace qplug::rstream
