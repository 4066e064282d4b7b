// bench/amqp_bench.cpp -- messages/s publishing with confirms and consuming
// with acks, through the qplug amqp plugin's C ABI beside raw rabbitmq-c in
// the same run, against QPLUG_TEST_AMQP_URL (brokers.sh start rabbitmq).
//
//   raw publish : confirm.select, publish, wait for the confirms every 100
//   raw consume : basic.qos 500, basic.consume, ack each message
//   qplug       : async publish of --batch messages per ABI call (default 100,
//                 like raw's confirm batch; every batch completes only after the
//                 broker confirmed all of it), subscribe with prefetch 500, ack
//                 each delivery from the callback
//
//   runtime     : (when core is built) the same through qplug::Runtime, the
//                 C++ API a host uses: publish_async of --batch messages per
//                 call, subscribe(prefetch 500, 1 worker) acking on return
//
//   amqp_bench [--messages N] [--rounds R] [--batch B] [--window W] [--transient]
//     N (20000) messages per measurement; R (1) interleaved rounds, medians
//     printed; W the driver's confirm_window; --transient: delivery_mode 1 and
//     a non-durable queue on BOTH sides (default: persistent + durable);
//     --broker-pid P: also show the broker's CPU per message (its /proc stat).
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <qplug/driver.h>

#include <qplug/loader.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/url.hpp>
#include <qplug/sdk/versioned.hpp>
#ifdef QPLUG_BENCH_RUNTIME
#include <qplug/config.hpp>
#include <qplug/runtime.hpp>
#endif

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
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
const std::string kBody(256, 'x');

struct Options {
  int messages = 20000;
  int rounds = 1;
  int batch = 100;
  int window = 0;  // 0: driver default
  bool transient = false;
  int broker_pid = 0;  // when set, broker CPU per message is shown too (Linux /proc)
};
Options opt;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t k = v.size() / 2;
  return v.size() % 2 ? v[k] : (v[k - 1] + v[k]) / 2;
}

struct Target {
  std::string url, host, user = "guest", password = "guest";
  int port = 5672;
};

double rate(int n, Clock::time_point t0) { return n / std::chrono::duration<double>(Clock::now() - t0).count(); }

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "amqp_bench: %s\n", why.c_str());
  std::exit(1);
}

// Client CPU (user+system, all threads of this process) in microseconds: on a
// 2-core box every client cycle is taken from the broker.
double cpu_us() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

// The broker's CPU (user+system) in microseconds, from /proc/<pid>/stat.
double broker_cpu_us() {
  if (opt.broker_pid <= 0) return 0;
  FILE* f = std::fopen(("/proc/" + std::to_string(opt.broker_pid) + "/stat").c_str(), "r");
  if (f == nullptr) die("--broker-pid: no process " + std::to_string(opt.broker_pid));
  char buf[4096];
  size_t len = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[len] = '\0';
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
  unsigned long utime = 0, stime = 0;
  if (p == nullptr || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
    die("--broker-pid: cannot parse /proc stat");
  return (utime + stime) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Cpu {
  std::vector<double> client, broker;  // us per message, one per round
};

// Runs one measurement and records the client's and broker's CPU per message.
template <typename F>
double measured(int n, Cpu* cpu, F f) {
  double c0 = cpu_us(), b0 = broker_cpu_us();
  double r = f();
  cpu->client.push_back((cpu_us() - c0) / n);
  cpu->broker.push_back((broker_cpu_us() - b0) / n);
  return r;
}

// ---------------------------------------------------------------- raw rabbitmq-c

amqp_connection_state_t raw_connect(const Target& t) {
  amqp_connection_state_t c = amqp_new_connection();
  amqp_socket_t* s = amqp_tcp_socket_new(c);
  if (amqp_socket_open(s, t.host.c_str(), t.port) != AMQP_STATUS_OK) die("raw: cannot connect to " + t.url);
  if (amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, t.user.c_str(), t.password.c_str()).reply_type !=
      AMQP_RESPONSE_NORMAL)
    die("raw: login failed");
  amqp_channel_open(c, 1);
  if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) die("raw: channel.open failed");
  return c;
}

