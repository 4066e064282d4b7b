// memory_driver.cpp -- the in-process memory queue driver: bounded named
// queues inside one driver instance, competing consumers, ack/nack/reject.
//
// This file is also the tutorial for driver authors (docs/writing-a-driver.md
// walks through it). It reads top to bottom the way every qplug driver should:
// state structs, lifecycle (open/close), declare, publish, subscribe/deliver,
// settle, unsubscribe, queue_info, the option table, the const vtable, and
// last the single exported symbol, qplug_driver_entry(). It includes only the
// C ABI header and the header-only SDK from abi/ -- never core/ or loader/.
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
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/network_settings.hpp>
#include <qplug/sdk/schedule_headers.hpp>
#include <qplug/sdk/spin_lock.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "memory_delay_heap.hpp"
#include "memory_list.hpp"
#include "memory_ready_list.hpp"

namespace {

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
// Before sleeping on an empty queue, a dispatcher re-checks a few times:
// going to sleep and being woken costs two syscalls and a context switch,
// far more than one message (a short spin keeps 1P/1C off the futex).
constexpr int mem_spin_pauses = 100;
constexpr int mem_spin_yields = 20;
// Acked nodes are kept for reuse by publishers: a malloc on the publisher's
// thread paired with a free on the consumer's thread is the most expensive
// part of moving a small message. The pool holds at most max_length blocks
// (so it never holds more than a full queue would) and at most this many.
// A smaller pool measured slower: a publisher asleep on a full queue wakes
// to find the pool overflowed, and every message then costs a malloc again.
constexpr size_t mem_max_spares = 1024;
// Settlers hand acked nodes back in chains of this many: one atomic push per
// chain instead of a shared lock per message keeps the cache line that
// publishers and settlers share from bouncing between cores.
constexpr size_t mem_return_chain = 32;
// Bigger blocks are freed, not kept: one large message must not pin its
// memory for the life of the queue.
constexpr size_t mem_spare_max_bytes = 4096;
constexpr size_t mem_size_class = 64;  // node blocks are rounded up to this, so they fit again
// A dispatcher out of prefetch room sleeps until half of it is free again
// (one wakeup refills many slots), but waits at most this long for that:
// a host that holds its deliveries until it gets more must not stall.
constexpr std::chrono::milliseconds mem_room_patience{1};

/* ------------------------------------------------------------------------ */
/* State                                                                     */
/* ------------------------------------------------------------------------ */

struct mem_queue;
struct mem_consumer;

// Where a node is. Guarded by its queue's flight_mu once it left the ready list.
enum class mem_state : uint8_t {
  ready,      // in the queue's ready list
  grabbed,    // taken by a dispatcher, not yet handed to the host
  delivered,  // handed to the host, waiting for settle()
  canceled,   // its consumer unsubscribed; a copy went back to the queue
};

// One message. A single allocation: this struct, then header_count
// qplug_header, then the bytes of id, content type, body, header keys and
// string/bytes values. `view` points into that block, so the node is both the
// stored message and (cast to qplug_delivery*) the delivery handle.
struct mem_node {
  mem_node* next;          // ready list or consumer's in-flight list
  mem_node* prev;          // in-flight list only (O(1) unlink on settle)
  mem_queue* queue;        // owning queue; immutable
  mem_consumer* consumer;  // while grabbed/delivered; guarded by queue->flight_mu
  mem_state state;
  uint8_t priority;    // 0..9 from the `priority` header (5 without); immutable
  size_t capacity;     // bytes of the whole block (for reuse)
  qplug_message view;  // view.attempts counts deliveries so far
};

// An intrusive FIFO of nodes (singly linked through next).
using mem_list = qplug::memory::IntrusiveList<mem_node>;
// Ready messages, highest priority first (memory_ready_list.hpp).
using mem_ready_list = qplug::memory::PriorityReadyList<mem_node>;
// Delayed messages until they are due (memory_delay_heap.hpp).
using mem_delay_heap = qplug::memory::DelayHeap<mem_node>;

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
  int64_t default_max_length;
  int64_t default_publish_timeout_ms;
  std::mutex mu;  // guards queues
  std::unordered_map<std::string, std::unique_ptr<mem_queue>> queues;
};

