// bench/memory_bench.cpp -- publish -> deliver -> ack through the driver ABI
// with the memory plugin, beside a raw in-process baseline (std::mutex +
// std::condition_variable + std::deque) moving the same messages with the
// same threads, in the same run.
//
// Message: a 16-byte id, a content type, a 64-byte body and 2 headers
// (string + int64). The qplug side copies it inside publish() (as every
// driver must); the raw side copies it into an owned struct per push.
//
// Benchmarks (args: producers, consumers, publish batch):
//   BM_QplugMemory/P/C/B   through loader + qplug_driver_v1; consumers ack inside deliver_cb
//   BM_RawMutexDeque/P/C   one push per lock, one pop per lock, the consumer drops the message
// items_per_second is messages moved end to end (published, delivered, acked).
#include <benchmark/benchmark.h>
#include <qplug/driver.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <qplug/loader.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>
#include <thread>
#include <vector>

#include "abi_ack_counter.hpp"

namespace {

constexpr int64_t kMessagesPerIteration = 200000;
constexpr int64_t kQueueBound = 4096;  // same bound for both sides
constexpr uint32_t kPrefetch = 256;

const std::string kId = "0190c6a2-bench-1";
const std::string kContentType = "application/json";
const std::string kBody(64, 'x');
const std::string kTrace = "00-4bf92f3577b34da6-00f067aa0ba902b7-01";

/* The raw baseline ---------------------------------------------------------- */

struct RawHeader {
  std::string key;
  int32_t type;
  int64_t i64;
  std::string data;
};
struct RawMessage {
  std::string id, content_type, body;
  std::vector<RawHeader> headers;
};

RawMessage raw_copy() {
  RawMessage m{kId, kContentType, kBody, {}};
  m.headers.reserve(2);
  m.headers.push_back({"traceparent", QPLUG_VALUE_STRING, 0, kTrace});
  m.headers.push_back({"n", QPLUG_VALUE_INT64, 42, {}});
  return m;
}

// Consumers bump `done` once per message, so it sits on a cache line of its
// own, as qplug's side does (see abi_ack_counter.hpp).
struct alignas(64) DoneCounter {
  std::atomic<int64_t> done{0};
};

struct RawQueue {
  std::mutex mu;
  std::condition_variable not_empty, not_full;
  std::deque<RawMessage> items;
  bool stop = false;
};

void BM_RawMutexDeque(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0)), consumers = static_cast<int>(state.range(1));
  RawQueue q;
  DoneCounter counter;  // consumers bump it per message; a cache line of its own
  std::atomic<int64_t>& done = counter.done;
  std::vector<std::thread> cthreads;
  for (int c = 0; c < consumers; ++c)
    cthreads.emplace_back([&] {
      for (;;) {
        RawMessage m;
        {
          std::unique_lock lock(q.mu);
          q.not_empty.wait(lock, [&] { return q.stop || !q.items.empty(); });
          if (q.items.empty()) return;
          m = std::move(q.items.front());
          q.items.pop_front();
        }
        q.not_full.notify_one();
        benchmark::DoNotOptimize(m.body.data());
        if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == kMessagesPerIteration) done.notify_all();
      }  // "ack": the message is dropped here
    });
  for (auto _ : state) {
    done.store(0);
    std::vector<std::thread> pthreads;
    for (int p = 0; p < producers; ++p)
      pthreads.emplace_back([&, p] {
        int64_t mine = kMessagesPerIteration / producers + (p < kMessagesPerIteration % producers ? 1 : 0);
        for (int64_t i = 0; i < mine; ++i) {
          RawMessage m = raw_copy();
          {
            std::unique_lock lock(q.mu);
            q.not_full.wait(lock, [&] { return static_cast<int64_t>(q.items.size()) < kQueueBound; });
            q.items.push_back(std::move(m));
          }
          q.not_empty.notify_one();
        }
      });
    for (auto& t : pthreads) t.join();
    for (int64_t v = done.load(); v < kMessagesPerIteration; v = done.load()) done.wait(v);
  }
  {
    std::lock_guard lock(q.mu);
    q.stop = true;
  }
  q.not_empty.notify_all();
  for (auto& t : cthreads) t.join();
  state.SetItemsProcessed(state.iterations() * kMessagesPerIteration);
}

