// lua_embed_test.cpp -- the C++ embedding API of the Lua binding
// (qplug/lua.hpp) against a real Runtime on the memory plugin.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <lua.hpp>
#include <memory>
#include <mutex>
#include <qplug/lua.hpp>
#include <string>
#include <thread>

namespace {

constexpr const char* kYaml = R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.memory, name: mem}
  - {kind: queue.queue, name: tasks, driver: mem}
  - {kind: queue.queue, name: packed, driver: mem, codec: msgpack}
)";

std::unique_ptr<qplug::Runtime> make_runtime() {
  auto cfg = qplug::parse_config(kYaml, "embed.yaml");
  EXPECT_TRUE(cfg.ok()) << cfg.status().to_string();
  auto rt = qplug::Runtime::create(std::move(*cfg));
  EXPECT_TRUE(rt.ok()) << rt.status().to_string();
  return rt.ok() ? std::move(*rt) : nullptr;
}

// Bounded wait for something the test drives (the bound only turns a hang into a failure).
template <typename F>
bool eventually(F&& cond) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

struct State {
  lua_State* L = luaL_newstate();
  State() { luaL_openlibs(L); }
  ~State() { lua_close(L); }
  std::string run(const char* code) {  // "" on success, else the error text
    if (luaL_dostring(L, code) == LUA_OK) return "";
    std::string e = lua_tostring(L, -1);
    lua_pop(L, 1);
    return e;
  }
};

TEST(LuaEmbed, OpenModulesPublishesTheSeedTableAsAValue) {
  auto rt = make_runtime();
  ASSERT_TRUE(rt);
  State s;
  qplug::lua::open_modules(s.L, *rt);
  ASSERT_EQ(s.run(R"(
    local queue = require("queue")
    local ok, err = queue.publish("app:tasks", {action = "send_email", user_id = 456, template = "welcome"})
    assert(ok == true, tostring(err)))"),
            "");

  std::mutex mu;
  qplug::Value got;
  std::atomic<int> n{0};
  auto sub = rt->subscribe("app:tasks", {}, [&](qplug::Delivery& d) {
    auto v = d.payload();
    std::lock_guard<std::mutex> lock(mu);
    if (v.ok()) got = *v;
    ++n;
    return qplug::ok_status();
  });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  ASSERT_TRUE(eventually([&] { return n.load() == 1; }));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_TRUE(got.is_map());
  ASSERT_NE(got.find("user_id"), nullptr);
  EXPECT_EQ(*got.find("user_id"), qplug::Value(int64_t{456}));
  EXPECT_EQ(*got.find("action"), qplug::Value("send_email"));
  EXPECT_EQ(*got.find("template"), qplug::Value("welcome"));
}

TEST(LuaEmbed, ValuesRoundTripThroughTheStack) {
  State s;
  qplug::Value v(qplug::Map{{"i", int64_t{1}},
                            {"f", 1.0},
                            {"b", false},
                            {"s", std::string("a\0b", 3)},
                            {"list", qplug::Array{int64_t{1}, "two", 3.5}},
                            {"empty", qplug::Array{}}});
  qplug::lua::push_value(s.L, v);
  qplug::Value back;
  qplug::Status st = qplug::lua::to_value(s.L, -1, &back);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_TRUE(back.is_map());
  EXPECT_EQ(*back.find("i"), qplug::Value(int64_t{1}));
  EXPECT_TRUE(back.find("f")->is_double());
  EXPECT_EQ(back.find("s")->as_string().size(), 3u);
  EXPECT_EQ(*back.find("list"), (qplug::Value(qplug::Array{int64_t{1}, "two", 3.5})));
  EXPECT_TRUE(back.find("empty")->is_array());
  lua_pop(s.L, 1);
}

TEST(LuaEmbed, ToValueRejectsWhatHasNoMessageForm) {
  State s;
  qplug::Value out;
  ASSERT_EQ(s.run("t = {ok = 1, nested = {cb = print}}"), "");
  lua_getglobal(s.L, "t");
  qplug::Status st = qplug::lua::to_value(s.L, -1, &out);
  EXPECT_EQ(st.kind(), qplug::ErrorKind::INVALID);
  EXPECT_NE(st.message().find("data.nested.cb"), std::string::npos) << st.message();
  lua_pop(s.L, 1);
  qplug::Headers h;
  ASSERT_EQ(s.run("h = {priority = 'high', bad = {}}"), "");
  lua_getglobal(s.L, "h");
  st = qplug::lua::to_headers(s.L, -1, &h);
  EXPECT_EQ(st.kind(), qplug::ErrorKind::INVALID);
  EXPECT_NE(st.message().find("'bad'"), std::string::npos) << st.message();
  lua_pop(s.L, 1);
  EXPECT_EQ(lua_gettop(s.L), 0);
}

TEST(LuaEmbed, DeliveryScopeReleasesKeptMessages) {
  auto rt = make_runtime();
  ASSERT_TRUE(rt);
  State s;
  qplug::lua::open_modules(s.L, *rt);
  ASSERT_TRUE(rt->publish("app:tasks", qplug::Value("hello"), {{"priority", std::string("high")}}).ok());
  std::atomic<int> n{0};
  std::string inside, after;
  auto sub = rt->subscribe("app:tasks", {}, [&](qplug::Delivery& d) {
    {
      qplug::lua::DeliveryScope scope(s.L, d);
      inside = s.run("kept = assert(require('queue').message()); assert(kept:header('priority') == 'high')");
    }
    after = s.run(R"(
      local v, err = kept:id()
      assert(v == nil and err:kind() == "INVALID" and err:message():find("released"), tostring(err)))");
    ++n;
    return qplug::ok_status();
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(eventually([&] { return n.load() == 1; }));
  EXPECT_EQ(inside, "");
  EXPECT_EQ(after, "");
  (*sub)->stop().ignore();
}

TEST(LuaEmbed, PushErrorGivesAnErrorsValue) {
  State s;
  qplug::lua::push_error(s.L, qplug::permission_denied_error("no"));
  lua_setglobal(s.L, "e");
  EXPECT_EQ(
      s.run("assert(tostring(e) == 'PERMISSION_DENIED: no' and e:kind() == 'PERMISSION_DENIED' and not e:retryable())"),
      "");
  luaL_requiref(s.L, "errors", qplug::lua::luaopen_errors, 0);
  lua_pop(s.L, 1);
  EXPECT_EQ(s.run("assert(require('errors').PERMISSION_DENIED == e:kind())"), "");
}

}  // namespace
