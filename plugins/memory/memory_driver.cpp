// memory_driver.cpp -- the in-process memory queue driver: bounded named
// queues inside one driver instance, competing consumers, ack/nack/reject,
// native delay and priority.
//
// One concept per file; this one holds the ABI ops and reads top to bottom:
// lifecycle (open/close), declare, publish, subscribe/deliver, settle,
// unsubscribe, queue_info, the option table, the const vtable, and last the
// single exported symbol, qplug_driver_entry(). Beside it (all header-only,
// compiled into this one translation unit so the hot paths inline):
//   memory_node.hpp        one message = one block: layout, validation, copy
//   memory_queue.hpp       queue/consumer/driver state and the lock-free
//                          hand-offs (admission, inbox, spare-block chains)
//   memory_list.hpp        the intrusive FIFO everything moves in
//   memory_ready_list.hpp  ready messages by priority (QPLUG_CAP_PRIORITY)
//   memory_delay_heap.hpp  delayed messages until due (QPLUG_CAP_DELAY)
// It includes only the C ABI header and the header-only SDK from abi/ --
// never core/ or loader/.
//
// Performance notes (the memory driver is what the benchmarks compare the
// framework overhead against, so it must not be the bottleneck):
//  - one block per message: a mem_node holds the list links, the
//    qplug_message view, the qplug_header array and every byte of the
//    message, so delivering needs no further copy; acked blocks are reused;
//  - the delivery handle IS the node, so settle needs no lookup;
//  - publishers take no lock: one CAS reserves room, one CAS pushes the
//    batch onto a lock-free inbox that a dispatcher drains whole;
//  - a dispatcher thread grabs a whole batch per lock acquisition and calls
//    the host outside every lock;
//  - unsettled deliveries have their own mutex, which publishers never
//    take: acked blocks go back to publishers in chains of 32 through a
//    second lock-free stack;
//  - hot locks spin briefly before sleeping (sdk/spin_lock.hpp): their
//    critical sections are far shorter than a futex sleep and wake;
//  - condition variables are only signalled when somebody waits, and a
//    dispatcher out of prefetch room is woken once half of it is free,
//    not by every settle;
//  - the field idle dispatchers spin on has a cache line of its own, and the
//    clock is read only when a publish has to wait.

#include <qplug/driver.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <qplug/sdk/config.hpp>
#include <qplug/sdk/entry.hpp>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/network_settings.hpp>
#include <qplug/sdk/publish_timeout.hpp>
#include <qplug/sdk/queue_info.hpp>
#include <qplug/sdk/schedule_headers.hpp>
#include <qplug/sdk/spin_lock.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/subscribe.hpp>
#include <qplug/sdk/validate.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "memory_delay_heap.hpp"
#include "memory_groups.hpp"
#include "memory_node.hpp"
#include "memory_queue.hpp"
#include "memory_ready_list.hpp"

