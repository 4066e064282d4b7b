// bench/mqtt_bench.cpp -- messages/s through the qplug MQTT driver (via the
// loader and the C ABI) beside raw libmosquitto doing the same work in the
// same run, on the same mosquitto (QPLUG_TEST_MQTT_URL), QoS 1 everywhere:
//   publish, one per call   raw: loop_start, publish, wait for on_publish
//                           qplug: publish() of 1 message, synchronous
//   publish, pipelined      raw: every publish queued at once (send maximum
//                           1000 in flight, like the driver), wait for all
//                           on_publish; qplug: asynchronous publish() of 1
//                           message per call, wait for every completion
//   end to end              publish pipelined -> handler -> settle: raw: a
//                           durable v5 session in $share/default/<topic>
//                           (Receive Maximum 100), counting in on_message;
//                           qplug: subscribe(prefetch 100), ack in the handler;
//                           once per consumer spool mode (interval, the
//                           default; off; always, with a tenth of the messages)
// Same broker work on both sides: every message has the driver's properties
// (qplug.id, content type, two typed headers, 100-byte body), and a publish
// target has an offline durable session in its shared subscription (the
// driver's anchor; raw: a session made the same way), which is ended after
// each case so the broker does not carry the messages into the next one.
// Besides msg/s, the process's CPU time per message (all its threads, user +
// system) of each case: on a shared, loaded box the rate follows the load of
// others, the client's own CPU cost much less.
// Usage: mqtt_bench [--messages N] [--rounds R] [--only sync|e2e] (default
// 20000, 5; the one-per-call case uses N/4; each case's median over
// interleaved rounds; --only runs one case beside raw, nothing else, to
// profile it: one per call, or end to end with the spool off).
// Run it on a broker of its own (a fresh persistence file): mosquitto's
// autosave rewrites the whole file each second (tools/scripts/
// mosquitto.conf.in), so what other runs left there slows every case.
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <qplug/driver.h>
#include <sys/resource.h>
#include <unistd.h>

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
#include <qplug/sdk/url.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPrefetch = 100;
constexpr int kSendMaximum = 1000;  // the driver's default send_maximum
constexpr int kWaitSeconds = 300;   // a case that takes longer has lost messages
const std::string kBody(100, 'x');

std::string g_url;
qplug::sdk::Url g_addr;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds this process used so far (every thread, user + system).
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// One case's figures: msg/s and the client's CPU microseconds per message.
struct Figure {
  double rate = 0;
  double cpu_us = 0;
  long lost = 0;
};