mem_driver* mem_cast(qplug_driver* d) { return reinterpret_cast<mem_driver*>(d); }
mem_queue* mem_cast(qplug_queue* q) { return reinterpret_cast<mem_queue*>(q); }
mem_consumer* mem_cast(qplug_consumer* c) { return reinterpret_cast<mem_consumer*>(c); }
mem_node* mem_cast(qplug_delivery* d) { return reinterpret_cast<mem_node*>(d); }

// Spins briefly until `ready()` holds; true if it did (then skip the sleep).
template <typename Pred>
bool mem_spin_until(Pred ready) {
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
int64_t mem_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
int64_t mem_now_ms_ceil() {
  return std::chrono::ceil<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void mem_log(const mem_driver* d, qplug_log_level level, const std::string& msg) {
  if (QPLUG_SDK_HAS_FIELD(d->host, qplug_host_v1, log) && d->host->log != nullptr)
    d->host->log(d->host->host_ud, level, "memory", msg.c_str());
}

/* ------------------------------------------------------------------------ */
/* Messages: validation and the one-block copy                                */
/* ------------------------------------------------------------------------ */

// A span with a NULL pointer and a non-zero length would crash the copy.
bool mem_span_ok(const void* ptr, size_t len) { return ptr != nullptr || len == 0; }

// Checks one message of a publish batch; names the message and the field.
int32_t mem_check_message(const qplug_message* m, size_t i, qplug_status* st) {
  if (m == nullptr) return fail(st, QPLUG_INVALID, false, "memory: message #%zu is NULL", i);
  if (m->struct_size < offsetof(qplug_message, attempts) || m->abi_major != QPLUG_ABI_MAJOR)
    return fail(st, QPLUG_INVALID, false, "memory: message #%zu has struct_size %u / ABI major %u (need ABI %d)", i,
                m->struct_size, static_cast<unsigned>(m->abi_major), QPLUG_ABI_MAJOR);
  if (!mem_span_ok(m->id.ptr, m->id.len) || !mem_span_ok(m->content_type.ptr, m->content_type.len) ||
      !mem_span_ok(m->body.ptr, m->body.len) || !mem_span_ok(m->headers, m->header_count))
    return fail(st, QPLUG_INVALID, false, "memory: message #%zu has a NULL pointer with a non-zero length", i);
  for (size_t h = 0; h < m->header_count; ++h) {
    const qplug_header& hd = m->headers[h];
    if (hd.key.len == 0 || hd.key.ptr == nullptr)
      return fail(st, QPLUG_INVALID, false, "memory: message #%zu header #%zu has an empty key", i, h);
    const qplug_value& v = hd.value;
    bool ok = v.type == QPLUG_VALUE_NULL || v.type == QPLUG_VALUE_BOOL || v.type == QPLUG_VALUE_INT64 ||
              v.type == QPLUG_VALUE_DOUBLE ||
              (v.type == QPLUG_VALUE_STRING && mem_span_ok(v.as.str.ptr, v.as.str.len)) ||
              (v.type == QPLUG_VALUE_BYTES && mem_span_ok(v.as.bytes.ptr, v.as.bytes.len));
    if (!ok)
      return fail(st, QPLUG_INVALID, false, "memory: message #%zu header '%.*s' has a bad value (type %d)", i,
                  static_cast<int>(hd.key.len), hd.key.ptr, static_cast<int>(v.type));
  }
  return QPLUG_OK;
}

// Bytes a header value needs in the block.
size_t mem_value_bytes(const qplug_value& v) {
  return v.type == QPLUG_VALUE_STRING ? v.as.str.len : v.type == QPLUG_VALUE_BYTES ? v.as.bytes.len : 0;
}

// Copies `len` bytes to `dst`. Message fields are mostly short (ids, content
// types, header keys), and a call into libc's memcpy per field cost more
// than the copy itself: up to 32 bytes take two overlapping fixed-size moves.
inline void mem_copy(char* dst, const char* src, size_t len) {
  if (len >= 16 && len <= 32) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + len - 16, src + len - 16, 16);
  } else if (len >= 8 && len < 16) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + len - 8, src + len - 8, 8);
  } else if (len >= 4 && len < 8) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + len - 4, src + len - 4, 4);
  } else if (len > 32) {
    std::memcpy(dst, src, len);
  } else {
    for (size_t k = 0; k < len; ++k) dst[k] = src[k];
  }
}