namespace qplug::memory {
namespace {  // internal linkage: the compiler inlines single-caller functions

using qplug::sdk::ConfigReader;
using qplug::sdk::fail;
using qplug::sdk::guarded;
using qplug::sdk::lock_spinning;
using qplug::sdk::ScheduleHeaders;
using qplug::sdk::view;

constexpr int64_t mem_default_max_length = 1000;
constexpr int64_t mem_default_publish_timeout_ms = 5000;
constexpr uint32_t mem_default_prefetch = 100;
// Most messages one dispatcher takes per lock acquisition.
constexpr size_t mem_max_batch = 256;
// A dispatcher out of prefetch room sleeps until half of it is free again
// (one wakeup refills many slots), but waits at most this long for that:
// a host that holds its deliveries until it gets more must not stall.
constexpr std::chrono::milliseconds mem_room_patience{1};

/* ------------------------------------------------------------------------ */
/* Handles (the state structs are in memory_queue.hpp)                        */
/* ------------------------------------------------------------------------ */

mem_driver* mem_cast(qplug_driver* d) { return reinterpret_cast<mem_driver*>(d); }
mem_queue* mem_cast(qplug_queue* q) { return reinterpret_cast<mem_queue*>(q); }
mem_consumer* mem_cast(qplug_consumer* c) { return reinterpret_cast<mem_consumer*>(c); }
mem_node* mem_cast(qplug_delivery* d) { return reinterpret_cast<mem_node*>(d); }

/* ------------------------------------------------------------------------ */
/* Lifecycle: open / close                                                    */
/* ------------------------------------------------------------------------ */

/*
 * open(): validate the flattened YAML block and build an instance.
 * Every key is optional; an unknown key is INVALID naming the key, which
 * ConfigReader::finish() does for us. The memory driver starts no thread
 * here: dispatchers start per subscription.
 */
qplug_driver* mem_open(const qplug_host_v1* host, const qplug_kv* config, size_t config_count, qplug_status* st) {
  return guarded<qplug_driver*>(st, nullptr, [&]() -> qplug_driver* {
    if (config == nullptr && config_count != 0) {
      fail(st, QPLUG_INVALID, false, "memory driver: config is NULL with %zu items", config_count);
      return nullptr;
    }
    ConfigReader cfg(config, config_count);
    // Of the common network keys only publish_timeout applies; url, TLS, ...
    // are INVALID by name (old spelling publish_timeout_ms: an alias).
    qplug::sdk::NetworkSettings defaults;
    defaults.publish_timeout_ms = mem_default_publish_timeout_ms;
    int64_t timeout =
        qplug::sdk::read_network_settings(cfg, "memory", qplug::sdk::kNetPublishTimeout, defaults).publish_timeout_ms;
    int64_t max_length = cfg.integer("default_max_length", mem_default_max_length, 1, INT32_MAX);
    if (!cfg.finish(st, "memory driver")) return nullptr;
    cfg.log_warnings(host, "memory");
    auto d = std::make_unique<mem_driver>();
    d->host = host;
    d->log = qplug::sdk::HostLog(host, "memory");
    d->default_max_length = max_length;
    d->default_publish_timeout_ms = timeout;
    return reinterpret_cast<qplug_driver*>(d.release());
  });
}

void mem_stop_consumer(mem_consumer* c);

// Stops the consumers a lane (a queue or one of its groups) still has and
// frees its messages; a lane with unsettled deliveries is kept (released
// from `q`, leaked on purpose and logged).
void mem_close_lane(mem_driver* d, std::unique_ptr<mem_queue>& q) {
  std::vector<mem_consumer*> left;
  {
    std::lock_guard lock(q->mu);
    left = q->consumers;
  }
  for (mem_consumer* c : left) mem_stop_consumer(c);
  mem_list all = q->ready.take_all();
  mem_list_free(all);
  q->delayed.drain(mem_node_free);
  mem_chain_free(q->inbox.exchange(nullptr));
  mem_chain_free(q->spares);
  mem_chain_free(q->returned.exchange(nullptr));
  q->spares = nullptr;
  std::lock_guard flock(q->flight_mu);
  mem_list_free(q->settled);
  if (q->canceled_outstanding > 0 || q->in_flight > 0) {
    d->log.warn("close: queue '%s'%s%s%s still has %lld unsettled deliveries; keeping its memory alive",
                q->name.c_str(), q->group.empty() ? "" : ", group '", q->group.c_str(), q->group.empty() ? "" : "'",
                static_cast<long long>(q->canceled_outstanding + q->in_flight));
    (void)q.release();
  }
}

/*
 * close(): join every driver thread and free everything. The host has
 * already unsubscribed and freed its consumers; we still stop any it forgot,
 * so close never leaves a thread running inside a plugin. Deliveries the
 * host has not settled keep their queue alive (leaked on purpose, logged):
 * freeing it would turn a late settle() into a use-after-free.
 */
void mem_close(qplug_driver* driver, uint32_t /*timeout_ms: nothing here can hang*/) {
  qplug::sdk::guarded_void([&] {
    std::unique_ptr<mem_driver> d(mem_cast(driver));
    if (!d) return;
    for (auto& [name, q] : d->queues) mem_close_lane(d.get(), q);
    for (auto& lane : d->group_lanes) mem_close_lane(d.get(), lane);
  });
}

/* ------------------------------------------------------------------------ */
/* declare                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * declare(): the same name twice gives the same queue (and handle), so two
 * YAML entries naming one queue_name share its messages. Options are checked
 * every time; a second declare may not change max_length.
 */
qplug_queue* mem_declare(qplug_driver* driver, qplug_str name, const qplug_kv* options, size_t option_count,
                         qplug_status* st) {
  return guarded<qplug_queue*>(st, nullptr, [&]() -> qplug_queue* {
    mem_driver* d = mem_cast(driver);
    if (name.len == 0 || name.ptr == nullptr) {
      fail(st, QPLUG_INVALID, false, "memory: queue name is empty");
      return nullptr;
    }
    if (options == nullptr && option_count != 0) {
      fail(st, QPLUG_INVALID, false, "memory: queue options are NULL with %zu items", option_count);
      return nullptr;
    }
    std::string qname(view(name));
    ConfigReader cfg(options, option_count);
    bool explicit_max = cfg.has("max_length");
    int64_t max_length = cfg.integer("max_length", d->default_max_length, 1, INT32_MAX);
    qplug::sdk::apply_key_aliases(cfg, "memory");  // publish_timeout_ms -> publish_timeout
    int64_t timeout = cfg.duration_ms("publish_timeout", d->default_publish_timeout_ms);
    if (!cfg.finish(st, "memory queue '" + qname + "' options")) return nullptr;
    cfg.log_warnings(d->host, "memory");

    std::lock_guard lock(d->mu);
    auto it = d->queues.find(qname);
    if (it != d->queues.end()) {
      if (explicit_max && it->second->max_length != max_length) {
        fail(st, QPLUG_INVALID, false, "memory: queue '%s' already declared with max_length %lld, not %lld",
             qname.c_str(), static_cast<long long>(it->second->max_length), static_cast<long long>(max_length));
        return nullptr;
      }
      return reinterpret_cast<qplug_queue*>(it->second.get());
    }
    auto q = std::make_unique<mem_queue>();
    q->driver = d;
    q->name = qname;
    q->publish_where = "memory: publish to '" + qname + '\'';
    q->max_length = max_length;
    q->spare_cap = std::min<size_t>(static_cast<size_t>(max_length), mem_max_spares);
    q->publish_timeout_ms = timeout;
    mem_queue* raw = q.get();
    d->queues.emplace(qname, std::move(q));
    return reinterpret_cast<qplug_queue*>(raw);
  });
}

/* ------------------------------------------------------------------------ */
/* publish                                                                    */
/* ------------------------------------------------------------------------ */

// Fills nodes[0..n) with make(i, spare): copies of the batch for `lane`,
// built in acked blocks taken from the lane's spare pool where it has them.
// If a copy throws (bad_alloc), frees what was made and rethrows.
template <class Make>
void mem_make_nodes(mem_queue* lane, mem_node** nodes, size_t n, Make make) {
  // Take acked nodes to reuse (one lock per call), then copy outside every lock.
  size_t spares = mem_spares_take(lane, nodes, n);
  size_t made = 0;
  try {
    for (; made < n; ++made) nodes[made] = make(made, made < spares ? nodes[made] : nullptr);
  } catch (...) {
    for (size_t i = 0; i < std::max(made, spares); ++i) {
      if (i == made) continue;  // the spare handed to the failing call was freed by it
      mem_node_free(nodes[i]);
    }
    throw;
  }
}

// The publish of a queue with named groups: copies the queue's nodes
// (schedule headers applied) into every group lane of `lanes` (the queue
// first, then its groups, as mem_publish saw them), then admits the same
// prefix to all (memory_groups.hpp). Returns its length; the caller frees
// the queue's own nodes past it, this frees the copies (and, if it throws,
// the queue's nodes as well).
size_t mem_publish_to_groups(const std::vector<mem_queue*>& lanes, mem_node* const* nodes, const int64_t* due, size_t n,
                             int64_t timeout, mem_queue** full) {
  std::vector<std::vector<mem_node*>> copies(lanes.size());
  std::vector<mem_node* const*> per_lane{nodes};
  size_t ok = 0;
  auto free_rest = [&] {
    for (auto& lane_copies : copies)
      for (size_t i = ok; i < lane_copies.size(); ++i) mem_node_free(lane_copies[i]);
  };
  try {
    for (size_t l = 1; l < lanes.size(); ++l) {
      std::vector<mem_node*> made(n);
      mem_make_nodes(lanes[l], made.data(), n, [&](size_t i, mem_node* spare) {
        mem_node* copy = mem_node_make(lanes[l], nodes[i]->view, spare);  // `delay` already taken out
        copy->priority = nodes[i]->priority;
        return copy;
      });
      copies[l] = std::move(made);
      per_lane.push_back(copies[l].data());
    }
    ok = mem_enqueue_lanes(lanes.data(), per_lane.data(), lanes.size(), due, n, timeout, full);
  } catch (...) {  // bad_alloc: nothing was admitted; free every copy, the queue's nodes too
    free_rest();
    for (size_t i = 0; i < n; ++i) mem_node_free(nodes[i]);
    throw;
  }
  free_rest();
  return ok;
}

/*
 * publish(): copy every message (the spans are borrowed for this call only),
 * then append them in order. A full queue makes publish wait up to the
 * timeout (options->timeout_ms, else the queue's publish_timeout_ms) and then
 * fail with a retryable QPLUG_FULL naming the queue and its bound.
 *
 * With a done callback the memory driver completes INLINE: done() runs before
 * publish() returns (the ABI allows it). If nothing was enqueued we return the
 * error and never call done(); after a partial success we return OK and
 * report the shortfall through done(status, accepted).
 */
int32_t mem_publish(qplug_queue* queue, const qplug_message* const* msgs, size_t n,
                    const qplug_publish_options* options, qplug_publish_done_fn done, void* done_ud, size_t* accepted,
                    qplug_status* st) {
  if (accepted != nullptr) *accepted = 0;
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    mem_queue* q = mem_cast(queue);
    // The SDK's one rule set, so a message memory accepts is accepted by
    // every driver (and the other way round).
    if (int32_t rc = qplug::sdk::check_batch(msgs, n, q->publish_where, {}, st); rc != QPLUG_OK) return rc;
    // The fast path: no message has a key as long as `delay` or `priority`.
    bool scheduled = false;
    size_t delayed = 0;  // messages with a `delay` > 0
    for (size_t i = 0; i < n; ++i) {
      if (!qplug::sdk::may_have_schedule_headers(*msgs[i])) continue;
      scheduled = true;
      ScheduleHeaders sched;
      if (int32_t rc = qplug::sdk::read_schedule_headers(*msgs[i], i, "memory", &sched, st); rc != QPLUG_OK) return rc;
      if (sched.delay_ms > 0) ++delayed;
    }
    const int64_t timeout = qplug::sdk::publish_timeout_ms(options, q->publish_timeout_ms);
    // Named groups (memory_groups.hpp) get copies. One snapshot of the lanes
    // serves both the delay-heap reservation and the admission below: a group
    // created in between would otherwise be admitted to without reserved room,
    // and a failed push there would free nodes other lanes already hold.
    std::vector<mem_queue*> lanes;  // the queue, then its groups; empty (no allocation) for most queues
    for (mem_queue* g = q->next_group.load(std::memory_order_acquire); g != nullptr;
         g = g->next_group.load(std::memory_order_acquire)) {
      if (lanes.empty()) lanes.push_back(q);
      lanes.push_back(g);
    }

    // Copy outside the lock; a small batch needs no heap array.
    mem_node* local[16];
    std::vector<mem_node*> heap;
    mem_node** nodes = local;
    if (n > std::size(local)) {
      heap.resize(n);
      nodes = heap.data();
    }
    // Due times of delayed messages (0 = immediate); only when there are any.
    std::unique_ptr<int64_t[]> due;
    if (delayed != 0) {
      due = std::make_unique<int64_t[]>(n);  // zero: immediate
      auto reserve = [&](mem_queue* lane) {
        std::lock_guard lock(lane->mu);
        lane->delayed.reserve_more(delayed);  // so that admitting them cannot fail half way
      };
      if (lanes.empty()) reserve(q);
      for (mem_queue* lane : lanes) reserve(lane);
    }
    const int64_t now_ms = delayed != 0 ? mem_now_ms_ceil() : 0;
    mem_make_nodes(q, nodes, n, [&](size_t i, mem_node* spare) {
      mem_node* node = mem_node_make(q, *msgs[i], spare);
      if (!scheduled) return node;
      ScheduleHeaders sched;  // checked above: cannot fail now
      (void)qplug::sdk::read_schedule_headers(*msgs[i], i, "memory", &sched, nullptr);
      mem_node_schedule(node, sched);
      if (sched.delay_ms > 0) due[i] = now_ms + sched.delay_ms;
      return node;
    });

    mem_queue* full = q;  // the lane that refused the rest, for the FULL message
    size_t ok = lanes.empty() ? mem_enqueue(q, nodes, due.get(), n, timeout)
                              : mem_publish_to_groups(lanes, nodes, due.get(), n, timeout, &full);
    for (size_t i = ok; i < n; ++i) mem_node_free(nodes[i]);
    if (accepted != nullptr) *accepted = ok;
    if (ok == n && done == nullptr) return QPLUG_OK;  // the common case builds no status

    qplug_status result = qplug::sdk::make_status();
    if (ok < n)
      fail(&result, QPLUG_FULL, true, "memory: queue '%s'%s%s%s is full (max_length %lld); waited %lld ms",
           q->name.c_str(), full->group.empty() ? "" : ", group '", full->group.c_str(), full->group.empty() ? "" : "'",
           static_cast<long long>(q->max_length), static_cast<long long>(timeout));
    if (done != nullptr && ok > 0) {
      done(done_ud, &result, ok);
      return QPLUG_OK;
    }
    if (ok < n && st != nullptr) *st = result;
    return result.code;
  });
}