/* qplug through the ABI ----------------------------------------------------- */

const qplug_driver_v1* memory_vtable() {
  static const qplug_driver_v1* vt = [] {
    std::string error;
    const qplug::loader::Plugin* p = qplug::loader::load_driver("memory", qplug::loader::search_dirs(), &error);
    if (p == nullptr) {
      std::fprintf(stderr, "memory_bench: %s\n", error.c_str());
      std::exit(1);
    }
    return p->vtable;
  }();
  return vt;
}

void BM_QplugMemory(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0)), consumers = static_cast<int>(state.range(1));
  const size_t batch = static_cast<size_t>(state.range(2));
  const qplug_driver_v1* vt = memory_vtable();
  qplug_status st = qplug::sdk::make_status();
  qplug_driver* drv = vt->open(nullptr, nullptr, 0, &st);
  std::string bound = std::to_string(kQueueBound);
  qplug_kv opts[] = {{{"max_length", 10}, {bound.data(), bound.size()}}};
  qplug_queue* q = drv ? vt->declare(drv, {"bench", 5}, opts, 1, &st) : nullptr;
  if (q == nullptr) {
    state.SkipWithError(st.message);
    return;
  }
  qplug_bench::AckCounter counter{vt, kMessagesPerIteration};
  std::vector<qplug_consumer*> subs;
  for (int c = 0; c < consumers; ++c) {
    auto so = qplug::sdk::versioned<qplug_subscribe_options>();
    so.prefetch = kPrefetch;
    subs.push_back(vt->subscribe(q, &so, qplug_bench::AckCounter::ack_inline, &counter, &st));
  }

  qplug_header headers[2] = {};
  headers[0].key = {"traceparent", 11};
  headers[0].value.type = QPLUG_VALUE_STRING;
  headers[0].value.as.str = {kTrace.data(), kTrace.size()};
  headers[1].key = {"n", 1};
  headers[1].value.type = QPLUG_VALUE_INT64;
  headers[1].value.as.i64 = 42;
  auto msg = qplug::sdk::versioned<qplug_message>();
  msg.id = {kId.data(), kId.size()};
  msg.content_type = {kContentType.data(), kContentType.size()};
  msg.body = {reinterpret_cast<const uint8_t*>(kBody.data()), kBody.size()};
  msg.headers = headers;
  msg.header_count = 2;
  std::vector<const qplug_message*> ptrs(batch, &msg);

  std::atomic<int64_t> failures{0};
  for (auto _ : state) {
    counter.done.store(0);
    std::vector<std::thread> pthreads;
    for (int p = 0; p < producers; ++p)
      pthreads.emplace_back([&, p] {
        int64_t mine = kMessagesPerIteration / producers + (p < kMessagesPerIteration % producers ? 1 : 0);
        while (mine > 0) {
          size_t n = static_cast<size_t>(std::min<int64_t>(mine, static_cast<int64_t>(batch)));
          size_t accepted = 0;
          qplug_status pst;
          if (vt->publish(q, ptrs.data(), n, nullptr, nullptr, nullptr, &accepted, &pst) != QPLUG_OK)
            failures.fetch_add(1);
          mine -= static_cast<int64_t>(accepted);
        }
      });
    for (auto& t : pthreads) t.join();
    counter.wait_all();
  }
  for (qplug_consumer* c : subs) {
    vt->unsubscribe(c, &st);
    vt->consumer_free(c);
  }
  vt->close(drv, 1000);
  if (failures.load() != 0) state.SkipWithError("publish failed (FULL after the timeout?)");
  state.SetItemsProcessed(state.iterations() * kMessagesPerIteration);
}

BENCHMARK(BM_RawMutexDeque)
    ->ArgNames({"P", "C"})
    ->Args({1, 1})
    ->Args({4, 4})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QplugMemory)
    ->ArgNames({"P", "C", "batch"})
    ->Args({1, 1, 1})
    ->Args({1, 1, 64})
    ->Args({4, 4, 1})
    ->Args({4, 4, 64})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
