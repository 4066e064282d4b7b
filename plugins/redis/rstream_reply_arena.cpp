// rstream_reply_arena.cpp -- arena-built hiredis replies (see the header).
//
// Layout: a reply is a chain of blocks; the first block starts with the
// top-level redisReply right after the block header, so free_reply() finds
// the chain from the reply pointer alone. Children are attached to their
// parent's element array as they are created, as hiredis' own builder does.
#include "rstream_reply_arena.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace qplug::rstream {

#if HIREDIS_MAJOR == 0

namespace {

struct alignas(std::max_align_t) ArenaBlock {
  ArenaBlock* next;
  size_t size;  // usable bytes after the header
  size_t used;
};

constexpr size_t kSmallReply = 256;       // a status, integer or one XADD ID
constexpr size_t kMaxBlock = 64 * 1024;   // growth stops here (big replies: more blocks)
constexpr size_t kBytesPerElement = 192;  // first-block guess per top-level array element
// An array's element count arrives before its elements, so a bad count
// ("*666666666") must not make the reader allocate and touch gigabytes:
// beyond this (far more than any reply the driver asks for: COUNT is at most
// the prefetch) the reply is refused and hiredis fails the connection
// (tests/fuzz/corpus/redis_reply_fuzz/regress-huge-array-count.resp).
constexpr size_t kMaxArrayElements = size_t{1} << 24;

char* arena_data(ArenaBlock* b) { return reinterpret_cast<char*>(b + 1); }

ArenaBlock* arena_new_block(size_t size) {
  void* mem = std::malloc(sizeof(ArenaBlock) + size);
  if (mem == nullptr) return nullptr;
  auto* b = static_cast<ArenaBlock*>(mem);
  b->next = nullptr;
  b->size = size;
  b->used = 0;
  return b;
}

// `n` bytes aligned for a redisReply (or pointer array) from the reply being
// built; NULL when out of memory (hiredis then reports an OOM error).
void* arena_alloc(ReplyArenaCursor* cur, size_t n) {
  n = (n + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
  auto* last = static_cast<ArenaBlock*>(cur->last);
  if (last->used + n > last->size) {
    ArenaBlock* b = arena_new_block(std::max(n, std::min(2 * last->size, kMaxBlock)));
    if (b == nullptr) return nullptr;
    last->next = b;
    cur->last = b;
    last = b;
  }
  void* p = arena_data(last) + last->used;
  last->used += n;
  return p;
}

// `n` zeroed bytes. A large element array gets a block of its own from
// calloc, whose fresh pages the kernel zeroes only as they are touched.
void* arena_alloc_zeroed(ReplyArenaCursor* cur, size_t n) {
  if (n <= kMaxBlock) {
    void* p = arena_alloc(cur, n);
    if (p != nullptr) std::memset(p, 0, n);
    return p;
  }
  void* mem = std::calloc(1, sizeof(ArenaBlock) + n);
  if (mem == nullptr) return nullptr;
  auto* b = static_cast<ArenaBlock*>(mem);
  b->size = b->used = n;
  static_cast<ArenaBlock*>(cur->last)->next = b;
  cur->last = b;
  return arena_data(b);
}

// A zeroed redisReply of `type` in the current reply, attached to its parent;
// a task without parent starts a new reply with a first block of `first_block` bytes.
redisReply* arena_reply(const redisReadTask* task, int type, size_t first_block) {
  auto* cur = static_cast<ReplyArenaCursor*>(task->privdata);
  if (task->parent == nullptr) {
    ArenaBlock* b = arena_new_block(std::max(first_block, sizeof(redisReply)));
    if (b == nullptr) return nullptr;
    cur->first = cur->last = b;
  }
  auto* r = static_cast<redisReply*>(arena_alloc(cur, sizeof(redisReply)));
  if (r == nullptr) return nullptr;
  std::memset(r, 0, sizeof(redisReply));
  r->type = type;
  if (task->parent != nullptr) {
    auto* parent = static_cast<redisReply*>(task->parent->obj);
    parent->element[task->idx] = r;
  }
  return r;
}

void* arena_create_string(const redisReadTask* task, char* str, size_t len) {
  redisReply* r = arena_reply(task, task->type, kSmallReply + len);
  if (r == nullptr) return nullptr;
  auto* copy = static_cast<char*>(arena_alloc(static_cast<ReplyArenaCursor*>(task->privdata), len + 1));
  if (copy == nullptr) return nullptr;
  if (len > 0) std::memcpy(copy, str, len);
  copy[len] = '\0';
  r->str = copy;
  r->len = len;
  return r;
}

void* arena_create_array(const redisReadTask* task, int elements) {
  const size_t n = elements > 0 ? static_cast<size_t>(elements) : 0;
  if (n > kMaxArrayElements) return nullptr;
  redisReply* r = arena_reply(task, REDIS_REPLY_ARRAY, std::min(kMaxBlock, kSmallReply + n * kBytesPerElement));
  if (r == nullptr) return nullptr;
  r->elements = n;
  if (n > 0) {
    // Zeroed: a reply cut short leaves the rest NULL.
    auto** elems = static_cast<redisReply**>(
        arena_alloc_zeroed(static_cast<ReplyArenaCursor*>(task->privdata), n * sizeof(redisReply*)));
    if (elems == nullptr) return nullptr;
    r->element = elems;
  }
  return r;
}

void* arena_create_integer(const redisReadTask* task, long long value) {
  redisReply* r = arena_reply(task, REDIS_REPLY_INTEGER, kSmallReply);
  if (r != nullptr) r->integer = value;
  return r;
}

void* arena_create_nil(const redisReadTask* task) { return arena_reply(task, REDIS_REPLY_NIL, kSmallReply); }

// hiredis calls this only for a top-level reply (one cut short by an error,
// or left when the reader is freed).
void arena_free_object(void* reply) { free_reply(static_cast<redisReply*>(reply)); }

redisReplyObjectFunctions arena_functions = {
    arena_create_string, arena_create_array, arena_create_integer, arena_create_nil, arena_free_object,
};

}  // namespace

void use_reply_arenas(redisReader* reader, ReplyArenaCursor* cursor) {
  reader->fn = &arena_functions;
  reader->privdata = cursor;
}

void free_reply(redisReply* reply) {
  if (reply == nullptr) return;
  auto* b = reinterpret_cast<ArenaBlock*>(reply) - 1;  // a top-level reply opens its first block
  while (b != nullptr) {
    ArenaBlock* next = b->next;
    std::free(b);
    b = next;
  }
}

#else  // hiredis >= 1.0: keep its own builder.

void use_reply_arenas(redisReader*, ReplyArenaCursor*) {}
void free_reply(redisReply* reply) { freeReplyObject(reply); }

#endif

}  // namespace qplug::rstream