/* ------------------------------------------------------------------------ */
/* subscribe / deliver                                                        */
/* ------------------------------------------------------------------------ */

// Appends a grabbed batch to the consumer's in-flight list. flight_mu held.
void mem_flight_append(mem_consumer* c, mem_list& batch) {
  for (mem_node* n = batch.head; n != nullptr;) {
    mem_node* next = n->next;
    n->state = mem_state::grabbed;
    n->consumer = c;
    n->prev = c->flight_tail;
    n->next = nullptr;
    if (c->flight_tail != nullptr)
      c->flight_tail->next = n;
    else
      c->flight_head = n;
    c->flight_tail = n;
    n = next;
  }
  c->in_flight.store(c->in_flight.load(std::memory_order_relaxed) + static_cast<uint32_t>(batch.size),
                     std::memory_order_relaxed);
  c->queue->in_flight += static_cast<int64_t>(batch.size);
}

// Unlinks one node from its consumer's in-flight list. flight_mu held.
void mem_flight_remove(mem_consumer* c, mem_node* n) {
  if (n->prev != nullptr)
    n->prev->next = n->next;
  else
    c->flight_head = n->next;
  if (n->next != nullptr)
    n->next->prev = n->prev;
  else
    c->flight_tail = n->prev;
  n->next = n->prev = nullptr;
  c->in_flight.store(c->in_flight.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  --c->queue->in_flight;
}

// Waits until the subscription may take more deliveries; returns how many
// (0 when stopping). Only settle() lowers in_flight, so the answer is a floor.
size_t mem_wait_room(mem_consumer* c) {
  if (c->stopping.load(std::memory_order_relaxed)) return 0;
  uint32_t busy = c->in_flight.load(std::memory_order_relaxed);
  if (busy < c->prefetch) return std::min<size_t>(c->prefetch - busy, mem_max_batch);  // no lock needed
  mem_queue* q = c->queue;
  std::unique_lock lock(q->flight_mu);
  // First wait for half the prefetch to free up (settle() wakes us then);
  // past mem_room_patience, take any room, woken by the next settle.
  c->room_urgent = false;
  while (!c->stopping.load(std::memory_order_relaxed) && c->in_flight.load(std::memory_order_relaxed) >= c->prefetch) {
    c->waiting_room = true;
    if (c->room_urgent) {
      c->room_cv.wait(lock);
    } else if (c->room_cv.wait_for(lock, mem_room_patience) == std::cv_status::timeout) {
      c->room_urgent = true;
    }
  }
  c->waiting_room = false;
  if (c->stopping.load(std::memory_order_relaxed)) return 0;
  return std::min<size_t>(c->prefetch - c->in_flight.load(std::memory_order_relaxed), mem_max_batch);
}

// Waits for ready messages and takes up to `room` of them (empty when stopping).
mem_list mem_grab(mem_consumer* c, size_t room) {
  mem_queue* q = c->queue;
  auto stopping = [c] { return c->stopping.load(std::memory_order_relaxed); };
  // Idle: watch the inbox without any lock for a short while; sleeping and
  // being woken costs two syscalls and a context switch. (A requeue lands in
  // `ready`, not the inbox: the check under the lock below finds it.)
  if (q->inbox.load(std::memory_order_relaxed) == nullptr)
    mem_spin_until([&] { return q->inbox.load(std::memory_order_relaxed) != nullptr || stopping(); });
  auto lock = lock_spinning(q->mu);
  if (q->ready.size() < room) mem_inbox_drain(q);
  if (!q->delayed.empty()) mem_release_due(q);
  while (!stopping() && q->ready.empty()) {
    q->waiting_dispatchers.fetch_add(1);  // seq_cst: pairs with the publisher's inbox push
    if (q->inbox.load() == nullptr && !stopping()) {
      // With delayed messages waiting, sleep only until the first is due
      // (a publisher of an earlier one wakes us to shorten the wait).
      if (q->delayed.empty()) {
        q->not_empty.wait(lock);
      } else {
        q->not_empty.wait_until(
            lock, std::chrono::steady_clock::time_point(std::chrono::milliseconds(q->delayed.next_due_ms())));
      }
    }
    q->waiting_dispatchers.fetch_sub(1);
    mem_inbox_drain(q);
    if (!q->delayed.empty()) mem_release_due(q);
  }
  if (stopping()) return {};
  mem_list batch = q->ready.take_front(room);
  lock.unlock();
  q->backlog.fetch_sub(static_cast<int64_t>(batch.size));  // seq_cst: pairs with waiting_publishers
  mem_notify_waiters(q, q->waiting_publishers, q->not_full, true);
  return batch;
}

/*
 * The dispatcher: one thread per subscription. It alternates between
 * waiting for prefetch room, grabbing a batch, recording the batch as in
 * flight, and calling deliver_cb for each message outside every lock. The
 * host settles from any thread (often from inside deliver_cb itself).
 * When unsubscribe() sets `stopping`, the messages grabbed but not yet
 * delivered stay on the in-flight list as `grabbed`; unsubscribe() returns
 * them to the queue.
 */
void mem_dispatch(mem_consumer* c) {
  mem_queue* q = c->queue;
  for (;;) {
    size_t room = mem_wait_room(c);
    if (room == 0) return;
    mem_list batch = mem_grab(c, room);
    if (batch.size == 0) return;
    mem_node* first = batch.head;
    {
      auto lock = lock_spinning(q->flight_mu);
      mem_flight_append(c, batch);
    }
    // Only this thread walks the batch's next links until it delivered a
    // node; afterwards settle() may unlink that node, so read next first.
    // The walk stops at the batch end (`count`), not at a null link.
    size_t count = batch.size;
    mem_node* n = first;
    for (size_t i = 0; i < count; ++i) {
      if (c->stopping.load(std::memory_order_relaxed)) break;
      mem_node* next = n->next;
      n->state = mem_state::delivered;  // read by settle/unsubscribe only after this call
      ++n->view.attempts;
      c->deliver_cb(c->host_ud, reinterpret_cast<qplug_delivery*>(n), &n->view);
      n = next;
    }
  }
}

/*
 * subscribe(): check the options, register the consumer with its queue and
 * start its dispatcher. A named group consumes its own lane of the queue
 * (memory_groups.hpp), created here on its first subscribe. It takes no
 * driver_options of its own.
 */
qplug_consumer* mem_subscribe(qplug_queue* queue, const qplug_subscribe_options* options, qplug_deliver_fn deliver_cb,
                              void* host_ud, qplug_status* st) {
  return guarded<qplug_consumer*>(st, nullptr, [&]() -> qplug_consumer* {
    mem_queue* q = mem_cast(queue);
    qplug::sdk::SubscribeRequest req;
    if (!qplug::sdk::read_subscribe_request("memory", q->name, options, deliver_cb, &req, st)) return nullptr;
    const uint32_t prefetch = req.prefetch != 0 ? req.prefetch : mem_default_prefetch;
    ConfigReader cfg(req.options, req.option_count);
    if (!cfg.finish(st, "memory consumer of '" + q->name + "' options")) return nullptr;
    // Checked first: a refused subscribe creates no group.
    q = mem_group_lane(q, req.group);
    auto c = std::make_unique<mem_consumer>();
    c->queue = q;
    c->deliver_cb = deliver_cb;
    c->host_ud = host_ud;
    c->prefetch = prefetch;
    {
      std::lock_guard lock(q->mu);
      q->consumers.push_back(c.get());
    }
    try {
      c->dispatcher = std::thread(mem_dispatch, c.get());
    } catch (...) {
      std::lock_guard lock(q->mu);
      std::erase(q->consumers, c.get());
      throw;
    }
    return reinterpret_cast<qplug_consumer*>(c.release());
  });
}

/* ------------------------------------------------------------------------ */
/* settle                                                                     */
/* ------------------------------------------------------------------------ */

// Puts a node back at the front of its queue (NACK_REQUEUE). Requeued
// messages bypass max_length: refusing them would lose them.
void mem_requeue_front(mem_queue* q, mem_list& nodes) {
  if (nodes.size == 0) return;
  size_t added = nodes.size;
  {
    std::lock_guard lock(q->mu);
    q->ready.prepend(nodes);
    q->backlog.fetch_add(static_cast<int64_t>(added));
  }
  mem_wake_dispatchers(q, added);
}

/*
 * settle(): the delivery handle is the node, so no lookup. ACK and REJECT
 * free it (there is no native dead-letter queue: the core emulates one);
 * NACK_REQUEUE puts it back at the FRONT of the queue, where its next
 * delivery reports attempts + 1. A delivery whose consumer unsubscribed was
 * already returned to the queue (as a copy): settling it only frees it and
 * answers CANCELED. An unknown disposition requeues (no loss) and answers
 * INVALID.
 */
int32_t mem_settle(qplug_delivery* delivery, int32_t disposition, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    if (delivery == nullptr) return fail(st, QPLUG_INVALID, false, "memory: settle of a NULL delivery");
    mem_node* n = mem_cast(delivery);
    mem_queue* q = n->queue;
    bool canceled = false;
    mem_list chain;  // a full chain of spares to hand back once the lock is released
    {
      auto lock = lock_spinning(q->flight_mu);
      if (n->state == mem_state::canceled) {
        canceled = true;
        --q->canceled_outstanding;
      } else if (n->state != mem_state::delivered) {
        return fail(st, QPLUG_INVALID, false, "memory: settle of a delivery that is not outstanding (settled twice?)");
      } else {
        mem_consumer* c = n->consumer;
        mem_flight_remove(c, n);
        n->consumer = nullptr;
        n->state = mem_state::ready;
        // Wake a dispatcher out of room only once half its prefetch is free
        // (or it asked for any room): one wakeup then refills many slots.
        // Notify under the lock: once we release it, unsubscribe() and
        // consumer_free() may destroy the consumer.
        if (c->waiting_room && (c->room_urgent || c->in_flight.load(std::memory_order_relaxed) <= c->prefetch / 2)) {
          c->waiting_room = false;
          c->room_cv.notify_one();
        }
        if ((disposition == QPLUG_ACK || disposition == QPLUG_REJECT) && n->capacity <= mem_spare_max_bytes) {
          q->settled.push_back(n);
          if (q->settled.size >= mem_return_chain) std::swap(chain, q->settled);
          lock.unlock();
          mem_spares_return(q, chain);
          return QPLUG_OK;
        }
      }
    }
    if (canceled) {
      mem_node_free(n);
      return fail(st, QPLUG_CANCELED, false,
                  "memory: queue '%s': the subscription was unsubscribed; the message was "
                  "returned to the queue",
                  q->name.c_str());
    }
    if (disposition == QPLUG_ACK || disposition == QPLUG_REJECT) {
      mem_node_free(n);
      return QPLUG_OK;
    }
    mem_list one;
    one.push_back(n);
    mem_requeue_front(q, one);
    if (disposition == QPLUG_NACK_REQUEUE) return QPLUG_OK;
    return fail(st, QPLUG_INVALID, false, "memory: settle with unknown disposition %d; the message was requeued",
                static_cast<int>(disposition));
  });
}

