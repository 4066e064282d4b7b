// bench/redis_api_bench.cpp -- messages/s through qplug's public APIs on the
// Redis driver (qplug::Runtime from C++, and queue.publish from Lua when the
// binding is built) beside raw hiredis doing the same work in the same run,
// on the same redis-server (QPLUG_TEST_REDIS_URL):
//   publish, batches of 100  raw: 100 pipelined XADDs | Runtime::publish_batch(100 messages)
//   publish, one per call    raw: one XADD round trip | Runtime::publish(value, headers)
//   Lua publish, one per call   raw: one XADD round trip | queue.publish(id, body, headers) in a Lua loop
//   Lua publish, batches of 100 raw: 100 pipelined XADDs | queue.publish_batch(id, {100 items}, headers)
//   consume+ack              raw: XREADGROUP COUNT 100 + pipelined XACKs |
//                            Runtime::subscribe(prefetch 100, 1 worker), handler returns ok_status()
//   Lua consume+ack          the same raw | the same subscription with a Lua handler
//                            (lua::Worker: payload decoded into Lua, `return true`)
// Same fields either way (id, ct, 100-byte body, two headers).
// Usage: redis_api_bench [--messages N] [--rounds R] (default 100000, 5):
// one-per-call cases use N/10 messages (they measure round trips), run in
// interleaved slices of raw / C++ / Lua so that all see the same conditions.
#include <qplug/config.hpp>
#include <qplug/runtime.hpp>

#include "redis_bench_raw.hpp"
#ifdef QPLUG_BENCH_LUA
#include <lua.hpp>
#include <qplug/lua.hpp>
#endif

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>

namespace {

using namespace redis_bench;

std::string g_prefix;               // the driver's key_prefix: stream keys unique to this run
constexpr int kOneCallSlices = 10;  // one-per-call cases alternate in this many slices

std::unique_ptr<qplug::Runtime> open_runtime(int rounds) {
  std::string yaml =
      "version: 1\nnamespace: bench\nentries:\n"
      "  - {kind: queue.driver.redis, name: redis, url: '" +
      g_url + "', max_pending: 1000000, key_prefix: '" + g_prefix + "'}\n";
  for (int r = 0; r < rounds; ++r)
    for (const char* what : {"batch", "single", "lua", "luabatch"})
      yaml += "  - {kind: queue.queue, name: r" + std::to_string(r) + "_" + what + ", driver: redis}\n";
  auto cfg = qplug::parse_config(yaml, "redis_api_bench.yaml");
  if (!cfg.ok()) {
    std::fprintf(stderr, "redis_api_bench: %s\n", cfg.status().to_string().c_str());
    std::exit(1);
  }
  auto rt = qplug::Runtime::create(std::move(*cfg));
  if (!rt.ok()) {
    std::fprintf(stderr, "redis_api_bench: %s\n", rt.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(*rt);
}

void check(const qplug::Status& st, const char* what) {
  if (st.ok()) return;
  std::fprintf(stderr, "redis_api_bench: %s: %s\n", what, st.to_string().c_str());
  std::exit(1);
}

const qplug::Headers& bench_headers() {
  static const qplug::Headers h{{"tenant", std::string("acme")}, {"seq", int64_t{12345}}};
  return h;
}

double api_publish_batch(qplug::Runtime& rt, const std::string& queue_id, int n) {
  auto t0 = Clock::now();
  for (int i = 0; i < n; i += kBatch) {
    std::vector<qplug::Message> batch(kBatch);  // building messages is part of the work on both sides
    for (auto& m : batch) {
      m.content_type = "text/plain";
      m.body = kBody;
      m.headers = bench_headers();
    }
    check(rt.publish_batch(queue_id, std::move(batch)), "publish_batch");
  }
  return n / seconds_since(t0);
}

double api_publish_single(qplug::Runtime& rt, const std::string& queue_id, int n) {
  const qplug::Value body(kBody);
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) check(rt.publish(queue_id, body, bench_headers()), "publish");
  return n / seconds_since(t0);
}

// Drains n messages from queue_id through Runtime::subscribe (1 worker,
// prefetch 100), each handled by `handle`; msg/s from subscribe to the last.
double consume_ack(qplug::Runtime& rt, const std::string& queue_id, int n,
                   const std::function<qplug::Status(qplug::Delivery&)>& handle) {
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<long> got{0};
  Clock::time_point t_end{};
  qplug::ConsumerOptions o;
  o.concurrency = 1;
  o.prefetch = kBatch;
  auto t0 = Clock::now();
  auto sub = rt.subscribe(queue_id, o, [&](qplug::Delivery& d) {
    qplug::Status st = handle(d);
    if (++got == n) {
      std::lock_guard lock(mu);
      t_end = Clock::now();
      cv.notify_all();
    }
    return st;
  });
  check(sub.status(), "subscribe");
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(120), [&] { return got.load() >= n; })) t_end = Clock::now();
  }
  double rate = got.load() / std::chrono::duration<double>(t_end - t0).count();
  check((*sub)->stop(), "stop");
  return rate;
}

