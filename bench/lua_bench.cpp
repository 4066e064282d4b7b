// lua_bench.cpp -- the Lua binding's cost over the C++ API, memory driver:
//  - publish of a string body and of the seed's table, from Lua
//    (queue.publish in a Lua loop) and from C++ (Runtime::publish);
//  - handler dispatch through one worker: a Lua handler (decoded payload
//    pushed as a table, called, result mapped) vs an empty C++ handler.
// Each figure is messages/s ("items_per_second").
#include <benchmark/benchmark.h>
#include <qplug/lua.hpp>

#include <lua.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

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

// Publishes n seed tables (untimed), then times one worker draining them.
void dispatch(benchmark::State& state, qplug::HandlerFactory factory) {
  constexpr int kMessages = 20000;
  for (auto _ : state) {
    for (int i = 0; i < kMessages; ++i) runtime().publish("bench:dispatch", seed_table()).ignore();
    auto start = std::chrono::steady_clock::now();
    qplug::ConsumerOptions o;
    o.concurrency = 1;
    o.prefetch = 256;
    auto sub = runtime().subscribe("bench:dispatch", o, factory);
    if (!sub.ok()) {
      state.SkipWithError(sub.status().to_string().c_str());
      return;
    }
    while ((*sub)->processed() < static_cast<uint64_t>(kMessages)) std::this_thread::sleep_for(std::chrono::microseconds(100));
    auto elapsed = std::chrono::steady_clock::now() - start;
    (*sub)->stop().ignore();
    state.SetIterationTime(std::chrono::duration<double>(elapsed).count());
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
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

BENCHMARK(BM_LuaPublishString);
BENCHMARK(BM_CppPublishString);
BENCHMARK(BM_LuaPublishSeedTable);
BENCHMARK(BM_CppPublishSeedTable);
BENCHMARK(BM_LuaHandlerDispatch)->UseManualTime()->Iterations(5);
BENCHMARK(BM_CppHandlerDispatch)->UseManualTime()->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
