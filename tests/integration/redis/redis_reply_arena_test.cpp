// tests/integration/redis/redis_reply_arena_test.cpp -- the driver's
// arena-built hiredis replies (plugins/redis/rstream_reply_arena.cpp) have
// the same shape and bytes as hiredis' own, whether the bytes arrive at once
// or one at a time; a reply cut short by a protocol error is freed whole
// (ASan/LSan check the memory). No broker needed.
#include <gtest/gtest.h>
#include <hiredis.h>

#include <string>

#include "rstream_reply_arena.hpp"

namespace qplug::rstream {
namespace {

using namespace std::string_literals;

// A stream read: [[key, [[id, [field, value, ...]], ...]]] plus an integer,
// a nil, an empty array and a binary string, nested as XREADGROUP nests.
std::string sample_reply() {
  std::string big(70000, 'b');  // larger than one arena block
  std::string r = "*4\r\n";
  r += "*2\r\n$3\r\nkey\r\n*2\r\n";
  r += "*2\r\n$3\r\n1-0\r\n*4\r\n$2\r\nid\r\n$5\r\nm-0\0x\r\n$4\r\nbody\r\n$"s;  // binary id: a NUL inside
  r += std::to_string(big.size()) + "\r\n" + big + "\r\n";
  r += "*2\r\n$3\r\n2-0\r\n*-1\r\n";
  r += ":42\r\n$-1\r\n*0\r\n";
  return r;
}

void expect_same(const redisReply* a, const redisReply* b) {
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(a->type, b->type);
  EXPECT_EQ(a->integer, b->integer);
  ASSERT_EQ(a->len, b->len);
  if (a->str != nullptr || b->str != nullptr) {
    ASSERT_NE(a->str, nullptr);
    ASSERT_NE(b->str, nullptr);
    EXPECT_EQ(std::string(a->str, a->len), std::string(b->str, b->len));
    EXPECT_EQ(a->str[a->len], '\0');  // NUL-terminated like hiredis' strings
  }
  ASSERT_EQ(a->elements, b->elements);
  for (size_t i = 0; i < a->elements; ++i) ASSERT_NO_FATAL_FAILURE(expect_same(a->element[i], b->element[i]));
}

redisReply* parse(redisReader* r, const std::string& bytes, bool byte_by_byte) {
  void* out = nullptr;
  if (byte_by_byte) {
    for (size_t i = 0; i < bytes.size() && out == nullptr; ++i) {
      EXPECT_EQ(redisReaderFeed(r, bytes.data() + i, 1), REDIS_OK);
      EXPECT_EQ(redisReaderGetReply(r, &out), REDIS_OK);
    }
  } else {
    EXPECT_EQ(redisReaderFeed(r, bytes.data(), bytes.size()), REDIS_OK);
    EXPECT_EQ(redisReaderGetReply(r, &out), REDIS_OK);
  }
  return static_cast<redisReply*>(out);
}

TEST(RedisReplyArena, BuildsTheSameRepliesAsHiredis) {
  const std::string bytes = sample_reply() + "+OK\r\n-ERR no\r\n:7\r\n";
  redisReader* plain = redisReaderCreate();
  redisReader* arena = redisReaderCreate();
  ReplyArenaCursor cursor;
  use_reply_arenas(arena, &cursor);
  ASSERT_EQ(redisReaderFeed(plain, bytes.data(), bytes.size()), REDIS_OK);
  ASSERT_EQ(redisReaderFeed(arena, bytes.data(), bytes.size()), REDIS_OK);
  for (int i = 0; i < 4; ++i) {
    void* a = nullptr;
    void* b = nullptr;
    ASSERT_EQ(redisReaderGetReply(plain, &a), REDIS_OK);
    ASSERT_EQ(redisReaderGetReply(arena, &b), REDIS_OK);
    expect_same(static_cast<redisReply*>(a), static_cast<redisReply*>(b));
    freeReplyObject(a);
    free_reply(static_cast<redisReply*>(b));
  }
  redisReaderFree(plain);
  redisReaderFree(arena);
}

TEST(RedisReplyArena, BuildsRepliesFedOneByteAtATime) {
  redisReader* plain = redisReaderCreate();
  redisReader* arena = redisReaderCreate();
  ReplyArenaCursor cursor;
  use_reply_arenas(arena, &cursor);
  redisReply* a = parse(plain, sample_reply(), false);
  redisReply* b = parse(arena, sample_reply(), true);
  expect_same(a, b);
  freeReplyObject(a);
  free_reply(b);
  redisReaderFree(plain);
  redisReaderFree(arena);
}

TEST(RedisReplyArena, FreesAReplyCutShortByAProtocolError) {
  redisReader* arena = redisReaderCreate();
  ReplyArenaCursor cursor;
  use_reply_arenas(arena, &cursor);
  const std::string bad = "*3\r\n$3\r\nabc\r\n*2\r\n:1\r\n?bogus\r\n";
  void* out = nullptr;
  ASSERT_EQ(redisReaderFeed(arena, bad.data(), bad.size()), REDIS_OK);
  EXPECT_EQ(redisReaderGetReply(arena, &out), REDIS_ERR);
  EXPECT_EQ(out, nullptr);
  redisReaderFree(arena);  // LSan: the partial reply's blocks were freed
}

TEST(RedisReplyArena, FreesAPartialReplyWhenTheReaderGoes) {
  redisReader* arena = redisReaderCreate();
  ReplyArenaCursor cursor;
  use_reply_arenas(arena, &cursor);
  const std::string half = "*2\r\n$3\r\nabc\r\n";
  void* out = nullptr;
  ASSERT_EQ(redisReaderFeed(arena, half.data(), half.size()), REDIS_OK);
  EXPECT_EQ(redisReaderGetReply(arena, &out), REDIS_OK);
  EXPECT_EQ(out, nullptr);  // incomplete
  redisReaderFree(arena);   // LSan: freed through the arena's freeObject
}

}  // namespace
}  // namespace qplug::rstream