void raw_declare(amqp_connection_state_t c, const std::string& q) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes("x-expires");
  e.value.kind = AMQP_FIELD_KIND_I64;
  e.value.value.i64 = 300000;
  amqp_table_t args{1, &e};
  amqp_queue_declare(c, 1, amqp_cstring_bytes(q.c_str()), 0, opt.transient ? 0 : 1, 0, 0, args);
  if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) die("raw: declare failed");
}

double raw_publish(const Target& t, const std::string& q, int n) {
  amqp_connection_state_t c = raw_connect(t);
  raw_declare(c, q);
  amqp_confirm_select(c, 1);
  if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) die("raw: confirm.select failed");
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
  p.delivery_mode = opt.transient ? 1 : 2;
  p.content_type = amqp_cstring_bytes("application/octet-stream");
  auto t0 = Clock::now();
  uint64_t confirmed = 0;
  for (int i = 1; i <= n; ++i) {
    std::string id = "raw-" + std::to_string(i);
    p.message_id = amqp_cstring_bytes(id.c_str());
    amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes(q.c_str()), 0, 0, &p,
                       amqp_bytes_t{kBody.size(), const_cast<char*>(kBody.data())});
    if (i % 100 != 0 && i != n) continue;
    while (confirmed < static_cast<uint64_t>(i)) {  // stop and wait for this batch's confirms
      amqp_frame_t f;
      if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK) die("raw: connection lost");
      if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_ACK_METHOD)
        confirmed = static_cast<amqp_basic_ack_t*>(f.payload.method.decoded)->delivery_tag;
    }
    amqp_maybe_release_buffers(c);
  }
  double r = rate(n, t0);
  amqp_connection_close(c, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(c);
  return r;
}

double raw_consume(const Target& t, const std::string& q, int n) {
  amqp_connection_state_t c = raw_connect(t);
  amqp_basic_qos(c, 1, 0, 500, 0);
  amqp_basic_consume(c, 1, amqp_cstring_bytes(q.c_str()), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) die("raw: consume failed");
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    amqp_envelope_t env;
    amqp_maybe_release_buffers(c);
    if (amqp_consume_message(c, &env, nullptr, 0).reply_type != AMQP_RESPONSE_NORMAL)
      die("raw: consume_message failed");
    amqp_basic_ack(c, 1, env.delivery_tag, 0);
    amqp_destroy_envelope(&env);
  }
  double r = rate(n, t0);
  amqp_connection_close(c, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(c);
  return r;
}

// ---------------------------------------------------------------- qplug

struct Counter {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  int failed = 0;
  const qplug_driver_v1* vt = nullptr;
  void add(bool ok) {
    std::lock_guard lock(mu);
    ++done;
    if (!ok) ++failed;
    cv.notify_all();
  }
  void wait(int n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done >= n; });
  }
};

// Batches of opt.batch messages per ABI call, asynchronous: the driver keeps
// several batches in its confirm window; each completes after all its
// messages are confirmed.
double qplug_publish(const qplug_driver_v1* vt, qplug_queue* q, int n) {
  Counter cnt;
  std::vector<qplug::sdk::OwnedMessage> ms(static_cast<size_t>(opt.batch));
  std::vector<const qplug_message*> ptrs(ms.size());
  for (auto& m : ms) {
    m.content_type = "application/octet-stream";
    m.body = kBody;
  }
  auto t0 = Clock::now();
  int batches = 0;
  for (int i = 0; i < n; i += opt.batch, ++batches) {
    size_t k = static_cast<size_t>(std::min(opt.batch, n - i));
    for (size_t j = 0; j < k; ++j) {
      ms[j].id = "qp-" + std::to_string(i + static_cast<int>(j) + 1);
      ptrs[j] = &ms[j].view();
    }
    qplug_status st = qplug::sdk::make_status();
    int32_t rc = vt->publish(
        q, ptrs.data(), k, nullptr,
        [](void* ud, const qplug_status* s, size_t) { static_cast<Counter*>(ud)->add(s->code == QPLUG_OK); }, &cnt,
        nullptr, &st);
    if (rc != QPLUG_OK) die(std::string("qplug publish: ") + st.message);
  }
  cnt.wait(batches);
  if (cnt.failed > 0) die(std::to_string(cnt.failed) + " qplug publish batches failed");
  return rate(n, t0);
}

