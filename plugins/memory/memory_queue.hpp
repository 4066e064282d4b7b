// memory_queue.hpp -- one memory queue and its lock-free hand-offs: the
// state of a queue, its subscriptions and the driver instance, the inbox
// publishers push onto without a lock (admission CAS + Treiber stack), the
// delay heap hand-over, and the chains of acked blocks travelling back to
// publishers. The ABI ops that use them are in memory_driver.cpp; the node
// layout in memory_node.hpp.
//
// Header-only and `static inline` on purpose: these run once or twice per
// message on the publish and deliver paths; internal linkage inside the
// driver's one translation unit lets the compiler inline them (functions
// with one caller included) exactly as when everything was one file.
#pragma once

#include <qplug/driver.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/spin_lock.hpp>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "memory_delay_heap.hpp"
#include "memory_node.hpp"
#include "memory_ready_list.hpp"

namespace qplug::memory {

using qplug::sdk::lock_spinning;

// Ready messages, highest priority first (memory_ready_list.hpp).
using mem_ready_list = PriorityReadyList<mem_node>;
// Delayed messages until they are due (memory_delay_heap.hpp).
using mem_delay_heap = DelayHeap<mem_node>;

// Before sleeping on an empty queue, a dispatcher re-checks a few times:
// going to sleep and being woken costs two syscalls and a context switch,
// far more than one message (a short spin keeps 1P/1C off the futex).
inline constexpr int mem_spin_pauses = 100;

inline constexpr int mem_spin_yields = 20;

// Acked nodes are kept for reuse by publishers: a malloc on the publisher's
// thread paired with a free on the consumer's thread is the most expensive
// part of moving a small message. The pool holds at most max_length blocks
// (so it never holds more than a full queue would) and at most this many.
// A smaller pool measured slower: a publisher asleep on a full queue wakes
// to find the pool overflowed, and every message then costs a malloc again.
inline constexpr size_t mem_max_spares = 1024;

// Settlers hand acked nodes back in chains of this many: one atomic push per
// chain instead of a shared lock per message keeps the cache line that
// publishers and settlers share from bouncing between cores.
inline constexpr size_t mem_return_chain = 32;

// Bigger blocks are freed, not kept: one large message must not pin its
// memory for the life of the queue.
inline constexpr size_t mem_spare_max_bytes = 4096;

struct mem_driver;

// One subscription: a dispatcher thread feeding deliver_cb.
struct mem_consumer {
  mem_queue* queue;
  qplug_deliver_fn deliver_cb;
  void* host_ud;
  uint32_t prefetch;                  // most unsettled deliveries at once
  std::thread dispatcher;             // joined by unsubscribe()
  std::atomic<bool> stopping{false};  // set by unsubscribe(), read by the dispatcher
  std::mutex stop_mu;                 // serialises concurrent unsubscribe() calls
  bool unsubscribed = false;          // unsubscribe() ran (idempotence); guarded by stop_mu
  // Guarded by queue->flight_mu:
  mem_node* flight_head = nullptr;  // grabbed + delivered nodes, delivery order
  mem_node* flight_tail = nullptr;
  // Length of that list. Written under flight_mu; the dispatcher (the only
  // thread that raises it) reads it without the lock to skip the lock when
  // there is room: a stale value is only ever too high, so room is a floor.
  std::atomic<uint32_t> in_flight{0};
  bool waiting_room = false;        // dispatcher sleeps on room_cv
  bool room_urgent = false;         // ... and wants the first settle, not half the prefetch
  std::condition_variable room_cv;  // signalled when in_flight drops to prefetch/2 (or 0)
};

// One named queue. Lives until the driver closes.
struct mem_queue {
  mem_driver* driver;
  std::string name;
  std::string publish_where;  // "memory: publish to '<name>'", for check_batch's errors
  std::string group;          // empty: the queue itself (its default group); else a group lane (memory_groups.hpp)
  // The queue's named groups, oldest first, as a list through this field:
  // the queue's own field points at its first group lane, a lane's at the
  // next one. Appended under driver->mu, never unlinked before close;
  // publishers walk it without a lock (acquire), and a queue without
  // groups pays one null load per publish.
  std::atomic<mem_queue*> next_group{nullptr};
  int64_t max_length;          // admission bound of the ready list
  int64_t publish_timeout_ms;  // default wait for room