/* ------------------------------------------------------------------------ */
/* unsubscribe / consumer_free                                                */
/* ------------------------------------------------------------------------ */

/*
 * Stops and joins the dispatcher, then returns every unsettled delivery to
 * the front of the queue in delivery order. Messages the host holds are
 * copied back (the host's handle must stay valid until it settles, and its
 * settle then answers CANCELED without enqueueing again); messages grabbed
 * but never delivered go back as they are.
 */
void mem_stop_consumer(mem_consumer* c) {
  // Held throughout, so a concurrent second call returns only once quiesced.
  std::lock_guard stop_lock(c->stop_mu);
  if (c->unsubscribed) return;
  c->unsubscribed = true;
  mem_queue* q = c->queue;
  c->stopping.store(true);
  {
    std::lock_guard lock(q->mu);
    q->not_empty.notify_all();
  }
  {
    std::lock_guard lock(q->flight_mu);
    c->room_cv.notify_all();
  }
  if (c->dispatcher.joinable()) c->dispatcher.join();

  mem_list back;
  {
    std::lock_guard lock(q->flight_mu);
    for (mem_node* n = c->flight_head; n != nullptr;) {
      mem_node* next = n->next;
      if (n->state == mem_state::delivered) {
        mem_node* copy = mem_node_make(q, n->view);
        copy->view.attempts = n->view.attempts;
        copy->priority = n->priority;
        n->state = mem_state::canceled;
        n->consumer = nullptr;
        ++q->canceled_outstanding;
        back.push_back(copy);
      } else {
        n->state = mem_state::ready;
        n->consumer = nullptr;
        back.push_back(n);
      }
      n = next;
    }
    q->in_flight -= c->in_flight.load(std::memory_order_relaxed);
    c->in_flight.store(0, std::memory_order_relaxed);
    c->flight_head = c->flight_tail = nullptr;
  }
  {
    std::lock_guard lock(q->mu);
    std::erase(q->consumers, c);
  }
  mem_requeue_front(q, back);
}