double qplug_consume(const qplug_driver_v1* vt, qplug_queue* q, int n) {
  Counter cnt;
  cnt.vt = vt;
  auto o = qplug::sdk::versioned<qplug_subscribe_options>();
  o.prefetch = 500;
  qplug_status st = qplug::sdk::make_status();
  auto t0 = Clock::now();
  qplug_consumer* c = vt->subscribe(
      q, &o,
      [](void* ud, qplug_delivery* d, const qplug_message*) {
        auto* k = static_cast<Counter*>(ud);
        qplug_status s = qplug::sdk::make_status();
        k->add(k->vt->settle(d, QPLUG_ACK, &s) == QPLUG_OK);
      },
      &cnt, &st);
  if (c == nullptr) die(std::string("qplug subscribe: ") + st.message);
  cnt.wait(n);
  double r = rate(n, t0);
  vt->unsubscribe(c, &st);
  vt->consumer_free(c);
  return r;
}

#ifdef QPLUG_BENCH_RUNTIME
// ---------------------------------------------------------------- qplug::Runtime (core's C++ API)

std::unique_ptr<qplug::Runtime> runtime_open(const Target& t, const std::string& queue) {
  std::string qopts = "queue_expiry: 300s";
  if (opt.transient) qopts += ", durable: false, persistent: false";
  std::string yaml =
      "version: 1\nnamespace: bench\nentries:\n"
      "  - {kind: queue.driver.amqp, name: rabbit, plugin: '" QPLUG_AMQP_PLUGIN "', url: '" +
      t.url + "', client_name: qplug-bench-runtime" +
      (opt.window > 0 ? ", confirm_window: " + std::to_string(opt.window) : std::string()) +
      "}\n"
      "  - {kind: queue.queue, name: q, driver: rabbit, queue_name: " +
      queue + ", driver_options: {amqp: {" + qopts + "}}}\n";
  auto cfg = qplug::parse_config(yaml, "amqp_bench.yaml");
  if (!cfg.ok()) die("runtime config: " + cfg.status().to_string());
  auto rt = qplug::Runtime::create(std::move(*cfg));
  if (!rt.ok()) die("runtime: " + rt.status().to_string());
  return std::move(*rt);
}

double runtime_publish(qplug::Runtime& rt, int n) {
  Counter cnt;
  auto t0 = Clock::now();
  int batches = 0;
  for (int i = 0; i < n; i += opt.batch, ++batches) {
    std::vector<qplug::Message> batch(static_cast<size_t>(std::min(opt.batch, n - i)));
    for (auto& m : batch) {  // ids: the core assigns UUIDv7s
      m.content_type = "application/octet-stream";
      m.body = kBody;
    }
    rt.publish_async("bench:q", std::move(batch), [&cnt](qplug::Status st) {
      if (!st.ok()) std::fprintf(stderr, "amqp_bench: runtime publish: %s\n", st.to_string().c_str());
      cnt.add(st.ok());
    });
  }
  cnt.wait(batches);
  if (cnt.failed > 0) die(std::to_string(cnt.failed) + " runtime publish batches failed");
  return rate(n, t0);
}

