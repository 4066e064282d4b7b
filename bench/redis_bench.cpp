// bench/redis_bench.cpp -- messages/s through the qplug Redis driver (via the
// loader and the C ABI) beside raw hiredis doing the same work in the same
// run, on the same redis-server (QPLUG_TEST_REDIS_URL):
//   publish      raw: XADD pipelined in batches of 100 (append 100, read 100)
//                qplug: publish() batches of 100, sync and async (callback)
//   consume+ack  raw: XREADGROUP COUNT 100 + 100 pipelined XACKs
//                qplug: subscribe(prefetch 100), ack inside the callback
// Every message has the same fields either way (id, ct, 100-byte body, two
// headers). Usage: redis_bench [--messages N] (default 200000).
#include <qplug/driver.h>
#include <qplug/loader.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/url.hpp>

#include <hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kBatch = 100;
const std::string kBody(100, 'x');

std::string g_url;
qplug::sdk::Url g_addr;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

redisContext* raw_connect() {
  redisContext* c = redisConnect(g_addr.host.c_str(), g_addr.port == 0 ? 6379 : g_addr.port);
  if (c == nullptr || c->err != 0) {
    std::fprintf(stderr, "redis_bench: cannot connect to %s\n", g_url.c_str());
    std::exit(1);
  }
  if (!g_addr.path.empty() && g_addr.path != "0") freeReplyObject(redisCommand(c, "SELECT %s", g_addr.path.c_str()));
  return c;
}

void raw_cmd(redisContext* c, const char* fmt, const std::string& a, const std::string& b = "") {
  freeReplyObject(redisCommand(c, fmt, a.c_str(), b.c_str()));
}

// The same fields the driver writes for bench messages.
void append_xadd(redisContext* c, const std::string& key, int i) {
  std::string id = "m" + std::to_string(i);
  const char* argv[] = {"XADD", key.c_str(), "*", "id", id.c_str(), "ct", "text/plain", "body", kBody.c_str(),
                        "h.s:tenant", "acme", "h.i:seq", "12345"};
  size_t lens[13];
  for (int k = 0; k < 13; ++k) lens[k] = std::strlen(argv[k]);
  redisAppendCommandArgv(c, 13, argv, lens);
}

void drain(redisContext* c, int n) {
  for (int k = 0; k < n; ++k) {
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK) {
      std::fprintf(stderr, "redis_bench: connection lost\n");
      std::exit(1);
    }
    freeReplyObject(r);
  }
}

double raw_publish(const std::string& key, int n) {
  redisContext* c = raw_connect();
  auto t0 = Clock::now();
  for (int i = 0; i < n; i += kBatch) {
    for (int j = i; j < i + kBatch; ++j) append_xadd(c, key, j);
    drain(c, kBatch);
  }
  double s = seconds_since(t0);
  redisFree(c);
  return n / s;
}

