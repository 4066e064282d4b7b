// lua_bench.cpp -- the Lua binding's cost over the C++ API, memory driver:
//  - publish of a string body and of the seed's table, from Lua
//    (queue.publish in a Lua loop) and from C++ (Runtime::publish);
//  - handler dispatch through one worker: a Lua handler (decoded payload
//    pushed as a table, called, result mapped) vs a C++ handler doing the same
//    decode, beside the raw driver ABI draining the same messages (deliver
//    callback acks inline: no runtime, no worker thread) in the same run.
// Each figure is messages/s ("items_per_second"); dispatch benchmarks also
// report cpu_ns_per_msg, the process CPU time per message while draining,
// which a loaded machine disturbs far less than wall-clock time.
#include <benchmark/benchmark.h>
#include <qplug/driver.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <lua.hpp>
#include <memory>
#include <qplug/loader.hpp>
#include <qplug/lua.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>
#include <thread>

#include "abi_ack_counter.hpp"

namespace {

constexpr int kBatch = 1000;  // publishes per Lua call

constexpr const char* kYaml = R"(
version: 1
namespace: bench
entries:
  - {kind: queue.driver.memory, name: mem}
  - {kind: queue.queue, name: lua_string, driver: mem, driver_options: {memory: {max_length: 50000000}}}
  - {kind: queue.queue, name: cpp_string, driver: mem, driver_options: {memory: {max_length: 50000000}}}
  - {kind: queue.queue, name: lua_table, driver: mem, driver_options: {memory: {max_length: 50000000}}}
  - {kind: queue.queue, name: cpp_table, driver: mem, driver_options: {memory: {max_length: 50000000}}}
  - {kind: queue.queue, name: dispatch, driver: mem, driver_options: {memory: {max_length: 50000000}}}
)";

qplug::Runtime& runtime() {
  static std::unique_ptr<qplug::Runtime> rt = [] {
    auto cfg = qplug::parse_config(kYaml, "lua_bench.yaml");
    if (!cfg.ok()) std::abort();
    auto r = qplug::Runtime::create(std::move(*cfg));
    if (!r.ok()) {
      std::fprintf(stderr, "lua_bench: %s\n", r.status().to_string().c_str());
      std::abort();
    }
    return std::move(*r);
  }();
  return *rt;
}

const qplug::Value& seed_table() {
  static const qplug::Value v(qplug::Map{{"action", "send_email"}, {"user_id", int64_t{456}}, {"template", "welcome"}});
  return v;
}

// A state with the modules and a global run(n) publishing n messages.
lua_State* publisher_state(const char* body_expr, const char* queue_id) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  qplug::lua::open_modules(L, runtime());
  std::string code = std::string("local queue = require('queue')\nfunction run(n)\n  for i = 1, n do\n") +
                     "    local ok, err = queue.publish('" + queue_id + "', " + body_expr + ")\n" +
                     "    if not ok then error(tostring(err)) end\n  end\nend\n";
  if (luaL_dostring(L, code.c_str()) != LUA_OK) std::abort();
  return L;
}

