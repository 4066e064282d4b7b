// bench/redis_bench.cpp -- messages/s through the qplug Redis driver (via the
// loader and the C ABI) beside raw hiredis doing the same work in the same
// run, on the same redis-server (QPLUG_TEST_REDIS_URL):
//   publish      raw: XADD pipelined in batches of 100 (append 100, read 100)
//                qplug: publish() batches of 100, sync and async (callback)
//   consume+ack  raw: XREADGROUP COUNT 100 + 100 pipelined XACKs
//                qplug: subscribe(prefetch 100), ack inside the callback
// Every message has the same fields either way (id, ct, 100-byte body, two
// headers). Usage: redis_bench [--messages N] [--rounds R] (default 200000,
// 5 rounds; each case's median over the interleaved rounds is reported).
#include <qplug/driver.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <qplug/loader.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>
#include <vector>

#include "redis_bench_raw.hpp"

namespace {

using namespace redis_bench;

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
    m.id = raw_id(first + j);
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
    int32_t rc =
        q.vt->publish(queue, ptrs.data(), ptrs.size(), nullptr, async ? +on_done : nullptr, &counts, nullptr, &st);
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
  long target = 0;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<long> got{0};
};

double qplug_consume_ack(Qplug& q, const std::string& key, int n) {
  qplug_status st = qplug::sdk::make_status();
  qplug_queue* queue = q.vt->declare(q.drv, {key.data(), key.size()}, nullptr, 0, &st);
  ConsumeCount c;
  c.vt = q.vt;
  c.target = n;
  auto o = qplug::sdk::versioned<qplug_subscribe_options>();
  o.prefetch = kBatch;
  auto t0 = Clock::now();
  qplug_consumer* cons = q.vt->subscribe(
      queue, &o,
      [](void* ud, qplug_delivery* d, const qplug_message*) {
        auto* cc = static_cast<ConsumeCount*>(ud);
        qplug_status s = qplug::sdk::make_status();
        cc->vt->settle(d, QPLUG_ACK, &s);
        if (++cc->got == cc->target) {  // wake the waiting thread once, not per batch
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

}  // namespace

int main(int argc, char** argv) {
  int n = 200000, rounds = 5;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--messages") == 0) n = std::max(kBatch, std::atoi(argv[i + 1]) / kBatch * kBatch);
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  if (!init_url("redis_bench")) return 2;
  std::string tag = "qplug-bench-" + std::to_string(Clock::now().time_since_epoch().count());
  Qplug q = qplug_open();

  // The box may be shared: run the pairs interleaved, several rounds, and
  // report each case's median with the raw baseline's median of the same run.
  std::printf("redis_bench: %d messages, 100-byte body, 2 headers, median of %d rounds, %s\n", n, rounds,
              g_url.c_str());
  std::vector<double> raw_pub, qp_sync, qp_async, raw_con, qp_con;
  std::vector<std::string> keys;
  for (int r = 0; r < rounds; ++r) {
    std::string k = tag + "-" + std::to_string(r);
    keys.insert(keys.end(), {k + "-raw", k + "-qp", k + "-qpa"});
    raw_pub.push_back(raw_publish(k + "-raw", n));
    qp_sync.push_back(qplug_publish(q, k + "-qp", n, false));
    qp_async.push_back(qplug_publish(q, k + "-qpa", n, true));
    // Consume what each side published (same field layout on both keys).
    raw_con.push_back(raw_consume_ack(k + "-raw", n));
    qp_con.push_back(qplug_consume_ack(q, k + "-qp", n));
    std::printf("  round %d: publish raw %.0f sync %.0f async %.0f | consume+ack raw %.0f qplug %.0f\n", r + 1,
                raw_pub.back(), qp_sync.back(), qp_async.back(), raw_con.back(), qp_con.back());
  }
  std::printf("%-40s %12s %12s %9s\n", "case (msg/s, medians)", "raw hiredis", "qplug", "ratio");
  row("publish, batches of 100 (sync)", median(raw_pub), median(qp_sync));
  row("publish, batches of 100 (async)", median(raw_pub), median(qp_async));
  row("consume+ack, 100 per read", median(raw_con), median(qp_con));

  q.vt->close(q.drv, 5000);
  delete_keys(keys);
  return 0;
}