// Copies `len` bytes to *cursor and advances it; returns where they went.
const char* mem_put(char** cursor, const void* src, size_t len) {
  char* at = *cursor;
  mem_copy(at, static_cast<const char*>(src), len);
  *cursor += len;
  return at;
}

// Deep-copies a (validated) message into one node: `spare` (an acked node,
// may be NULL) when it is big enough, else a new block. Throws bad_alloc.
// Every field is written exactly once (no zero-fill first): this runs once
// per published message. `sched` (NULL: none) gives the priority and the
// `delay` header, which is consumed here: a delivery never shows it, so a
// message the host publishes again from a delivery is not delayed twice.
mem_node* mem_node_make(mem_queue* q, const qplug_message& m, mem_node* spare = nullptr,
                        const ScheduleHeaders* sched = nullptr) {
  const size_t skip = sched != nullptr ? sched->delay_index : ScheduleHeaders::kNone;
  size_t bytes = m.id.len + m.content_type.len + m.body.len;
  for (size_t h = 0; h < m.header_count; ++h) bytes += m.headers[h].key.len + mem_value_bytes(m.headers[h].value);
  const size_t header_count = m.header_count - (skip != ScheduleHeaders::kNone ? 1 : 0);
  size_t total = sizeof(mem_node) + header_count * sizeof(qplug_header) + bytes;
  total = (total + mem_size_class - 1) / mem_size_class * mem_size_class;
  void* block = nullptr;
  if (spare != nullptr && spare->capacity >= total) {
    total = spare->capacity;
    spare->~mem_node();
    block = spare;
  } else {
    if (spare != nullptr) {
      spare->~mem_node();
      std::free(spare);
    }
    block = std::malloc(total);
    if (block == nullptr) throw std::bad_alloc();
  }

  mem_node* n = new (block) mem_node;  // default-init: the fields are set below
  n->next = nullptr;
  n->prev = nullptr;
  n->queue = q;
  n->consumer = nullptr;
  n->state = mem_state::ready;
  n->priority = static_cast<uint8_t>(sched != nullptr ? sched->priority : qplug::sdk::kDefaultPriority);
  n->capacity = total;
  auto* headers = reinterpret_cast<qplug_header*>(n + 1);  // sizeof(mem_node) keeps 8-byte alignment
  char* cursor = reinterpret_cast<char*>(headers + header_count);

  qplug_message& v = n->view;
  v.struct_size = sizeof(qplug_message);
  v.abi_major = QPLUG_ABI_MAJOR;
  v.abi_minor = QPLUG_ABI_MINOR;
  v.id = {mem_put(&cursor, m.id.ptr, m.id.len), m.id.len};
  v.content_type = {mem_put(&cursor, m.content_type.ptr, m.content_type.len), m.content_type.len};
  v.body = {reinterpret_cast<const uint8_t*>(mem_put(&cursor, m.body.ptr, m.body.len)), m.body.len};
  for (size_t h = 0, out = 0; h < m.header_count; ++h) {
    if (h == skip) continue;
    const qplug_header& src = m.headers[h];
    qplug_header* dst = new (&headers[out++]) qplug_header;
    dst->key = {mem_put(&cursor, src.key.ptr, src.key.len), src.key.len};
    dst->value = src.value;
    dst->value.reserved = 0;
    if (src.value.type == QPLUG_VALUE_STRING)
      dst->value.as.str = {mem_put(&cursor, src.value.as.str.ptr, src.value.as.str.len), src.value.as.str.len};
    else if (src.value.type == QPLUG_VALUE_BYTES)
      dst->value.as.bytes = {
          reinterpret_cast<const uint8_t*>(mem_put(&cursor, src.value.as.bytes.ptr, src.value.as.bytes.len)),
          src.value.as.bytes.len};
    else if (src.value.type == QPLUG_VALUE_BOOL)
      dst->value.as.boolean = src.value.as.boolean != 0;
  }
  v.headers = header_count == 0 ? nullptr : headers;
  v.header_count = header_count;
  v.attempts = 0;
  v.reserved = 0;
  return n;
}

void mem_node_free(mem_node* n) {
  n->~mem_node();
  std::free(n);
}

// Frees a null-terminated chain linked through next.
void mem_chain_free(mem_node* n) {
  while (n != nullptr) {
    mem_node* next = n->next;
    mem_node_free(n);
    n = next;
  }
}