double runtime_consume(qplug::Runtime& rt, int n) {
  Counter cnt;
  qplug::ConsumerOptions o;
  o.concurrency = 1;
  o.prefetch = 500;
  auto t0 = Clock::now();
  auto sub = rt.subscribe("bench:q", o, [&cnt](qplug::Delivery&) {
    cnt.add(true);
    return qplug::ok_status();
  });
  if (!sub.ok()) die("runtime subscribe: " + sub.status().to_string());
  cnt.wait(n);
  double r = rate(n, t0);
  qplug::Status st = (*sub)->stop();
  if (!st.ok()) die("runtime unsubscribe: " + st.to_string());
  return r;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> int {
      if (i + 1 >= argc) die("missing value after " + a);
      int v = std::atoi(argv[++i]);
      if (v <= 0) die("bad value for " + a);
      return v;
    };
    if (a == "--messages")
      opt.messages = next();
    else if (a == "--rounds")
      opt.rounds = next();
    else if (a == "--batch")
      opt.batch = next();
    else if (a == "--window")
      opt.window = next();
    else if (a == "--transient")
      opt.transient = true;
    else if (a == "--broker-pid")
      opt.broker_pid = next();
    else
      die("unknown argument " + a + " (--messages N --rounds R --batch B --window W --transient --broker-pid P)");
  }
  const int n = opt.messages;
  Target t;
  const char* env = std::getenv("QPLUG_TEST_AMQP_URL");
  t.url = env != nullptr && *env != '\0' ? env : "amqp://guest:guest@127.0.0.1:5690/";
  auto u = qplug::sdk::parse_url(t.url, nullptr);
  if (!u) die("bad QPLUG_TEST_AMQP_URL " + t.url);
  t.host = u->host;
  t.port = u->port ? u->port : 5672;
  if (!u->user.empty()) t.user = u->user, t.password = u->password;

  std::string err;
  const qplug::loader::Plugin* plugin = qplug::loader::load_file(QPLUG_AMQP_PLUGIN, &err);
  if (plugin == nullptr) die(err);
  const qplug_driver_v1* vt = plugin->vtable;
  std::vector<std::pair<std::string, std::string>> cfg = {{"url", t.url}, {"client_name", "qplug-bench"}};
  if (opt.window > 0) cfg.push_back({"confirm_window", std::to_string(opt.window)});
  std::vector<qplug_kv> kv;
  for (auto& [k, v] : cfg) kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  qplug_status st = qplug::sdk::make_status();
  qplug_driver* d = vt->open(nullptr, kv.data(), kv.size(), &st);
  if (d == nullptr)
    die(std::string("qplug open: ") + st.message + " (is rabbitmq up? tools/scripts/brokers.sh start rabbitmq)");

  std::string suffix = std::to_string(::getpid());
  std::string raw_q = "qplug-bench-raw-" + suffix, qp_q = "qplug-bench-qplug-" + suffix;
  std::vector<std::pair<std::string, std::string>> qopts = {{"queue_expiry", "300s"}};
  if (opt.transient) qopts.push_back({"durable", "false"}), qopts.push_back({"persistent", "false"});
  std::vector<qplug_kv> qkv;
  for (auto& [k, v] : qopts) qkv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  qplug_queue* q = vt->declare(d, {qp_q.data(), qp_q.size()}, qkv.data(), qkv.size(), &st);
  if (q == nullptr) die(std::string("qplug declare: ") + st.message);

  // Rounds alternate which side goes first so neither always meets a warmer
  // (or busier) broker; every round drains both queues again.
  std::vector<double> rp, qp, rc, qc, pub_ratio, con_ratio;
  Cpu rp_cpu, qp_cpu, rc_cpu, qc_cpu, rtp_cpu, rtc_cpu;
  std::vector<double> rtp, rtc, rtp_ratio, rtc_ratio;  // qplug::Runtime
#ifdef QPLUG_BENCH_RUNTIME
  std::unique_ptr<qplug::Runtime> rt = runtime_open(t, "qplug-bench-runtime-" + suffix);
