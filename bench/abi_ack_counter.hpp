// bench/abi_ack_counter.hpp -- the deliver callback the ABI benches use:
// ack inline through the driver's vtable and count, until `target` messages.
//
// The counter sits on a cache line of its own: next to the locals that the
// publishing threads read on every call, each increment also evicted those
// from the publisher's core (false sharing in the harness itself, measured
// as ~17% of all cycles in memory_bench).
#pragma once

#include <benchmark/benchmark.h>
#include <qplug/driver.h>

#include <atomic>
#include <cstdint>

namespace qplug_bench {

struct alignas(64) AckCounter {
  const qplug_driver_v1* vt;
  int64_t target;  // done.notify_all() once this many are acked
  std::atomic<int64_t> done{0};

  // A qplug_deliver_fn with an AckCounter as host_ud.
  static void ack_inline(void* ud, qplug_delivery* d, const qplug_message* m) {
    auto* c = static_cast<AckCounter*>(ud);
    benchmark::DoNotOptimize(m->body.ptr);
    qplug_status st;
    c->vt->settle(d, QPLUG_ACK, &st);
    if (c->done.fetch_add(1, std::memory_order_acq_rel) + 1 == c->target) c->done.notify_all();
  }

  // Blocks until `target` messages were acked.
  void wait_all() {
    for (int64_t v = done.load(); v < target; v = done.load()) done.wait(v);
  }
};

}  // namespace qplug_bench
