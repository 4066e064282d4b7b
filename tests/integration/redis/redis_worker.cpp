// tests/integration/redis/redis_worker.cpp -- a consumer PROCESS for the
// crash test: subscribes through the plugin's ABI (via the loader) and
// appends the ID of every message it acks to a file, one per line, flushed
// before the ack (so a line means "processed").
//
//   redis_worker QUEUE GROUP OUTFILE MODE CLAIM_IDLE
//     MODE all   : ack everything
//     MODE half  : ack every second delivery, hold the rest unsettled forever
// Runs until SIGTERM (clean unsubscribe) or SIGKILL (the test's crash).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <mutex>
#include <qplug/sdk/versioned.hpp>
#include <string>
#include <thread>

#include "redis_it.hpp"

namespace {
struct Worker {
  const qplug_driver_v1* vt = nullptr;
  FILE* out = nullptr;
  bool half = false;
  std::mutex mu;
  unsigned long n = 0;
};

volatile std::sig_atomic_t g_stop = 0;

void on_delivery(void* ud, qplug_delivery* d, const qplug_message* m) {
  auto* w = static_cast<Worker*>(ud);
  std::lock_guard lock(w->mu);
  qplug_status st = qplug::sdk::make_status();
  if (w->half && (w->n++ % 2) == 1) return;  // held: never settled, the crash leaves it pending
  std::fprintf(w->out, "%.*s\n", static_cast<int>(m->id.len), m->id.ptr);
  std::fflush(w->out);
  w->vt->settle(d, QPLUG_ACK, &st);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s QUEUE GROUP OUTFILE all|half CLAIM_IDLE\n", argv[0]);
    return 2;
  }
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::string error;
  Worker w;
  w.vt = qplug::redis_it::load_redis(&error);
  if (w.vt == nullptr) {
    std::fprintf(stderr, "redis_worker: %s\n", error.c_str());
    return 1;
  }
  w.half = std::string(argv[4]) == "half";
  w.out = std::fopen(argv[3], "a");
  if (w.out == nullptr) {
    std::perror(argv[3]);
    return 1;
  }
  qplug_status st = qplug::sdk::make_status();
  qplug_driver* drv = qplug::redis_it::open_redis(w.vt, {{"claim_idle", argv[5]}, {"block", "200ms"}}, &st);
  qplug_queue* q = drv == nullptr ? nullptr : qplug::redis_it::declare(w.vt, drv, argv[1], &st);
  if (q == nullptr) {
    std::fprintf(stderr, "redis_worker: %s\n", st.message);
    return 1;
  }
  std::string group = argv[2];
  auto opts = qplug::sdk::versioned<qplug_subscribe_options>();
  opts.prefetch = 20;
  opts.group = {group.data(), group.size()};
  qplug_consumer* c = w.vt->subscribe(q, &opts, on_delivery, &w, &st);
  if (c == nullptr) {
    std::fprintf(stderr, "redis_worker: subscribe: %s\n", st.message);
    return 1;
  }
  std::fprintf(stdout, "ready\n");
  std::fflush(stdout);
  while (g_stop == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  w.vt->unsubscribe(c, &st);
  w.vt->consumer_free(c);
  w.vt->close(drv, 5000);
  std::fclose(w.out);
  return 0;
}