// Measures `work` (which returns how many messages it moved) over n messages.
template <typename Work>
Figure measure(int n, Work work) {
  const double c0 = cpu_seconds();
  const auto t0 = Clock::now();
  const long moved = work();
  Figure f;
  f.rate = static_cast<double>(moved) / seconds_since(t0);
  f.cpu_us = (cpu_seconds() - c0) * 1e6 / std::max<long>(moved, 1);
  f.lost = n - moved;
  return f;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

[[noreturn]] void die(const char* what, const char* why) {
  std::fprintf(stderr, "mqtt_bench: %s: %s\n", what, why);
  std::exit(1);
}

// ---- raw libmosquitto ------------------------------------------------------

// One raw client on its own network thread, counting PUBACKs and deliveries.
struct Raw {
  mosquitto* m = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  bool connected = false;
  long acked = 0;
  long ack_target = 0;  // acked count that wakes wait_acked (mu)
  std::atomic<long> received{0};
  long subacked = 0;

  Raw(const std::string& id, bool durable, int receive_maximum) {
    m = mosquitto_new(id.c_str(), !durable, this);
    if (m == nullptr) die("mosquitto_new", "out of memory");
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, kSendMaximum);
    if (receive_maximum > 0) mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, receive_maximum);
    mosquitto_connect_v5_callback_set(m, [](mosquitto*, void* self, int rc, int, const mosquitto_property*) {
      auto* r = static_cast<Raw*>(self);
      std::lock_guard lock(r->mu);
      r->connected = rc == 0;
      r->cv.notify_all();
    });
    mosquitto_publish_v5_callback_set(m, [](mosquitto*, void* self, int, int reason, const mosquitto_property*) {
      auto* r = static_cast<Raw*>(self);
      if (reason >= 0x80) die("raw publish", mosquitto_reason_string(reason));
      std::lock_guard lock(r->mu);
      // Waking the waiter only when its count is reached, as Completions does.
      if (++r->acked >= r->ack_target) r->cv.notify_all();
    });
    mosquitto_subscribe_v5_callback_set(m, [](mosquitto*, void* self, int, int, const int*, const mosquitto_property*) {
      auto* r = static_cast<Raw*>(self);
      std::lock_guard lock(r->mu);
      ++r->subacked;
      r->cv.notify_all();
    });
    mosquitto_message_v5_callback_set(
        m, [](mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property*) {
          auto* r = static_cast<Raw*>(self);
          if (msg->payloadlen != static_cast<int>(kBody.size())) die("raw consume", "wrong payload");
          if (r->received.fetch_add(1) + 1 == r->target) {
            std::lock_guard lock(r->mu);
            r->cv.notify_all();
          }
        });
    mosquitto_property* props = nullptr;
    if (durable) mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 600);
    int rc =
        mosquitto_connect_bind_v5(m, g_addr.host.c_str(), g_addr.port == 0 ? 1883 : g_addr.port, 60, nullptr, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS) die("raw connect", mosquitto_strerror(rc));
    mosquitto_loop_start(m);
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return connected; })) die("raw connect", "no CONNACK");
  }
  ~Raw() { close(false); }

  std::atomic<long> target{-1};  // received count that wakes wait_received

  void subscribe(const std::string& topic) {
    mosquitto_subscribe_v5(m, nullptr, topic.c_str(), 1, 0, nullptr);
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return subacked > 0; })) die("raw subscribe", "no SUBACK");
  }
  // Sends DISCONNECT (ending a durable session when `end`) and stops the thread.
  void close(bool end) {
    if (m == nullptr) return;
    mosquitto_property* props = nullptr;
    if (end) mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 0);
    mosquitto_disconnect_v5(m, MQTT_RC_NORMAL_DISCONNECTION, props);
    mosquitto_property_free_all(&props);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
    m = nullptr;
  }
  // The driver's properties for message `i` (built per message, as it does).
  void publish(const std::string& topic, int i) {
    mosquitto_property* props = nullptr;
    const std::string id = "m-" + std::to_string(i);
    mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "qplug.id", id.c_str());
    mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, "text/plain");
    mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "tenant", "s:acme");
    mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "seq", "i:12345");
    int rc =
        mosquitto_publish_v5(m, nullptr, topic.c_str(), static_cast<int>(kBody.size()), kBody.data(), 1, false, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS) die("raw publish", mosquitto_strerror(rc));
  }
  void wait_acked(long n) {
    std::unique_lock lock(mu);
    ack_target = n;
    if (!cv.wait_for(lock, std::chrono::seconds(kWaitSeconds), [&] { return acked >= n; }))
      die("raw publish", "PUBACKs missing");
  }
  long wait_received(long n) {
    target = n;
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(kWaitSeconds), [&] { return received.load() >= n; });
    return received.load();
  }
};

// Ends the durable session `id` (and discards what it keeps): a connect with
// Clean Start discards it at once. (Resuming it and disconnecting with expiry
// 0 did not: the broker sent the kept messages first, the close with them
// unread reset the connection, the DISCONNECT was never read, and every
// round left its messages behind: 175k after one run, rewritten by every
// autosave of the broker, each second, slowing the later rounds.)
void end_session(const std::string& id) {
  Raw r(id, false, 0);
  r.close(false);
}

// An offline durable session in the group, as the driver's anchor is.
void raw_anchor(const std::string& id, const std::string& topic) {
  Raw r(id, true, 0);
  r.subscribe("$share/default/" + topic);
  r.close(false);
}

