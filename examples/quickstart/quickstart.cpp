// quickstart.cpp -- the qplug C++ API in one page: load a config, subscribe
// a handler, publish messages with headers, wait until they are handled,
// stop gracefully.
//
//   ./quickstart [path/to/quickstart.yaml]
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <qplug/codec.hpp>
#include <qplug/runtime.hpp>
#include <string>

#ifndef QPLUG_QUICKSTART_CONFIG
#define QPLUG_QUICKSTART_CONFIG "quickstart.yaml"
#endif

namespace {

constexpr int kMessages = 5;

// Renders a header value for printing.
std::string header_text(const qplug::HeaderValue* v) {
  if (v == nullptr) return "(none)";
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  if (const auto* i = std::get_if<int64_t>(v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(v)) return std::to_string(*d);
  if (const auto* b = std::get_if<bool>(v)) return *b ? "true" : "false";
  return "null";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string config = argc > 1 ? argv[1] : QPLUG_QUICKSTART_CONFIG;

  // 1. Load the YAML: opens the memory driver plugin and declares app:tasks.
  auto loaded = qplug::Runtime::load(config);
  if (!loaded.ok()) {
    std::cerr << "quickstart: " << loaded.status().to_string() << "\n";
    return 2;
  }
  qplug::Runtime& rt = **loaded;

  // 2. Subscribe: 2 worker threads, at most 4 messages in flight. Returning OK
  //    acks the message; returning an error (or throwing) nacks it, so it is
  //    redelivered and, after 3 attempts, dead-lettered.
  std::mutex mu;
  std::condition_variable cv;
  int handled = 0;
  qplug::ConsumerOptions opts;
  opts.concurrency = 2;
  opts.prefetch = 4;
  auto sub = rt.subscribe("app:tasks", opts, [&](qplug::Delivery& d) -> qplug::Status {
    auto payload = d.payload();  // decoded with the queue's codec (JSON here)
    if (!payload.ok()) return payload.status();
    std::string json;
    qplug::find_codec("json")->encode(*payload, &json).ignore();
    const auto& m = d.message();
    {
      std::lock_guard<std::mutex> lock(mu);
      std::cout << "handled " << json << " id=" << m.id
                << " priority=" << header_text(qplug::find_header(m.headers, "priority"))
                << " correlation_id=" << header_text(qplug::find_header(m.headers, "correlation_id"))
                << " attempts=" << d.attempts() << "\n";
      ++handled;
    }
    cv.notify_all();
    return qplug::ok_status();
  });
  if (!sub.ok()) {
    std::cerr << "quickstart: " << sub.status().to_string() << "\n";
    return 1;
  }

  // 3. Publish, as the Lua seed does:
  //    queue.publish("app:tasks", {action="send_email", user_id=456, template="welcome"}, {priority="high"})
  for (int i = 0; i < kMessages; ++i) {
    qplug::Map data{{"action", "send_email"}, {"user_id", 456 + i}, {"template", "welcome"}};
    qplug::Headers headers{{"priority", std::string(i == 0 ? "high" : "normal")},
                           {"correlation_id", "req-" + std::to_string(i + 1)}};
    qplug::Status st = rt.publish("app:tasks", data, headers);
    if (!st.ok()) {
      std::cerr << "quickstart: publish failed: " << st.to_string() << "\n";
      return 1;
    }
  }

  // 4. Wait until every message was handled, then stop: intake stops,
  //    in-flight handlers finish, and the drivers close.
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return handled == kMessages; });
  }
  qplug::Status stopped = (*sub)->stop();
  rt.stop();
  if (!stopped.ok()) {
    std::cerr << "quickstart: " << stopped.to_string() << "\n";
    return 1;
  }
  std::cout << "quickstart: handled " << handled << " of " << kMessages << " messages\n";
  return 0;
}
