// bench/amqp_bench.cpp -- messages/s publishing with confirms and consuming
// with acks, through the qplug amqp plugin's C ABI beside raw rabbitmq-c in
// the same run, against QPLUG_TEST_AMQP_URL (brokers.sh start rabbitmq).
//
//   raw publish : confirm.select, publish, wait for the confirms every 100
//   raw consume : basic.qos 500, basic.consume, ack each message
//   qplug       : async publish (the driver's confirm window), subscribe with
//                 prefetch 500, ack each delivery from the callback
//
//   amqp_bench [--messages N]    (default 20000)
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <qplug/driver.h>
#include <qplug/loader.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/url.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
const std::string kBody(256, 'x');

struct Target {
  std::string url, host, user = "guest", password = "guest";
  int port = 5672;
};

double rate(int n, Clock::time_point t0) { return n / std::chrono::duration<double>(Clock::now() - t0).count(); }

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "amqp_bench: %s\n", why.c_str());
  std::exit(1);
}

// ---------------------------------------------------------------- raw rabbitmq-c

amqp_connection_state_t raw_connect(const Target& t) {
  amqp_connection_state_t c = amqp_new_connection();
  amqp_socket_t* s = amqp_tcp_socket_new(c);
  if (amqp_socket_open(s, t.host.c_str(), t.port) != AMQP_STATUS_OK) die("raw: cannot connect to " + t.url);
  if (amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, t.user.c_str(), t.password.c_str()).reply_type != AMQP_RESPONSE_NORMAL)
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
  amqp_queue_declare(c, 1, amqp_cstring_bytes(q.c_str()), 0, 1, 0, 0, args);
  if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) die("raw: declare failed");
}

double raw_publish(const Target& t, const std::string& q, int n) {
  amqp_connection_state_t c = raw_connect(t);
  raw_declare(c, q);
  amqp_confirm_select(c, 1);
  if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) die("raw: confirm.select failed");
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
  p.delivery_mode = 2;
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
    if (amqp_consume_message(c, &env, nullptr, 0).reply_type != AMQP_RESPONSE_NORMAL) die("raw: consume_message failed");
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

double qplug_publish(const qplug_driver_v1* vt, qplug_queue* q, int n) {
  Counter cnt;
  qplug::sdk::OwnedMessage m;
  m.content_type = "application/octet-stream";
  m.body = kBody;
  auto t0 = Clock::now();
  for (int i = 1; i <= n; ++i) {
    m.id = "qp-" + std::to_string(i);
    const qplug_message* p = &m.view();
    qplug_status st = qplug::sdk::make_status();
    int32_t rc = vt->publish(
        q, &p, 1, nullptr, [](void* ud, const qplug_status* s, size_t) { static_cast<Counter*>(ud)->add(s->code == QPLUG_OK); },
        &cnt, nullptr, &st);
    if (rc != QPLUG_OK) die(std::string("qplug publish: ") + st.message);
  }
  cnt.wait(n);
  if (cnt.failed > 0) die(std::to_string(cnt.failed) + " qplug publishes failed");
  return rate(n, t0);
}

double qplug_consume(const qplug_driver_v1* vt, qplug_queue* q, int n) {
  Counter cnt;
  cnt.vt = vt;
  qplug_subscribe_options o{};
  o.struct_size = sizeof o;
  o.abi_major = QPLUG_ABI_MAJOR;
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

}  // namespace

int main(int argc, char** argv) {
  int n = 20000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--messages") == 0) n = std::atoi(argv[i + 1]);
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
  std::vector<std::pair<std::string, std::string>> cfg = {{"url", t.url}, {"connection_name", "qplug-bench"}};
  std::vector<qplug_kv> kv;
  for (auto& [k, v] : cfg) kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  qplug_status st = qplug::sdk::make_status();
  qplug_driver* d = vt->open(nullptr, kv.data(), kv.size(), &st);
  if (d == nullptr) die(std::string("qplug open: ") + st.message + " (is rabbitmq up? tools/scripts/brokers.sh start rabbitmq)");

  std::string suffix = std::to_string(::getpid());
  std::string raw_q = "qplug-bench-raw-" + suffix, qp_q = "qplug-bench-qplug-" + suffix;
  static const std::string ek = "queue_expiry", ev = "300s";
  qplug_kv opt{{ek.data(), ek.size()}, {ev.data(), ev.size()}};
  qplug_queue* q = vt->declare(d, {qp_q.data(), qp_q.size()}, &opt, 1, &st);
  if (q == nullptr) die(std::string("qplug declare: ") + st.message);

  double rp = raw_publish(t, raw_q, n);
  double qp = qplug_publish(vt, q, n);
  double rc = raw_consume(t, raw_q, n);
  double qc = qplug_consume(vt, q, n);
  vt->close(d, 5000);

  std::printf("amqp bench, %d persistent messages of %zu bytes, durable queue, one connection each\n", n, kBody.size());
  std::printf("  %-34s %10.0f msg/s\n", "raw rabbitmq-c publish (confirm/100)", rp);
  std::printf("  %-34s %10.0f msg/s  (%.2fx raw)\n", "qplug amqp publish (confirm window)", qp, qp / rp);
  std::printf("  %-34s %10.0f msg/s\n", "raw rabbitmq-c consume+ack (qos 500)", rc);
  std::printf("  %-34s %10.0f msg/s  (%.2fx raw)\n", "qplug amqp consume+ack (prefetch 500)", qc, qc / rc);
  return 0;
}