Figure raw_publish(const std::string& tag, int n, bool pipelined) {
  const std::string topic = "bench/" + tag, anchor = "bench-anchor-" + tag;
  raw_anchor(anchor, topic);
  Raw r("bench-pub-" + tag, false, 0);
  Figure f = measure(n, [&] {
    for (int i = 0; i < n; ++i) {
      r.publish(topic, i);
      if (!pipelined) r.wait_acked(i + 1);
    }
    r.wait_acked(n);
    return static_cast<long>(n);
  });
  r.close(false);
  end_session(anchor);
  return f;
}

Figure raw_end_to_end(const std::string& tag, int n) {
  const std::string topic = "bench/" + tag, sub_id = "bench-sub-" + tag;
  Raw sub(sub_id, true, kPrefetch);
  sub.subscribe("$share/default/" + topic);
  Raw pub("bench-pub-" + tag, false, 0);
  Figure f = measure(n, [&] {
    for (int i = 0; i < n; ++i) pub.publish(topic, i);
    return sub.wait_received(n);
  });
  pub.wait_acked(n);
  pub.close(false);
  sub.close(true);
  return f;
}

// ---- qplug, through the plugin's C ABI ---------------------------------------

struct Qplug {
  const qplug_driver_v1* vt = nullptr;
  qplug_driver* drv = nullptr;
};

// One driver instance per spool mode: `spool` is "off", "never", "interval"
// or "always" (the consumer's write-ahead spool, docs/drivers/mqtt.md).
Qplug qplug_open(const std::string& spool) {
  std::string error;
  const qplug::loader::Plugin* p = qplug::loader::load_driver("mqtt", qplug::loader::search_dirs(), &error);
  if (p == nullptr) die("load", error.c_str());
  const std::string client_id = "bench-" + std::to_string(::getpid()) + "-" + spool;
  std::vector<std::pair<std::string, std::string>> config = {
      {"url", g_url}, {"client_id", client_id}, {"session_expiry", "10m"}, {"publish_timeout", "60s"}};
  if (spool == "off") {
    config.emplace_back("spool.enabled", "false");
  } else {
    config.emplace_back("spool.fsync", spool);
    config.emplace_back("spool.dir", "/tmp/qplug-mqtt-bench-spool");
  }
  std::vector<qplug_kv> kv;
  for (const auto& [k, v] : config) kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  qplug_status st = qplug::sdk::make_status();
  Qplug q{p->vtable, p->vtable->open(nullptr, kv.data(), kv.size(), &st)};
  if (q.drv == nullptr) die("open", st.message);
  return q;
}

qplug::sdk::OwnedMessage make_message(int i) {
  qplug::sdk::OwnedMessage m;
  m.id = "m-" + std::to_string(i);
  m.content_type = "text/plain";
  m.body = kBody;
  m.headers.push_back({"tenant", QPLUG_VALUE_STRING, 0, 0, "acme"});
  m.headers.push_back({"seq", QPLUG_VALUE_INT64, 12345, 0, ""});
  return m;
}

struct Completions {
  std::mutex mu;
  std::condition_variable cv;
  long done = 0;
  long failed = 0;
  long target = 0;  // done count that wakes wait() (mu)
  static void on_done(void* ud, const qplug_status* st, size_t accepted) {
    auto* c = static_cast<Completions*>(ud);
    std::lock_guard lock(c->mu);
    if (st->code != QPLUG_OK || accepted != 1) ++c->failed;
    if (++c->done >= c->target) c->cv.notify_all();
  }
  void wait(long n) {
    std::unique_lock lock(mu);
    target = n;
    if (!cv.wait_for(lock, std::chrono::seconds(kWaitSeconds), [&] { return done >= n; }))
      die("qplug publish", "completions missing");
    if (failed > 0) die("qplug publish", "some publishes failed");
  }
};