  // Publishers never lock: they reserve room in `backlog` (one CAS) and push
  // their batch onto `inbox` (one CAS); the dispatcher holding `mu` drains
  // the inbox into `ready`. A publisher and a dispatcher share no lock -- with
  // a shared mutex, every collision cost a futex sleep and wake (microseconds)
  // per message -- and touch two cache lines:
  //   inbox:   a Treiber stack, newest first; only ever taken whole, so no
  //            ABA. Idle dispatchers spin on it, so it has a line of its own.
  //   backlog: messages admitted and not yet grabbed (inbox + ready + delayed): the
  //            max_length admission count. Dispatchers touch it once per grab.
  //   waiting_*: sleepers on the condition variables below. A waker checks
  //            them after its own change (seq_cst both sides, Dekker style)
  //            and only then takes `mu` to notify.
  alignas(64) std::atomic<mem_node*> inbox{nullptr};
  alignas(64) std::atomic<int64_t> backlog{0};
  std::atomic<uint32_t> waiting_publishers{0};
  std::atomic<uint32_t> waiting_dispatchers{0};

  alignas(64) std::mutex mu;         // dispatchers' lock: guards `ready`, `delayed` and `consumers`; the cvs wait on it
  mem_ready_list ready;              // drained from the inbox, requeued or due, not yet grabbed
  mem_delay_heap delayed;            // published with a `delay`, not due yet (admitted: counted in backlog)
  std::condition_variable not_full;  // publishers wait for room here
  std::condition_variable not_empty;     // dispatchers wait for messages here
  std::vector<mem_consumer*> consumers;  // active subscriptions

  alignas(64) std::mutex flight_mu;  // guards node state/consumer, every consumer's in-flight list, `settled`
  int64_t in_flight = 0;             // sum over consumers
  int64_t canceled_outstanding = 0;  // canceled deliveries the host has not settled yet
  mem_list settled;                  // acked nodes gathering into the next chain for `returned`