int32_t mem_unsubscribe(qplug_consumer* consumer, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    mem_consumer* c = mem_cast(consumer);
    if (c == nullptr) return fail(st, QPLUG_INVALID, false, "memory: unsubscribe of a NULL consumer");
    if (c->dispatcher.joinable() && c->dispatcher.get_id() == std::this_thread::get_id())
      return fail(st, QPLUG_INVALID, false, "memory: unsubscribe called from inside deliver_cb (would deadlock)");
    mem_stop_consumer(c);
    return QPLUG_OK;
  });
}

void mem_consumer_free(qplug_consumer* consumer) {
  qplug::sdk::guarded_void([&] {
    mem_consumer* c = mem_cast(consumer);
    if (c == nullptr) return;
    mem_stop_consumer(c);  // no-op when the host unsubscribed first, as it must
    delete c;
  });
}

/* ------------------------------------------------------------------------ */
/* queue_info                                                                 */
/* ------------------------------------------------------------------------ */

int32_t mem_queue_info(qplug_queue* queue, qplug_queue_info* info, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    mem_queue* q = mem_cast(queue);
    qplug::sdk::QueueCounts counts;
    {
      std::lock_guard lock(q->mu);
      counts.messages = q->backlog.load(std::memory_order_relaxed);
      counts.consumers = static_cast<int64_t>(q->consumers.size());
    }
    {
      std::lock_guard lock(q->flight_mu);
      counts.in_flight = q->in_flight;
    }
    // Writes only what the caller's struct covers (it may be an older, smaller one).
    return qplug::sdk::write_queue_info(info, counts, "memory", st);
  });
}