double api_consume_ack(qplug::Runtime& rt, const std::string& queue_id, int n) {
  return consume_ack(rt, queue_id, n, [](qplug::Delivery&) { return qplug::ok_status(); });
}

#ifdef QPLUG_BENCH_LUA
// A Lua state with the queue module bound to rt and `code` run in it.
lua_State* lua_with(qplug::Runtime& rt, const std::string& code) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  qplug::lua::open_modules(L, rt);
  if (luaL_dostring(L, code.c_str()) != LUA_OK) {
    std::fprintf(stderr, "redis_api_bench: %s\n", lua_tostring(L, -1));
    std::exit(1);
  }
  return L;
}

// Calls the global `run(n)`; returns msg/s.
double lua_run(lua_State* L, int n, const char* what) {
  auto t0 = Clock::now();
  lua_getglobal(L, "run");
  lua_pushinteger(L, n);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    std::fprintf(stderr, "redis_api_bench: %s: %s\n", what, lua_tostring(L, -1));
    std::exit(1);
  }
  double rate = n / seconds_since(t0);
  lua_close(L);
  return rate;
}

// Building the 100-item table is part of the work, as building the
// std::vector<Message> is on the C++ side.
double lua_publish_batch(qplug::Runtime& rt, const std::string& queue_id, int n) {
  lua_State* L = lua_with(rt,
                          "local queue = require('queue')\nlocal body = string.rep('x', 100)\n"
                          "function run(n)\n  for i = 1, n, " +
                              std::to_string(kBatch) +
                              " do\n"
                              "    local items = {}\n    for j = 1, " +
                              std::to_string(kBatch) +
                              " do items[j] = body end\n"
                              "    local ok, err = queue.publish_batch('" +
                              queue_id +
                              "', items, {tenant = 'acme', seq = 12345})\n"
                              "    if not ok then error(tostring(err)) end\n  end\nend\n");
  return lua_run(L, n, "Lua publish_batch");
}

double lua_consume_ack(qplug::Runtime& rt, const std::string& queue_id, int n) {
  const std::string path = "/tmp/qplug_redis_api_bench_handler.lua";
  std::ofstream(path) << "function handle(payload)\n  return true\nend\n";
  auto w = qplug::lua::Worker::create(rt, {}, path, "handle");
  check(w.status(), "Lua worker");
  std::unique_ptr<qplug::lua::Worker> worker = std::move(w).value();
  return consume_ack(rt, queue_id, n, [&](qplug::Delivery& d) { return worker->handle(d); });
}