double raw_consume_ack(const std::string& key, int n) {
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

struct Qplug {
  const qplug_driver_v1* vt = nullptr;
  qplug_driver* drv = nullptr;
};

Qplug qplug_open() {
  std::string error;
  const qplug::loader::Plugin* p = qplug::loader::load_driver("redis", qplug::loader::search_dirs(), &error);
  if (p == nullptr) {
    std::fprintf(stderr, "redis_bench: %s\n", error.c_str());
    std::exit(1);
  }
  qplug_kv kv[] = {{{"url", 3}, {g_url.data(), g_url.size()}}, {{"max_pending", 11}, {"1000000", 7}}};
  qplug_status st = qplug::sdk::make_status();
  Qplug q{p->vtable, p->vtable->open(nullptr, kv, 2, &st)};
  if (q.drv == nullptr) {
    std::fprintf(stderr, "redis_bench: open: %s\n", st.message);
    std::exit(1);
  }
  return q;
}

std::vector<qplug::sdk::OwnedMessage> make_batch(int first) {
  std::vector<qplug::sdk::OwnedMessage> out(kBatch);
  for (int j = 0; j < kBatch; ++j) {
    auto& m = out[j];
    m.id = "m" + std::to_string(first + j);
    m.content_type = "text/plain";
    m.body = kBody;
    m.headers.push_back({"tenant", QPLUG_VALUE_STRING, 0, 0, "acme"});
    m.headers.push_back({"seq", QPLUG_VALUE_INT64, 12345, 0, ""});
  }
  return out;
}

struct AsyncCount {
  std::mutex mu;
  std::condition_variable cv;
  long done = 0;
  long failed = 0;
};

double qplug_publish(Qplug& q, const std::string& key, int n, bool async) {
  qplug_status st = qplug::sdk::make_status();
  qplug_queue* queue = q.vt->declare(q.drv, {key.data(), key.size()}, nullptr, 0, &st);
  AsyncCount counts;
  auto on_done = [](void* ud, const qplug_status* s, size_t accepted) {
    auto* c = static_cast<AsyncCount*>(ud);
    std::lock_guard lock(c->mu);
    c->done += kBatch;
    c->failed += kBatch - static_cast<long>(accepted);
    (void)s;
    c->cv.notify_all();
  };
  auto t0 = Clock::now();
  for (int i = 0; i < n; i += kBatch) {
    auto batch = make_batch(i);  // building messages is part of the work on both sides
    std::vector<const qplug_message*> ptrs;
    for (auto& m : batch) ptrs.push_back(&m.view());
    int32_t rc = q.vt->publish(queue, ptrs.data(), ptrs.size(), nullptr, async ? +on_done : nullptr, &counts,
                               nullptr, &st);
    if (rc != QPLUG_OK) {
      std::fprintf(stderr, "redis_bench: publish: %s\n", st.message);
      std::exit(1);
    }
  }
  if (async) {
    std::unique_lock lock(counts.mu);
    counts.cv.wait(lock, [&] { return counts.done >= n; });
    if (counts.failed > 0) std::fprintf(stderr, "redis_bench: %ld async publishes failed\n", counts.failed);
  }
  return n / seconds_since(t0);
}

struct ConsumeCount {
  const qplug_driver_v1* vt = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<long> got{0};
};

double qplug_consume_ack(Qplug& q, const std::string& key, int n) {
  qplug_status st = qplug::sdk::make_status();
  qplug_queue* queue = q.vt->declare(q.drv, {key.data(), key.size()}, nullptr, 0, &st);
  ConsumeCount c;
  c.vt = q.vt;
  qplug_subscribe_options o{};
  o.struct_size = sizeof o;
  o.abi_major = QPLUG_ABI_MAJOR;
  o.abi_minor = QPLUG_ABI_MINOR;
  o.prefetch = kBatch;
  auto t0 = Clock::now();
  qplug_consumer* cons = q.vt->subscribe(
      queue, &o,
      [](void* ud, qplug_delivery* d, const qplug_message*) {
        auto* cc = static_cast<ConsumeCount*>(ud);
        qplug_status s = qplug::sdk::make_status();
        cc->vt->settle(d, QPLUG_ACK, &s);
        if (++cc->got % kBatch == 0) {
          std::lock_guard lock(cc->mu);
          cc->cv.notify_all();
        }
      },
      &c, &st);
  {
    std::unique_lock lock(c.mu);
    c.cv.wait_for(lock, std::chrono::seconds(120), [&] { return c.got.load() >= n; });
  }
  double rate = c.got.load() / seconds_since(t0);
  q.vt->unsubscribe(cons, &st);
  q.vt->consumer_free(cons);
  return rate;
}

void row(const char* what, double raw, double qp) {
  std::printf("%-34s %12.0f %12.0f %8.2fx\n", what, raw, qp, qp / raw);
}

}  // namespace

int main(int argc, char** argv) {
  int n = 200000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--messages") == 0) n = std::max(kBatch, std::atoi(argv[i + 1]) / kBatch * kBatch);
  const char* env = std::getenv("QPLUG_TEST_REDIS_URL");
  g_url = env != nullptr && *env != '\0' ? env : "redis://127.0.0.1:6390/0";
  std::string why;
  auto u = qplug::sdk::parse_url(g_url, &why);
  if (!u) {
    std::fprintf(stderr, "redis_bench: bad QPLUG_TEST_REDIS_URL: %s\n", why.c_str());
    return 2;
  }
  g_addr = *u;
  std::string tag = "qplug-bench-" + std::to_string(Clock::now().time_since_epoch().count());
  Qplug q = qplug_open();

  // The box may be shared: run the pairs interleaved, several rounds, and
  // report each case's best round (the least disturbed one).
  int rounds = n >= 10000 ? 3 : 1;
  std::printf("redis_bench: %d messages, 100-byte body, 2 headers, best of %d rounds, %s\n", n, rounds, g_url.c_str());
  double raw_pub = 0, qp_sync = 0, qp_async = 0, raw_con = 0, qp_con = 0;
  std::vector<std::string> keys;
  for (int r = 0; r < rounds; ++r) {
    std::string k = tag + "-" + std::to_string(r);
    keys.insert(keys.end(), {k + "-raw", k + "-qp", k + "-qpa"});
    raw_pub = std::max(raw_pub, raw_publish(k + "-raw", n));
    qp_sync = std::max(qp_sync, qplug_publish(q, k + "-qp", n, false));
    qp_async = std::max(qp_async, qplug_publish(q, k + "-qpa", n, true));
    // Consume what each side published (same field layout on both keys).
    raw_con = std::max(raw_con, raw_consume_ack(k + "-raw", n));
    qp_con = std::max(qp_con, qplug_consume_ack(q, k + "-qp", n));
  }
  std::printf("%-34s %12s %12s %9s\n", "case (msg/s)", "raw hiredis", "qplug", "ratio");
  row("publish, batches of 100 (sync)", raw_pub, qp_sync);
  row("publish, batches of 100 (async)", raw_pub, qp_async);
  row("consume+ack, 100 per read", raw_con, qp_con);

  q.vt->close(q.drv, 5000);
  redisContext* c = raw_connect();
  for (const std::string& k : keys) raw_cmd(c, "DEL %s", k);
  redisFree(c);
  return 0;
}