#endif
  for (int r = 0; r < opt.rounds; ++r) {
    bool raw_first = r % 2 == 0;
    double a, b;
    auto raw_pub = [&] { return measured(n, &rp_cpu, [&] { return raw_publish(t, raw_q, n); }); };
    auto qp_pub = [&] { return measured(n, &qp_cpu, [&] { return qplug_publish(vt, q, n); }); };
    auto raw_con = [&] { return measured(n, &rc_cpu, [&] { return raw_consume(t, raw_q, n); }); };
    auto qp_con = [&] { return measured(n, &qc_cpu, [&] { return qplug_consume(vt, q, n); }); };
    if (raw_first)
      a = raw_pub(), b = qp_pub();
    else
      b = qp_pub(), a = raw_pub();
    rp.push_back(a), qp.push_back(b), pub_ratio.push_back(b / a);
    if (raw_first)
      a = raw_con(), b = qp_con();
    else
      b = qp_con(), a = raw_con();
    rc.push_back(a), qc.push_back(b), con_ratio.push_back(b / a);
#ifdef QPLUG_BENCH_RUNTIME
    rtp.push_back(measured(n, &rtp_cpu, [&] { return runtime_publish(*rt, n); }));
    rtc.push_back(measured(n, &rtc_cpu, [&] { return runtime_consume(*rt, n); }));
    rtp_ratio.push_back(rtp.back() / rp.back()), rtc_ratio.push_back(rtc.back() / rc.back());
    std::fprintf(stderr, "round %d: runtime publish %.0f (%.2fx raw) consume %.0f (%.2fx raw)\n", r + 1, rtp.back(),
                 rtp_ratio.back(), rtc.back(), rtc_ratio.back());
#endif
    std::fprintf(stderr, "round %d: publish raw %.0f qplug %.0f (%.2fx)  consume raw %.0f qplug %.0f (%.2fx)\n", r + 1,
                 rp.back(), qp.back(), pub_ratio.back(), rc.back(), qc.back(), con_ratio.back());
  }
  vt->close(d, 5000);
#ifdef QPLUG_BENCH_RUNTIME
  rt->stop();
#endif

  const char* kind = opt.transient ? "transient messages, non-durable queue" : "persistent messages, durable queue";
  std::printf("amqp bench, %d messages of %zu bytes (%s), one connection each, median of %d interleaved round(s)\n", n,
              kBody.size(), kind, opt.rounds);
  auto line = [&](const std::string& what, const std::vector<double>& rates, const Cpu& cpu,
                  const std::vector<double>* base, const std::vector<double>* ratios) {
    std::printf("  %-40s %8.0f msg/s  cpu us/msg client %4.1f", what.c_str(), median(rates), median(cpu.client));
    if (opt.broker_pid > 0) std::printf(" broker %5.1f", median(cpu.broker));
    if (base != nullptr)
      std::printf("  %.2fx raw (median of per-round ratios %.2fx)", median(rates) / median(*base), median(*ratios));
    std::printf("\n");
  };
  line("raw rabbitmq-c publish (confirm/100)", rp, rp_cpu, nullptr, nullptr);
  line("qplug amqp publish (async, " + std::to_string(opt.batch) + "/call)", qp, qp_cpu, &rp, &pub_ratio);
  line("raw rabbitmq-c consume+ack (qos 500)", rc, rc_cpu, nullptr, nullptr);
  line("qplug amqp consume+ack (prefetch 500)", qc, qc_cpu, &rc, &con_ratio);
  if (!rtp.empty()) {
    line("qplug::Runtime publish_async (" + std::to_string(opt.batch) + "/call)", rtp, rtp_cpu, &rp, &rtp_ratio);
    line("qplug::Runtime consume+ack (prefetch 500)", rtc, rtc_cpu, &rc, &rtc_ratio);
  }
  return 0;
}