void lua_publish(benchmark::State& state, const char* body_expr, const char* queue_id) {
  lua_State* L = publisher_state(body_expr, queue_id);
  for (auto _ : state) {
    lua_getglobal(L, "run");
    lua_pushinteger(L, kBatch);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
      state.SkipWithError(lua_tostring(L, -1));
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  lua_close(L);
}

void cpp_publish(benchmark::State& state, const qplug::Value& body, const char* queue_id) {
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      qplug::Status st = runtime().publish(queue_id, body);
      if (!st.ok()) {
        state.SkipWithError(st.to_string().c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_LuaPublishString(benchmark::State& s) { lua_publish(s, "'hello world'", "bench:lua_string"); }
void BM_CppPublishString(benchmark::State& s) { cpp_publish(s, qplug::Value("hello world"), "bench:cpp_string"); }
void BM_LuaPublishSeedTable(benchmark::State& s) {
  lua_publish(s, "{action = 'send_email', user_id = 456, template = 'welcome'}", "bench:lua_table");
}
void BM_CppPublishSeedTable(benchmark::State& s) { cpp_publish(s, seed_table(), "bench:cpp_table"); }

constexpr int kMessages = 20000;  // per dispatch iteration
constexpr uint32_t kDispatchPrefetch = 256;

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void report_cpu(benchmark::State& state, double cpu_seconds) {
  state.counters["cpu_ns_per_msg"] =
      cpu_seconds * 1e9 / static_cast<double>(std::max<int64_t>(1, state.iterations() * kMessages));
}

// Publishes n seed tables (untimed), then times one worker draining them.
void dispatch(benchmark::State& state, qplug::HandlerFactory factory) {
  double cpu = 0;
  for (auto _ : state) {
    for (int i = 0; i < kMessages; ++i) runtime().publish("bench:dispatch", seed_table()).ignore();
    const double cpu_start = process_cpu_seconds();
    auto start = std::chrono::steady_clock::now();
    qplug::ConsumerOptions o;
    o.concurrency = 1;
    o.prefetch = kDispatchPrefetch;
    auto sub = runtime().subscribe("bench:dispatch", o, factory);
    if (!sub.ok()) {
      state.SkipWithError(sub.status().to_string().c_str());
      return;
    }
    while ((*sub)->processed() < static_cast<uint64_t>(kMessages))
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    auto elapsed = std::chrono::steady_clock::now() - start;
    cpu += process_cpu_seconds() - cpu_start;
    (*sub)->stop().ignore();
    state.SetIterationTime(std::chrono::duration<double>(elapsed).count());
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
  report_cpu(state, cpu);
}

void BM_LuaHandlerDispatch(benchmark::State& s) {
  const std::string path = "/tmp/qplug_lua_bench_handler.lua";
  std::ofstream(path) << "function handle(payload)\n  if payload.user_id ~= 456 then return nil, 'bad' end\nend\n";
  qplug::HandlerFactory factory = [path](int) -> qplug::Result<qplug::Handler> {
    auto w = qplug::lua::Worker::create(runtime(), {}, path, "handle");
    if (!w.ok()) return w.status();
    std::shared_ptr<qplug::lua::Worker> worker(std::move(w).value());
    return qplug::Handler([worker](qplug::Delivery& d) { return worker->handle(d); });
  };
  dispatch(s, factory);
}

void BM_CppHandlerDispatch(benchmark::State& s) {
  dispatch(s, [](int) -> qplug::Result<qplug::Handler> {
    return qplug::Handler([](qplug::Delivery& d) {
      auto v = d.payload();  // the same decode the Lua worker does
      if (!v.ok() || v->find("user_id") == nullptr) return qplug::internal_error("bad");
      return qplug::ok_status();
    });
  });
}

// The raw ABI baseline for dispatch: the memory driver alone, the same
// JSON bodies pre-published, drained by a deliver callback that acks inline.
void BM_RawAbiDrain(benchmark::State& state) {
  std::string error;
  const qplug::loader::Plugin* plugin = qplug::loader::load_driver("memory", qplug::loader::search_dirs(), &error);
  if (plugin == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  const qplug_driver_v1* vt = plugin->vtable;
  qplug_status st{};
  qplug_driver* drv = vt->open(nullptr, nullptr, 0, &st);
  qplug_kv opts[] = {{{"max_length", 10}, {"50000000", 8}}};
  qplug_queue* q = drv != nullptr ? vt->declare(drv, {"rawdrain", 8}, opts, 1, &st) : nullptr;
  if (q == nullptr) {
    state.SkipWithError(st.message);
    return;
  }
  const std::string body = R"({"action":"send_email","user_id":456,"template":"welcome"})";
  const std::string id = "0190c6a2-bench-1", content_type = "application/json";
  auto msg = qplug::sdk::versioned<qplug_message>();
  msg.id = {id.data(), id.size()};
  msg.content_type = {content_type.data(), content_type.size()};
  msg.body = {reinterpret_cast<const uint8_t*>(body.data()), body.size()};
  const qplug_message* one = &msg;
  double cpu = 0;
  for (auto _ : state) {
    for (int i = 0; i < kMessages; ++i) {
      size_t accepted = 0;
      vt->publish(q, &one, 1, nullptr, nullptr, nullptr, &accepted, &st);
    }
    qplug_bench::AckCounter drain{vt, kMessages};
    auto so = qplug::sdk::versioned<qplug_subscribe_options>();
    so.prefetch = kDispatchPrefetch;
    const double cpu_start = process_cpu_seconds();
    auto start = std::chrono::steady_clock::now();
    qplug_consumer* c = vt->subscribe(q, &so, qplug_bench::AckCounter::ack_inline, &drain, &st);
    if (c == nullptr) {
      state.SkipWithError(st.message);
      break;
    }
    drain.wait_all();
    auto elapsed = std::chrono::steady_clock::now() - start;
    cpu += process_cpu_seconds() - cpu_start;
    vt->unsubscribe(c, &st);
    vt->consumer_free(c);
    state.SetIterationTime(std::chrono::duration<double>(elapsed).count());
  }
  vt->close(drv, 1000);
  state.SetItemsProcessed(state.iterations() * kMessages);
  report_cpu(state, cpu);
}

BENCHMARK(BM_LuaPublishString);
BENCHMARK(BM_CppPublishString);
BENCHMARK(BM_LuaPublishSeedTable);
BENCHMARK(BM_CppPublishSeedTable);
BENCHMARK(BM_LuaHandlerDispatch)->UseManualTime()->Iterations(5);
BENCHMARK(BM_CppHandlerDispatch)->UseManualTime()->Iterations(5);
BENCHMARK(BM_RawAbiDrain)->UseManualTime()->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