double lua_publish_single(qplug::Runtime& rt, const std::string& queue_id, int n) {
  lua_State* L = lua_with(rt,
                          "local queue = require('queue')\nlocal body = string.rep('x', 100)\n"
                          "function run(n)\n  for i = 1, n do\n"
                          "    local ok, err = queue.publish('" +
                              queue_id +
                              "', body, {tenant = 'acme', seq = 12345})\n"
                              "    if not ok then error(tostring(err)) end\n  end\nend\n");
  return lua_run(L, n, "Lua publish");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  int n = 100000, rounds = 5;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--messages") == 0) n = std::max(10 * kBatch, std::atoi(argv[i + 1]) / kBatch * kBatch);
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  if (!init_url("redis_api_bench")) return 2;
  int n1 = n / 10;
  g_prefix = "qplug-apibench-" + std::to_string(Clock::now().time_since_epoch().count()) + "-";
  std::unique_ptr<qplug::Runtime> rt = open_runtime(rounds);
  std::printf("redis_api_bench: %d messages (%d one per call), 100-byte body, 2 headers, median of %d rounds, %s\n", n,
              n1, rounds, g_url.c_str());
  std::vector<double> raw_pub, api_pub, lua_pub, raw_one, api_one, lua_one, raw_con, api_con, lua_con;
  std::vector<std::string> keys;
  for (int r = 0; r < rounds; ++r) {
    std::string q = "bench:r" + std::to_string(r) + "_", k = g_prefix + "r" + std::to_string(r) + "_";
    keys.insert(keys.end(), {k + "raw", k + "raw1", k + "batch", k + "single", k + "lua", k + "luabatch"});
    raw_pub.push_back(raw_publish(k + "raw", n));
    api_pub.push_back(api_publish_batch(*rt, q + "batch", n));
#ifdef QPLUG_BENCH_LUA
    lua_pub.push_back(lua_publish_batch(*rt, q + "luabatch", n));
#endif
    // One-per-call cases measure a round trip's latency, which on a shared
    // VM flips between a fast and a slow mode from one second to the next:
    // interleave raw, C++ and Lua in slices so all three see the same modes.
    const int slice = std::max(1, n1 / kOneCallSlices);
    double raw_s = 0, api_s = 0, lua_s = 0;
    for (int done = 0; done < n1; done += slice) {
      raw_s += slice / raw_publish(k + "raw1", slice, 1);
      api_s += slice / api_publish_single(*rt, q + "single", slice);
#ifdef QPLUG_BENCH_LUA
      lua_s += slice / lua_publish_single(*rt, q + "lua", slice);
#endif
    }
    const int sent = (n1 + slice - 1) / slice * slice;
    raw_one.push_back(sent / raw_s);
    api_one.push_back(sent / api_s);
#ifdef QPLUG_BENCH_LUA
    lua_one.push_back(sent / lua_s);
#else
    (void)lua_s;
#endif
    raw_con.push_back(raw_consume_ack(k + "raw", n));
    api_con.push_back(api_consume_ack(*rt, q + "batch", n));
#ifdef QPLUG_BENCH_LUA
    lua_con.push_back(lua_consume_ack(*rt, q + "luabatch", n));
#endif
    auto last = [](const std::vector<double>& v) { return v.empty() ? 0.0 : v.back(); };
    std::printf(
        "  round %d: batch raw %.0f api %.0f lua %.0f | one raw %.0f api %.0f lua %.0f |"
        " consume+ack raw %.0f api %.0f lua %.0f\n",
        r + 1, raw_pub.back(), api_pub.back(), last(lua_pub), raw_one.back(), api_one.back(), last(lua_one),
        raw_con.back(), api_con.back(), last(lua_con));
  }
  std::printf("%-40s %12s %12s %9s\n", "case (msg/s, medians)", "raw hiredis", "qplug", "ratio");
  row("C++ publish_batch, batches of 100", median(raw_pub), median(api_pub));
  if (!lua_pub.empty()) row("Lua queue.publish_batch, batches of 100", median(raw_pub), median(lua_pub));
  row("C++ publish, one per call", median(raw_one), median(api_one));
  if (!lua_one.empty())
    row("Lua queue.publish, one per call", median(raw_one), median(lua_one));
  else
    std::printf("Lua queue.publish: not measured (built without the Lua binding)\n");
  row("C++ consume+ack, prefetch 100", median(raw_con), median(api_con));
  if (!lua_con.empty()) row("Lua handler consume+ack, prefetch 100", median(raw_con), median(lua_con));
  rt->stop();
  delete_keys(keys);
  return 0;
}