/* ------------------------------------------------------------------------ */
/* Options (the JSON Schema `qplug check` and the docs show)                  */
/* ------------------------------------------------------------------------ */

const char* mem_config_schema() {
  return R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "memory driver",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "default_max_length": {"type": "integer", "minimum": 1, "default": 1000,
                           "description": "max_length of queues that do not set one"},
    "publish_timeout": {"type": ["integer", "string"], "default": 5000,
                        "description": "how long publish waits for room before FULL (500, 2s, ...); alias (deprecated): publish_timeout_ms"}
  },
  "$defs": {
    "queue_options": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "max_length": {"type": "integer", "minimum": 1, "default": 1000},
        "publish_timeout": {"type": ["integer", "string"], "default": 5000}
      }
    }
  }
})json";
}

/* ------------------------------------------------------------------------ */
/* The vtable                                                                 */
/* ------------------------------------------------------------------------ */

constexpr uint64_t mem_capabilities =
    QPLUG_CAP_ACK_AFTER_PROCESSING | QPLUG_CAP_NACK_REQUEUE | QPLUG_CAP_ORDERED | QPLUG_CAP_COMPETING_CONSUMERS |
    QPLUG_CAP_BATCH_PUBLISH | QPLUG_CAP_ASYNC_PUBLISH | QPLUG_CAP_DELIVERY_COUNT | QPLUG_CAP_QUEUE_INFO |
    QPLUG_CAP_HEADER_TYPES | QPLUG_CAP_DELAY | QPLUG_CAP_PRIORITY | QPLUG_CAP_CONSUMER_GROUPS;