// Publishes n messages to `queue`, one per call: synchronous without c,
// else asynchronous, completing into *c (not waited for here).
void qplug_publish_n(Qplug& q, qplug_queue* queue, int n, Completions* c) {
  const bool pipelined = c != nullptr;
  qplug_status st = qplug::sdk::make_status();
  for (int i = 0; i < n; ++i) {
    qplug::sdk::OwnedMessage m = make_message(i);  // building the message is part of the work, as in raw
    const qplug_message* view = &m.view();
    int32_t rc = q.vt->publish(queue, &view, 1, nullptr, pipelined ? Completions::on_done : nullptr, c, nullptr, &st);
    if (rc != QPLUG_OK) die("qplug publish", st.message);
  }
}

qplug_queue* declare(Qplug& q, const std::string& name) {
  qplug_status st = qplug::sdk::make_status();
  qplug_queue* queue = q.vt->declare(q.drv, {name.data(), name.size()}, nullptr, 0, &st);
  if (queue == nullptr) die("declare", st.message);
  return queue;
}

Figure qplug_publish(Qplug& q, const std::string& tag, int n, bool pipelined) {
  const std::string name = "bench-" + tag;
  qplug_queue* queue = declare(q, name);  // its anchor keeps what is published
  Figure f = measure(n, [&] {
    Completions c;
    qplug_publish_n(q, queue, n, pipelined ? &c : nullptr);
    if (pipelined) c.wait(n);
    return static_cast<long>(n);
  });
  end_session("qplug-anchor:default:qplug/" + name);  // the driver's anchor ID (mqtt_settings.cpp)
  return f;
}

struct Handled {
  const qplug_driver_v1* vt = nullptr;
  long target = 0;
  std::atomic<long> got{0};
  std::mutex mu;
  std::condition_variable cv;
  static void deliver(void* ud, qplug_delivery* d, const qplug_message*) {
    auto* h = static_cast<Handled*>(ud);
    qplug_status st = qplug::sdk::make_status();
    h->vt->settle(d, QPLUG_ACK, &st);
    if (h->got.fetch_add(1) + 1 == h->target) {
      std::lock_guard lock(h->mu);
      h->cv.notify_all();
    }
  }
};

Figure qplug_end_to_end(Qplug& q, const std::string& tag, int n) {
  qplug_queue* queue = declare(q, "bench-" + tag);
  Handled h;
  h.vt = q.vt;
  h.target = n;
  auto o = qplug::sdk::versioned<qplug_subscribe_options>();
  o.prefetch = kPrefetch;
  qplug_status st = qplug::sdk::make_status();
  qplug_consumer* consumer = q.vt->subscribe(queue, &o, Handled::deliver, &h, &st);
  if (consumer == nullptr) die("subscribe", st.message);
  // Like raw_end_to_end: the window ends with the last delivery; the
  // publish completions are waited for after it.
  Completions c;
  Figure f = measure(n, [&] {
    qplug_publish_n(q, queue, n, &c);
    std::unique_lock lock(h.mu);
    h.cv.wait_for(lock, std::chrono::seconds(kWaitSeconds), [&] { return h.got.load() >= n; });
    return h.got.load();
  });
  c.wait(n);
  q.vt->unsubscribe(consumer, &st);
  q.vt->consumer_free(consumer);
  return f;
}

struct Series {
  std::vector<double> rate, cpu;
  void add(const Figure& f) {
    rate.push_back(f.rate);
    cpu.push_back(f.cpu_us);
  }
};

void row(const char* what, const Series& raw, const Series& qp) {
  const double r = median(raw.rate), q = median(qp.rate);
  std::printf("%-32s %10.0f %10.0f %7.2fx   %8.1f %8.1f\n", what, r, q, r > 0 ? q / r : 0, median(raw.cpu),
              median(qp.cpu));
}

}  // namespace