void mem_list_free(mem_list& l) {
  if (l.tail != nullptr) l.tail->next = nullptr;
  mem_chain_free(l.head);
  l = mem_list{};
}

/* ------------------------------------------------------------------------ */
/* Spare blocks: acked nodes travelling back to publishers                    */
/* ------------------------------------------------------------------------ */

// Takes up to n spare nodes for a publish into out[]; returns how many.
// Publishers only; settlers never wait on spare_mu.
size_t mem_spares_take(mem_queue* q, mem_node** out, size_t n) {
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
void mem_spares_return(mem_queue* q, mem_list chain) {
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
    int64_t timeout = qplug::sdk::read_network_settings(cfg, "memory", qplug::sdk::kNetPublishTimeout, defaults)
                          .publish_timeout_ms;
    int64_t max_length = cfg.integer("default_max_length", mem_default_max_length, 1, INT32_MAX);
    if (!cfg.finish(st, "memory driver")) return nullptr;
    cfg.log_warnings(host, "memory");
    auto d = std::make_unique<mem_driver>();
    d->host = host;
    d->default_max_length = max_length;
    d->default_publish_timeout_ms = timeout;
    return reinterpret_cast<qplug_driver*>(d.release());
  });
}

void mem_stop_consumer(mem_consumer* c);

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
    for (auto& [name, q] : d->queues) {
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
        mem_log(d.get(), QPLUG_LOG_WARN,
                "close: queue '" + name + "' still has " + std::to_string(q->canceled_outstanding + q->in_flight) +
                    " unsettled deliveries; keeping its memory alive");
        (void)q.release();
      }
    }
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

// Wakes sleepers on `cv` (one or all) if `waiting` counts any. Called after
// the change they wait for, without q->mu: the seq_cst load pairs with the
// sleeper's increment (Dekker style), and the notify under q->mu cannot slip
// between a sleeper's last check and its wait.
void mem_notify_waiters(mem_queue* q, const std::atomic<uint32_t>& waiting, std::condition_variable& cv, bool all) {
  if (waiting.load() == 0) return;
  std::lock_guard lock(q->mu);
  if (all)
    cv.notify_all();
  else
    cv.notify_one();
}

// Wakes sleeping dispatchers after `added` messages arrived.
void mem_wake_dispatchers(mem_queue* q, size_t added) {
  mem_notify_waiters(q, q->waiting_dispatchers, q->not_empty, added != 1);
}