const qplug_driver_v1 mem_vtable = {
    .struct_size = sizeof(qplug_driver_v1),
    .abi_major = QPLUG_ABI_MAJOR,
    .abi_minor = QPLUG_ABI_MINOR,
    .name = "memory",
    .version = "0.1.0",
    .description = "in-process bounded queues (reference driver; nothing survives the process)",
    .capabilities = mem_capabilities,
    .config_schema = mem_config_schema,
    .open = mem_open,
    .close = mem_close,
    .declare = mem_declare,
    .publish = mem_publish,
    .subscribe = mem_subscribe,
    .settle = mem_settle,
    .unsubscribe = mem_unsubscribe,
    .consumer_free = mem_consumer_free,
    .queue_info = mem_queue_info,
    .instance_capabilities = nullptr,  // every instance can do the same
};

}  // namespace
}  // namespace qplug::memory

/*
 * The one exported symbol. It only negotiates, by the SDK's rule: the major
 * version must match; any host minor works because this driver reads only
 * v1.0 fields and every later minor only appends. No threads, no I/O here.
 */
extern "C" QPLUG_EXPORT const qplug_driver_v1* qplug_driver_entry(uint32_t host_major, uint32_t host_minor,
                                                                  qplug_status* status) {
  return qplug::sdk::negotiate_entry(qplug::memory::mem_vtable, host_major, host_minor, status);
}