int main(int argc, char** argv) {
  int n = 20000, rounds = 5;
  std::string only;  // --only sync|e2e: that case alone beside raw (to profile it)
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--messages") == 0) n = std::max(4, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
  }
  if (!only.empty() && only != "sync" && only != "e2e") die("--only", "takes sync or e2e");
  const char* env = std::getenv("QPLUG_TEST_MQTT_URL");
  g_url = env != nullptr && *env != '\0' ? env : "mqtt://127.0.0.1:1890";
  std::string why;
  auto u = qplug::sdk::parse_url(g_url, &why);
  if (!u) die("bad QPLUG_TEST_MQTT_URL", why.c_str());
  g_addr = *u;
  mosquitto_lib_init();
  // Publishing never touches the spool: the publish cases use the default
  // instance (interval). End to end runs once per spool mode; `always`
  // syncs the disk per message, so it moves a tenth of the messages.
  Qplug q = qplug_open("interval");
  Qplug q_off = qplug_open("off");
  Qplug q_always = qplug_open("always");
  const std::string tag = std::to_string(::getpid());
  const int n_sync = n / 4;
  const int n_always = std::max(4, n / 10);

  std::printf("mqtt_bench: QoS 1, 100-byte body, 2 headers; %d messages (%d one per call), median of %d rounds, %s\n",
              n, n_sync, rounds, g_url.c_str());
  Series raw_sync, qp_sync, raw_pipe, qp_pipe, raw_e2e, qp_e2e, qp_e2e_off, qp_e2e_always;
  long lost = 0;
  for (int r = 0; r < rounds; ++r) {
    const std::string k = tag + "-" + std::to_string(r);
    if (!only.empty()) {
      const bool sync = only == "sync";
      const Figure raw = sync ? raw_publish(k + "-rs", n_sync, false) : raw_end_to_end(k + "-re", n);
      const Figure qp = sync ? qplug_publish(q, k + "-qs", n_sync, false) : qplug_end_to_end(q_off, k + "-qo", n);
      (sync ? raw_sync : raw_e2e).add(raw);
      (sync ? qp_sync : qp_e2e_off).add(qp);
      lost += raw.lost + qp.lost;
      std::printf("  round %d msg/s: raw %.0f qplug %.0f\n", r + 1, raw.rate, qp.rate);
      continue;
    }
    const Figure fs[] = {raw_publish(k + "-rs", n_sync, false), qplug_publish(q, k + "-qs", n_sync, false),
                         raw_publish(k + "-rp", n, true),       qplug_publish(q, k + "-qp", n, true),
                         raw_end_to_end(k + "-re", n),          qplug_end_to_end(q, k + "-qe", n)};
    Series* into[] = {&raw_sync, &qp_sync, &raw_pipe, &qp_pipe, &raw_e2e, &qp_e2e};
    for (int i = 0; i < 6; ++i) {
      into[i]->add(fs[i]);
      lost += fs[i].lost;
    }
    const Figure off = qplug_end_to_end(q_off, k + "-qo", n), always = qplug_end_to_end(q_always, k + "-qa", n_always);
    qp_e2e_off.add(off);
    qp_e2e_always.add(always);
    lost += off.lost + always.lost;
    std::printf(
        "  round %d msg/s: one per call raw %.0f qplug %.0f | pipelined raw %.0f qplug %.0f | end to end raw "
        "%.0f qplug %.0f, spool off %.0f, spool always %.0f (lost raw %ld qplug %ld)\n",
        r + 1, fs[0].rate, fs[1].rate, fs[2].rate, fs[3].rate, fs[4].rate, fs[5].rate, off.rate, always.rate,
        fs[4].lost, fs[5].lost + off.lost + always.lost);
  }
  std::printf("%-32s %10s %10s %8s   %17s\n", "case (medians)", "raw msg/s", "qplug", "ratio", "cpu us/msg raw qplug");
  if (only.empty() || only == "sync") row("publish, one per call (sync)", raw_sync, qp_sync);
  if (only.empty()) {
    row("publish, pipelined (async)", raw_pipe, qp_pipe);
    row("end to end, spool interval", raw_e2e, qp_e2e);
  }
  if (only.empty() || only == "e2e") row("end to end, spool off", raw_e2e, qp_e2e_off);
  if (only.empty()) row("end to end, spool always", raw_e2e, qp_e2e_always);
  std::printf("lost: %ld\n", lost);
  for (Qplug* i : {&q, &q_off, &q_always}) i->vt->close(i->drv, 5000);
  mosquitto_lib_cleanup();
  return lost == 0 ? 0 : 1;
}