// Reserves room for up to `want` messages under max_length; returns how many.
size_t mem_reserve(mem_queue* q, size_t want) {
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
void mem_inbox_push(mem_queue* q, mem_node* const* nodes, size_t n) {
  for (size_t i = n - 1; i > 0; --i) nodes[i]->next = nodes[i - 1];
  mem_node* head = q->inbox.load(std::memory_order_relaxed);
  do {
    nodes[0]->next = head;
  } while (!q->inbox.compare_exchange_weak(head, nodes[n - 1]));  // seq_cst: see waiting_dispatchers
}

// Puts a delayed node into the delay heap (room reserved by reserve_more)
// and wakes the dispatchers if it is due before all others: they sleep until
// the first due time they know of.
void mem_delay_push(mem_queue* q, mem_node* n, int64_t due_ms) {
  std::lock_guard lock(q->mu);
  const bool first = q->delayed.empty() || due_ms < q->delayed.next_due_ms();
  q->delayed.push(due_ms, n);
  if (first) q->not_empty.notify_all();
}

// Hands admitted nodes[0..n) on: immediate ones to the inbox, delayed ones
// (due[i] != 0; `due` NULL means none) to the delay heap, in order.
void mem_admit(mem_queue* q, mem_node* const* nodes, const int64_t* due, size_t n) {
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

// Appends nodes[0..n) as room allows, waiting up to `timeout_ms` for room.
// Delayed messages (due[i] != 0) take room too: they are admitted now and
// wait in the queue's delay heap. Returns how many were enqueued, always a
// prefix of `nodes`.
size_t mem_enqueue(mem_queue* q, mem_node* const* nodes, const int64_t* due, size_t n, int64_t timeout_ms) {
  size_t done = 0;
  timeout_ms = std::min<int64_t>(timeout_ms, int64_t{1} << 40);  // ~35 years: no clock overflow
  // The clock is read only when the queue is full: most publishes never wait.
  std::chrono::steady_clock::time_point deadline{};
  bool dated = false;
  while (done < n) {
    if (size_t got = mem_reserve(q, n - done); got != 0) {
      mem_admit(q, nodes + done, due == nullptr ? nullptr : due + done, got);
      done += got;
      continue;
    }
    if (timeout_ms == 0) return done;
    // A full queue is backpressure: the publisher sleeps (no spin), so it
    // leaves the CPU to the consumers it waits for.
    if (!dated) {
      deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
      dated = true;
    }
    std::unique_lock lock(q->mu);
    q->waiting_publishers.fetch_add(1);  // seq_cst: pairs with the dispatcher's backlog decrement
    bool timed_out = false;
    while (q->backlog.load() >= q->max_length && !timed_out)
      timed_out = q->not_full.wait_until(lock, deadline) == std::cv_status::timeout;
    q->waiting_publishers.fetch_sub(1);
    if (timed_out && q->backlog.load() >= q->max_length) return done;
  }
  return done;
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
    if (n == 0) return fail(st, QPLUG_INVALID, false, "memory: publish to '%s' with n=0 messages", q->name.c_str());
    if (msgs == nullptr)
      return fail(st, QPLUG_INVALID, false, "memory: publish to '%s': msgs is NULL", q->name.c_str());
    size_t delayed = 0;  // messages with a `delay` > 0 (the fast path has none)
    for (size_t i = 0; i < n; ++i) {
      if (int32_t rc = mem_check_message(msgs[i], i, st); rc != QPLUG_OK) return rc;
      ScheduleHeaders sched;
      if (int32_t rc = qplug::sdk::read_schedule_headers(*msgs[i], i, "memory", &sched, st); rc != QPLUG_OK) return rc;
      if (sched.delay_ms > 0) ++delayed;
    }
    int64_t timeout = q->publish_timeout_ms;
    if (QPLUG_SDK_HAS_FIELD(options, qplug_publish_options, timeout_ms) && options->timeout_ms >= 0)
      timeout = options->timeout_ms;

    // Copy outside the lock; a small batch needs no heap array.
    mem_node* local[16];
    std::vector<mem_node*> heap;
    mem_node** nodes = local;
    if (n > std::size(local)) {
      heap.resize(n);
      nodes = heap.data();
    }
    // Due times of delayed messages (0 = immediate); only when there are any.
    std::vector<int64_t> due;
    if (delayed != 0) {
      due.assign(n, 0);
      std::lock_guard lock(q->mu);
      q->delayed.reserve_more(delayed);  // so that admitting them cannot fail half way
    }
    const int64_t now_ms = delayed != 0 ? mem_now_ms_ceil() : 0;
    // Take acked nodes to reuse (one lock per call), then copy outside every lock.
    size_t spares = mem_spares_take(q, nodes, n);
    size_t made = 0;
    try {
      for (; made < n; ++made) {
        ScheduleHeaders sched;  // checked above: cannot fail now
        (void)qplug::sdk::read_schedule_headers(*msgs[made], made, "memory", &sched, nullptr);
        nodes[made] = mem_node_make(q, *msgs[made], made < spares ? nodes[made] : nullptr, &sched);
        if (sched.delay_ms > 0) due[made] = now_ms + sched.delay_ms;
      }
    } catch (...) {
      for (size_t i = 0; i < std::max(made, spares); ++i) {
        if (i == made) continue;  // the spare handed to the failing call was freed by it
        mem_node_free(nodes[i]);
      }
      throw;
    }

    size_t ok = mem_enqueue(q, nodes, due.empty() ? nullptr : due.data(), n, timeout);
    for (size_t i = ok; i < n; ++i) mem_node_free(nodes[i]);
    if (accepted != nullptr) *accepted = ok;
    if (ok == n && done == nullptr) return QPLUG_OK;  // the common case builds no status

    qplug_status result = qplug::sdk::make_status();
    if (ok < n)
      fail(&result, QPLUG_FULL, true, "memory: queue '%s' is full (max_length %lld); waited %lld ms", q->name.c_str(),
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

// Moves everything in the inbox to the back of `ready`, oldest first. q->mu held.
void mem_inbox_drain(mem_queue* q) {
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
void mem_release_due(mem_queue* q) {
  mem_list due;
  uint32_t levels = 0;
  q->delayed.pop_due(mem_now_ms(), [&](mem_node* n) {
    due.push_back(n);
    levels |= 1u << n->priority;
  });
  q->ready.append(due, levels);
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
 * start its dispatcher. The memory driver has one group per queue, so a
 * non-empty group is refused rather than silently ignored (CONSUMER_GROUPS
 * is off). It takes no driver_options of its own.
 */
qplug_consumer* mem_subscribe(qplug_queue* queue, const qplug_subscribe_options* options, qplug_deliver_fn deliver_cb,
                              void* host_ud, qplug_status* st) {
  return guarded<qplug_consumer*>(st, nullptr, [&]() -> qplug_consumer* {
    mem_queue* q = mem_cast(queue);
    if (deliver_cb == nullptr) {
      fail(st, QPLUG_INVALID, false, "memory: subscribe to '%s' without a deliver callback", q->name.c_str());
      return nullptr;
    }
    uint32_t prefetch = mem_default_prefetch;
    if (QPLUG_SDK_HAS_FIELD(options, qplug_subscribe_options, prefetch) && options->prefetch != 0)
      prefetch = options->prefetch;
    if (QPLUG_SDK_HAS_FIELD(options, qplug_subscribe_options, group) && options->group.len != 0) {
      fail(st, QPLUG_INVALID, false,
           "memory: queue '%s': consumer group '%.*s' requested, but the memory driver has no consumer groups "
           "(all subscribers of a queue compete); leave group empty",
           q->name.c_str(), static_cast<int>(options->group.len), options->group.ptr);
      return nullptr;
    }
    if (QPLUG_SDK_HAS_FIELD(options, qplug_subscribe_options, option_count)) {
      if (options->options == nullptr && options->option_count != 0) {
        fail(st, QPLUG_INVALID, false, "memory: subscribe options are NULL with %zu items", options->option_count);
        return nullptr;
      }
      ConfigReader cfg(options->options, options->option_count);
      if (!cfg.finish(st, "memory consumer of '" + q->name + "' options")) return nullptr;
    }
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
    if (info == nullptr) return fail(st, QPLUG_INVALID, false, "memory: queue_info with a NULL info");
    auto out = qplug::sdk::versioned<qplug_queue_info>();
    {
      std::lock_guard lock(q->mu);
      out.messages = q->backlog.load(std::memory_order_relaxed);
      out.consumers = static_cast<int64_t>(q->consumers.size());
    }
    {
      std::lock_guard lock(q->flight_mu);
      out.in_flight = q->in_flight;
    }
    // Write only what the caller's struct covers (it may be an older, smaller one).
    size_t n = std::min<size_t>(info->struct_size, sizeof out);
    uint32_t caller_size = info->struct_size;
    std::memcpy(static_cast<void*>(info), &out, n);
    info->struct_size = caller_size;
    return QPLUG_OK;
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

constexpr uint64_t mem_capabilities = QPLUG_CAP_ACK_AFTER_PROCESSING | QPLUG_CAP_NACK_REQUEUE | QPLUG_CAP_ORDERED |
                                      QPLUG_CAP_COMPETING_CONSUMERS | QPLUG_CAP_BATCH_PUBLISH |
                                      QPLUG_CAP_ASYNC_PUBLISH | QPLUG_CAP_DELIVERY_COUNT | QPLUG_CAP_QUEUE_INFO |
                                      QPLUG_CAP_HEADER_TYPES | QPLUG_CAP_DELAY | QPLUG_CAP_PRIORITY;

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
};

}  // namespace

/*
 * The one exported symbol. It only negotiates: the major version must match;
 * any host minor works because this driver reads only v1.0 fields and every
 * later minor only appends. No threads, no I/O here.
 */
extern "C" QPLUG_EXPORT const qplug_driver_v1* qplug_driver_entry(uint32_t host_major, uint32_t /*host_minor*/,
                                                                  qplug_status* status) {
  return guarded<const qplug_driver_v1*>(status, nullptr, [&]() -> const qplug_driver_v1* {
    if (host_major != QPLUG_ABI_MAJOR) {
      fail(status, QPLUG_INVALID, false, "memory driver speaks ABI %d.x, host speaks %u.x", QPLUG_ABI_MAJOR,
           host_major);
      return nullptr;
    }
    return &mem_vtable;
  });
}