  // Spare blocks on their way back to publishers. Settlers push whole chains
  // onto `returned`; a publisher takes the whole stack at once into `spares`
  // (guarded by spare_mu, which only publishers take). Nobody pops single
  // nodes off `returned`, so the lock-free stack has no ABA problem.
  alignas(64) std::atomic<mem_node*> returned{nullptr};
  std::atomic<size_t> spare_total{0};  // nodes in settled chains handed over + spares
  size_t spare_cap = 0;                // most spare_total may reach: min(max_length, mem_max_spares)
  alignas(64) std::mutex spare_mu;
  mem_node* spares = nullptr;  // taken from `returned`, linked through next
};

// One driver instance, as opened from a queue.driver.memory YAML block.
struct mem_driver {
  const qplug_host_v1* host;
  qplug::sdk::HostLog log;  // the host's log service (no-op on a host without one)
  int64_t default_max_length;
  int64_t default_publish_timeout_ms;
  std::mutex mu;  // guards queues
  std::unordered_map<std::string, std::unique_ptr<mem_queue>> queues;
  std::vector<std::unique_ptr<mem_queue>> group_lanes;  // every queue's named groups (memory_groups.hpp)
};

// Spins briefly until `ready()` holds; true if it did (then skip the sleep).
template <typename Pred>
static inline bool mem_spin_until(Pred ready) {
  for (int i = 0; i < mem_spin_pauses + mem_spin_yields; ++i) {
    if (ready()) return true;
    if (i < mem_spin_pauses) {
      qplug::sdk::cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  return ready();
}

// Steady-clock milliseconds: the time base of delayed messages. A message
// is due once mem_now_ms() reaches publish time + delay, with publish time
// rounded UP (mem_now_ms_ceil), so it is never handed out early by a
// fraction of a millisecond.
static inline int64_t mem_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

static inline int64_t mem_now_ms_ceil() {
  return std::chrono::ceil<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/* ------------------------------------------------------------------------ */
/* Spare blocks: acked nodes travelling back to publishers                    */
/* ------------------------------------------------------------------------ */

// Takes up to n spare nodes for a publish into out[]; returns how many.
// Publishers only; settlers never wait on spare_mu.
static inline size_t mem_spares_take(mem_queue* q, mem_node** out, size_t n) {
  if (q->spare_total.load(std::memory_order_relaxed) == 0) return 0;
  size_t got = 0;
  {
    auto lock = lock_spinning(q->spare_mu);
    if (q->spares == nullptr) q->spares = q->returned.exchange(nullptr, std::memory_order_acquire);
    for (; got < n && q->spares != nullptr; ++got) {
      out[got] = q->spares;
      q->spares = q->spares->next;
    }
  }
  if (got != 0) q->spare_total.fetch_sub(got, std::memory_order_relaxed);
  return got;
}

// Hands a chain of acked nodes to publishers (one CAS), or frees it when
// the pool is already full. Called without any lock held.
static inline void mem_spares_return(mem_queue* q, mem_list chain) {
  if (chain.head == nullptr) return;
  if (q->spare_total.load(std::memory_order_relaxed) + chain.size > q->spare_cap) {
    mem_list_free(chain);
    return;
  }
  q->spare_total.fetch_add(chain.size, std::memory_order_relaxed);
  mem_node* head = q->returned.load(std::memory_order_relaxed);
  do {
    chain.tail->next = head;
  } while (!q->returned.compare_exchange_weak(head, chain.head, std::memory_order_release, std::memory_order_relaxed));
}

// Wakes sleepers on `cv` (one or all) if `waiting` counts any. Called after
// the change they wait for, without q->mu: the seq_cst load pairs with the
// sleeper's increment (Dekker style), and the notify under q->mu cannot slip
// between a sleeper's last check and its wait.
static inline void mem_notify_waiters(mem_queue* q, const std::atomic<uint32_t>& waiting, std::condition_variable& cv,
                                      bool all) {
  if (waiting.load() == 0) return;
  std::lock_guard lock(q->mu);
  if (all)
    cv.notify_all();
  else
    cv.notify_one();
}

// Wakes sleeping dispatchers after `added` messages arrived.
static inline void mem_wake_dispatchers(mem_queue* q, size_t added) {
  mem_notify_waiters(q, q->waiting_dispatchers, q->not_empty, added != 1);
}

// Reserves room for up to `want` messages under max_length; returns how many.
static inline size_t mem_reserve(mem_queue* q, size_t want) {
  int64_t used = q->backlog.load(std::memory_order_relaxed);
  for (;;) {
    int64_t room = q->max_length - used;
    if (room <= 0) return 0;
    size_t got = std::min<size_t>(want, static_cast<size_t>(room));
    if (q->backlog.compare_exchange_weak(used, used + static_cast<int64_t>(got))) return got;
  }
}

// Pushes nodes[0..n) onto the inbox in one CAS, keeping their order (the
// stack is newest first, so the chain links each node to the one before it).
static inline void mem_inbox_push(mem_queue* q, mem_node* const* nodes, size_t n) {
  for (size_t i = n - 1; i > 0; --i) nodes[i]->next = nodes[i - 1];
  mem_node* head = q->inbox.load(std::memory_order_relaxed);
  do {
    nodes[0]->next = head;
  } while (!q->inbox.compare_exchange_weak(head, nodes[n - 1]));  // seq_cst: see waiting_dispatchers
}

// Puts a delayed node into the delay heap (room reserved by reserve_more)
// and wakes the dispatchers if it is due before all others: they sleep until
// the first due time they know of.
static inline void mem_delay_push(mem_queue* q, mem_node* n, int64_t due_ms) {
  std::lock_guard lock(q->mu);
  const bool first = q->delayed.empty() || due_ms < q->delayed.next_due_ms();
  q->delayed.push(due_ms, n);
  if (first) q->not_empty.notify_all();
}

// Hands admitted nodes[0..n) on: immediate ones to the inbox, delayed ones
// (due[i] != 0; `due` NULL means none) to the delay heap, in order.
static inline void mem_admit(mem_queue* q, mem_node* const* nodes, const int64_t* due, size_t n) {
  if (due == nullptr) {  // the fast path: no delayed message in the batch
    mem_inbox_push(q, nodes, n);
    mem_wake_dispatchers(q, n);
    return;
  }
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && due[j] == 0) ++j;
    if (j > i) {
      mem_inbox_push(q, nodes + i, j - i);
      mem_wake_dispatchers(q, j - i);
    }
    if (j < n) {
      mem_delay_push(q, nodes[j], due[j]);
      ++j;
    }
    i = j;
  }
}

// Sleeps until `q` has room below max_length or `deadline` passed; false
// if it is still full then. A full queue is backpressure: the publisher
// sleeps (no spin), so it leaves the CPU to the consumers it waits for.
static inline bool mem_wait_not_full(mem_queue* q, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(q->mu);
  q->waiting_publishers.fetch_add(1);  // seq_cst: pairs with the dispatcher's backlog decrement
  bool timed_out = false;
  while (q->backlog.load() >= q->max_length && !timed_out)
    timed_out = q->not_full.wait_until(lock, deadline) == std::cv_status::timeout;
  q->waiting_publishers.fetch_sub(1);
  return !timed_out || q->backlog.load() < q->max_length;
}

// The admission loop of every publish: reserve(want, &blocked) takes room
// for up to `want` more messages and returns how many it got (0: none; then
// `blocked` is the queue to wait for), admit(done, got) hands messages
// [done, done + got) on. Waits up to `timeout_ms` for room; returns how many
// were admitted, always a prefix. When that is short of n and `full` is not
// NULL, *full is the queue that had no room.
template <class Reserve, class Admit>
static inline size_t mem_admission_loop(size_t n, int64_t timeout_ms, Reserve reserve, Admit admit, mem_queue** full) {
  size_t done = 0;
  timeout_ms = std::min<int64_t>(timeout_ms, int64_t{1} << 40);  // ~35 years: no clock overflow
  // The clock is read only when the queue is full: most publishes never wait.
  std::chrono::steady_clock::time_point deadline{};
  bool dated = false;
  while (done < n) {
    mem_queue* blocked = nullptr;
    if (size_t got = reserve(n - done, &blocked); got != 0) {
      admit(done, got);
      done += got;
      continue;
    }
    if (full != nullptr) *full = blocked;
    if (timeout_ms == 0) return done;
    if (!dated) {
      deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
      dated = true;
    }
    if (!mem_wait_not_full(blocked, deadline)) return done;
  }
  return done;
}

// Appends nodes[0..n) as room allows, waiting up to `timeout_ms` for room.
// Delayed messages (due[i] != 0) take room too: they are admitted now and
// wait in the queue's delay heap. Returns how many were enqueued, always a
// prefix of `nodes`.
static inline size_t mem_enqueue(mem_queue* q, mem_node* const* nodes, const int64_t* due, size_t n,
                                 int64_t timeout_ms) {
  return mem_admission_loop(
      n, timeout_ms,
      [q](size_t want, mem_queue** blocked) {
        *blocked = q;
        return mem_reserve(q, want);
      },
      [&](size_t done, size_t got) { mem_admit(q, nodes + done, due == nullptr ? nullptr : due + done, got); },
      nullptr);
}

// Moves everything in the inbox to the back of `ready`, oldest first. q->mu held.
static inline void mem_inbox_drain(mem_queue* q) {
  mem_node* n = q->inbox.exchange(nullptr, std::memory_order_acquire);
  mem_list fresh;  // the stack is newest first: reverse it
  fresh.tail = n;
  uint32_t levels = 0;  // priorities seen: one (the usual case) appends the list whole
  for (mem_node* prev = nullptr; n != nullptr; ++fresh.size) {
    mem_node* next = n->next;
    n->next = prev;
    levels |= 1u << n->priority;
    prev = n;
    fresh.head = n;
    n = next;
  }
  q->ready.append(fresh, levels);
}

// Moves the delayed messages that are due into `ready`. q->mu held.
static inline void mem_release_due(mem_queue* q) {
  mem_list due;
  uint32_t levels = 0;
  q->delayed.pop_due(mem_now_ms(), [&](mem_node* n) {
    due.push_back(n);
    levels |= 1u << n->priority;
  });
  q->ready.append(due, levels);
}

}  // namespace qplug::memory
