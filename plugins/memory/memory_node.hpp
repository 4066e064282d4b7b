// memory_node.hpp -- one message of the memory driver: a single heap block
// holding the list links, the qplug_message view, the header array and every
// byte of the message, so delivering needs no further copy and the node
// itself is the delivery handle. Validation of published messages and the
// one-block copy live here; queues, dispatchers and the ABI ops in
// memory_driver.cpp.
//
// Header-only and `static inline` on purpose: publish() calls mem_node_make()
// once per message; internal linkage in the driver's one translation unit
// lets the compiler inline it and the short-field copies (see mem_copy)
// exactly as when everything was one file.
#pragma once

#include <qplug/driver.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <qplug/sdk/parse.hpp>
#include <qplug/sdk/schedule_headers.hpp>
#include <qplug/sdk/status.hpp>

#include "memory_list.hpp"

namespace qplug::memory {

using qplug::sdk::fail;
using qplug::sdk::ScheduleHeaders;

constexpr size_t mem_size_class = 64;  // node blocks are rounded up to this, so they fit again

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
/* ------------------------------------------------------------------------ */
/* Messages: validation and the one-block copy                                */
/* ------------------------------------------------------------------------ */

// Bytes a header value needs in the block.
static inline size_t mem_value_bytes(const qplug_value& v) {
  return v.type == QPLUG_VALUE_STRING ? v.as.str.len : v.type == QPLUG_VALUE_BYTES ? v.as.bytes.len : 0;
}

// Copies `len` bytes to `dst`. Message fields are mostly short (ids, content
// types, header keys), and a call into libc's memcpy per field cost more
// than the copy itself: up to 32 bytes take two overlapping fixed-size moves.
static inline void mem_copy(char* dst, const char* src, size_t len) {
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
static inline const char* mem_put(char** cursor, const void* src, size_t len) {
  char* at = *cursor;
  mem_copy(at, static_cast<const char*>(src), len);
  *cursor += len;
  return at;
}

// Deep-copies a (validated) message into one node: `spare` (an acked node,
// may be NULL) when it is big enough, else a new block. Throws bad_alloc.
// Every field is written exactly once (no zero-fill first): this runs once
// per published message. The node gets the default priority; messages with
// schedule headers then go through mem_node_schedule().
static inline mem_node* mem_node_make(mem_queue* q, const qplug_message& m, mem_node* spare = nullptr) {
  size_t bytes = m.id.len + m.content_type.len + m.body.len;
  for (size_t h = 0; h < m.header_count; ++h) bytes += m.headers[h].key.len + mem_value_bytes(m.headers[h].value);
  size_t total = sizeof(mem_node) + m.header_count * sizeof(qplug_header) + bytes;
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
  n->priority = qplug::sdk::kDefaultPriority;
  n->capacity = total;
  auto* headers = reinterpret_cast<qplug_header*>(n + 1);  // sizeof(mem_node) keeps 8-byte alignment
  char* cursor = reinterpret_cast<char*>(headers + m.header_count);

  qplug_message& v = n->view;
  v.struct_size = sizeof(qplug_message);
  v.abi_major = QPLUG_ABI_MAJOR;
  v.abi_minor = QPLUG_ABI_MINOR;
  v.id = {mem_put(&cursor, m.id.ptr, m.id.len), m.id.len};
  v.content_type = {mem_put(&cursor, m.content_type.ptr, m.content_type.len), m.content_type.len};
  v.body = {reinterpret_cast<const uint8_t*>(mem_put(&cursor, m.body.ptr, m.body.len)), m.body.len};
  for (size_t h = 0; h < m.header_count; ++h) {
    const qplug_header& src = m.headers[h];
    qplug_header* dst = new (&headers[h]) qplug_header;
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
  v.headers = m.header_count == 0 ? nullptr : headers;
  v.header_count = m.header_count;
  v.attempts = 0;
  v.reserved = 0;
  return n;
}

// Applies a message's schedule headers to its fresh node: its priority, and
// the `delay` header is consumed (taken out of the header array; its bytes
// stay in the block, unused), so a delivery never shows it and a message
// republished from a delivery is not delayed twice.
static inline void mem_node_schedule(mem_node* n, const ScheduleHeaders& sched) {
  n->priority = static_cast<uint8_t>(sched.priority);
  if (sched.delay_index == ScheduleHeaders::kNone) return;
  auto* headers = const_cast<qplug_header*>(n->view.headers);  // points into the node's own block
  const size_t d = sched.delay_index, count = n->view.header_count;
  std::memmove(static_cast<void*>(&headers[d]), &headers[d + 1], (count - d - 1) * sizeof(qplug_header));
  n->view.header_count = count - 1;
  if (n->view.header_count == 0) n->view.headers = nullptr;
}

static inline void mem_node_free(mem_node* n) {
  n->~mem_node();
  std::free(n);
}

// Frees a null-terminated chain linked through next.
static inline void mem_chain_free(mem_node* n) {
  while (n != nullptr) {
    mem_node* next = n->next;
    mem_node_free(n);
    n = next;
  }
}

static inline void mem_list_free(mem_list& l) {
  if (l.tail != nullptr) l.tail->next = nullptr;
  mem_chain_free(l.head);
  l = mem_list{};
}

}  // namespace qplug::memory
