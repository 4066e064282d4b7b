// bench/redis_bench_raw.hpp -- the raw hiredis baselines shared by the Redis
// benches (redis_bench: driver through the C ABI; redis_api_bench: through
// qplug::Runtime and Lua), plus the median helper both report with.
// Every raw message has the fields the driver writes for bench messages:
// id, ct, a 100-byte body and two typed headers.
#pragma once

#include <hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <qplug/sdk/url.hpp>
#include <string>
#include <vector>

namespace redis_bench {

using Clock = std::chrono::steady_clock;
constexpr int kBatch = 100;
inline const std::string kBody(100, 'x');

inline std::string g_url;
inline qplug::sdk::Url g_addr;

// Reads QPLUG_TEST_REDIS_URL (default: the test broker); false if malformed.
inline bool init_url(const char* who) {
  const char* env = std::getenv("QPLUG_TEST_REDIS_URL");
  g_url = env != nullptr && *env != '\0' ? env : "redis://127.0.0.1:6390/0";
  std::string why;
  auto u = qplug::sdk::parse_url(g_url, &why);
  if (!u) {
    std::fprintf(stderr, "%s: bad QPLUG_TEST_REDIS_URL: %s\n", who, why.c_str());
    return false;
  }
  g_addr = *u;
  return true;
}

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The median of the rounds (the box may be shared: medians of interleaved
// rounds resist one disturbed round either way).
inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

inline redisContext* raw_connect() {
  redisContext* c = redisConnect(g_addr.host.c_str(), g_addr.port == 0 ? 6379 : g_addr.port);
  if (c == nullptr || c->err != 0) {
    std::fprintf(stderr, "redis bench: cannot connect to %s\n", g_url.c_str());
    std::exit(1);
  }
  if (!g_addr.path.empty() && g_addr.path != "0") freeReplyObject(redisCommand(c, "SELECT %s", g_addr.path.c_str()));
  return c;
}

inline void raw_cmd(redisContext* c, const char* fmt, const std::string& a, const std::string& b = "") {
  freeReplyObject(redisCommand(c, fmt, a.c_str(), b.c_str()));
}

// Message IDs as long as the UUIDv7s qplug assigns, so both sides store the same bytes.
inline std::string raw_id(int i) {
  std::string id = 'm' + std::to_string(i);
  id.resize(36, '0');
  return id;
}

inline void append_xadd(redisContext* c, const std::string& key, int i) {
  std::string id = raw_id(i);
  const char* argv[] = {"XADD", key.c_str(),   "*",          "id",   id.c_str(), "ct",   "text/plain",
                        "body", kBody.c_str(), "h.s:tenant", "acme", "h.i:seq",  "12345"};
  size_t lens[13];
  for (int k = 0; k < 13; ++k) lens[k] = std::strlen(argv[k]);
  redisAppendCommandArgv(c, 13, argv, lens);
}

inline void drain(redisContext* c, int n) {
  for (int k = 0; k < n; ++k) {
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK) {
      std::fprintf(stderr, "redis bench: connection lost\n");
      std::exit(1);
    }
    freeReplyObject(r);
  }
}

// XADD pipelined in batches of `batch` (append all, then read all replies);
// batch 1 = one round trip per message.
inline double raw_publish(const std::string& key, int n, int batch = kBatch) {
  redisContext* c = raw_connect();
  auto t0 = Clock::now();
  for (int i = 0; i < n; i += batch) {
    for (int j = i; j < i + batch; ++j) append_xadd(c, key, j);
    drain(c, batch);
  }
  double s = seconds_since(t0);
  redisFree(c);
  return n / s;
}

// XREADGROUP COUNT 100, then one pipelined XACK per entry.
inline double raw_consume_ack(const std::string& key, int n) {
  redisContext* c = raw_connect();
  raw_cmd(c, "XGROUP CREATE %s %s 0 MKSTREAM", key, "rawgroup");
  int got = 0;
  auto t0 = Clock::now();
  while (got < n) {
    auto* r = static_cast<redisReply*>(
        redisCommand(c, "XREADGROUP GROUP rawgroup raw COUNT %d BLOCK 1000 STREAMS %s >", kBatch, key.c_str()));
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY) break;
    redisReply* entries = r->element[0]->element[1];
    for (size_t k = 0; k < entries->elements; ++k) {
      const char* argv[] = {"XACK", key.c_str(), "rawgroup", entries->element[k]->element[0]->str};
      size_t lens[] = {4, key.size(), 8, entries->element[k]->element[0]->len};
      redisAppendCommandArgv(c, 4, argv, lens);
    }
    drain(c, static_cast<int>(entries->elements));
    got += static_cast<int>(entries->elements);
    freeReplyObject(r);
  }
  double s = seconds_since(t0);
  redisFree(c);
  return got / s;
}

inline void delete_keys(const std::vector<std::string>& keys) {
  redisContext* c = raw_connect();
  for (const std::string& k : keys) raw_cmd(c, "DEL %s", k);
  redisFree(c);
}

inline void row(const char* what, double raw, double qp) {
  std::printf("%-40s %12.0f %12.0f %8.2fx\n", what, raw, qp, qp / raw);
}

}  // namespace redis_bench
