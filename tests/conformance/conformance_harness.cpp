// tests/conformance/conformance_harness.cpp -- see conformance_harness.hpp.
#include "conformance_harness.hpp"

#include <unistd.h>

#include <cstdlib>
#include <qplug/loader.hpp>
#include <qplug/sdk/versioned.hpp>
#include <random>
#include <thread>

namespace qplug::conformance {

const Target& target() {
  static const Target t = make_target();
  return t;
}

const qplug_driver_v1* vtable() {
  static std::string error;
  static const loader::Plugin* plugin = [] {
    const Target& t = target();
    return t.plugin_path.empty() ? loader::load_driver(t.driver, loader::search_dirs(), &error)
                                 : loader::load_file(t.plugin_path, &error);
  }();
  if (plugin == nullptr) {
    ADD_FAILURE() << "cannot load driver '" << target().driver << "': " << error;
    return nullptr;
  }
  return plugin->vtable;
}

bool has_cap(uint64_t cap) {
  const qplug_driver_v1* vt = vtable();
  return vt != nullptr && (vt->capabilities & cap) == cap;
}

std::vector<qplug_kv> to_kv(const KeyValues& src) {
  std::vector<qplug_kv> out;
  out.reserve(src.size());
  for (const auto& [k, v] : src) out.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  return out;
}

std::string describe(const qplug_status& st) {
  static const char* names[] = {"OK",      "INVALID", "NOT_FOUND", "PERMISSION_DENIED", "UNAVAILABLE",
                                "TIMEOUT", "FULL",    "CANCELED",  "INTERNAL"};
  std::string code = st.code >= 0 && st.code <= 8 ? names[st.code] : std::to_string(st.code);
  return code + ((st.flags & QPLUG_STATUS_RETRYABLE) ? " (retryable)" : "") + ": " + st.message;
}

sdk::OwnedMessage make_message(const std::string& id, const std::string& body, const std::string& content_type) {
  sdk::OwnedMessage m;
  m.id = id;
  m.body = body;
  m.content_type = content_type;
  return m;
}

void add_header(sdk::OwnedMessage& m, const std::string& key, int32_t type, int64_t i64, double f64,
                const std::string& data) {
  sdk::OwnedHeader h;
  h.key = key;
  h.type = type;
  h.i64 = i64;
  h.f64 = f64;
  h.data = data;
  m.headers.push_back(std::move(h));
}

/* Collector ---------------------------------------------------------------- */

std::vector<Received> Collector::snapshot() {
  std::lock_guard lock(mu_);
  return got_;
}

size_t Collector::count() {
  std::lock_guard lock(mu_);
  return got_.size();
}

bool Collector::wait_for(size_t n, std::chrono::milliseconds deadline) {
  return wait_until([n](const std::vector<Received>& got) { return got.size() >= n; }, deadline);
}

bool Collector::wait_until(const std::function<bool(const std::vector<Received>&)>& pred,
                           std::chrono::milliseconds deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, deadline, [&] { return pred(got_); });
}

void Collector::on_delivery(int consumer, qplug_delivery* d, const qplug_message* m, const Policy& policy,
                            const std::atomic<bool>& unsubscribing) {
  callbacks_running.fetch_add(1);
  callbacks_total.fetch_add(1);
  size_t now = outstanding_.fetch_add(1) + 1;
  size_t prev = max_outstanding_.load();
  while (now > prev && !max_outstanding_.compare_exchange_weak(prev, now)) {
  }
  Received r;
  r.message.assign(*m);
  r.consumer = consumer;
  int32_t disposition = policy ? policy(r) : QPLUG_ACK;
  if (disposition == kHold) {
    r.delivery = d;
  } else {
    outstanding_.fetch_sub(1);
    qplug_status st = sdk::make_status();
    int32_t rc = vtable()->settle(d, disposition, &st);
    // A callback may still run while its consumer's unsubscribe() waits for it
    // to return; settle() may then answer CANCELED (driver.h, settle and
    // unsubscribe). Anything else, or CANCELED before unsubscribe, is a bug.
    // The flag is read after settle(): the driver saw the unsubscribe, so the
    // flag (stored before it) is visible here.
    const bool cancel_allowed = rc == QPLUG_CANCELED && unsubscribing.load();
    if (!cancel_allowed) {
      EXPECT_EQ(rc, QPLUG_OK) << "settle inside the callback: " << describe(st);
    }
    r.callback_settle_rc = rc;
  }
  {
    std::lock_guard lock(mu_);
    got_.push_back(std::move(r));
  }
  cv_.notify_all();
  callbacks_running.fetch_sub(1);
}

int32_t Collector::settle(size_t i, int32_t disposition, qplug_status* st) {
  qplug_delivery* d = nullptr;
  {
    std::lock_guard lock(mu_);
    if (i >= got_.size() || got_[i].delivery == nullptr) return QPLUG_INVALID;
    d = got_[i].delivery;
    got_[i].delivery = nullptr;
  }
  qplug_status local = sdk::make_status();
  // Lower the count first: once settled, the driver may deliver again at once.
  outstanding_.fetch_sub(1);
  int32_t rc = vtable()->settle(d, disposition, st != nullptr ? st : &local);
  cv_.notify_all();
  return rc;
}

std::vector<int32_t> Collector::settle_held(int32_t disposition) {
  std::vector<int32_t> codes;
  size_t n = count();
  for (size_t i = 0; i < n; ++i) {
    bool held = false;
    {
      std::lock_guard lock(mu_);
      held = got_[i].delivery != nullptr;
    }
    if (held) codes.push_back(settle(i, disposition));
  }
  return codes;
}

/* Consumer ----------------------------------------------------------------- */

Consumer::Consumer(Queue& q, Collector& c, Policy policy, uint32_t prefetch, int index, const std::string& group,
                   const std::string& name)
    : collector_(c), policy_(std::move(policy)), index_(index), group_(group), name_(name), vt_(q.vt) {
  auto opts = qplug::sdk::versioned<qplug_subscribe_options>();
  opts.prefetch = prefetch;
  opts.group = {group_.data(), group_.size()};
  opts.consumer_name = {name_.data(), name_.size()};
  handle_ = vt_->subscribe(q.handle, &opts, &Consumer::deliver, this, &st_);
}

Consumer::~Consumer() { free(); }

void Consumer::deliver(void* ud, qplug_delivery* d, const qplug_message* m) {
  auto* self = static_cast<Consumer*>(ud);
  self->collector_.on_delivery(self->index_, d, m, self->policy_, self->unsubscribing_);
}

int32_t Consumer::unsubscribe(qplug_status* st) {
  if (handle_ == nullptr) return QPLUG_OK;
  unsubscribing_.store(true);
  qplug_status local = sdk::make_status();
  return vt_->unsubscribe(handle_, st != nullptr ? st : &local);
}

void Consumer::free() {
  if (handle_ == nullptr) return;
  unsubscribing_.store(true);
  qplug_status st = sdk::make_status();
  int32_t rc = vt_->unsubscribe(handle_, &st);
  EXPECT_EQ(rc, QPLUG_OK) << describe(st);
  vt_->consumer_free(handle_);
  handle_ = nullptr;
}

/* Queue -------------------------------------------------------------------- */

int32_t Queue::publish(const sdk::OwnedMessage& m, qplug_status* st, int64_t timeout_ms) {
  sdk::OwnedMessage copy = m;
  const qplug_message* one = &copy.view();
  auto opts = qplug::sdk::versioned<qplug_publish_options>();
  opts.timeout_ms = timeout_ms;
  qplug_status local = sdk::make_status();
  size_t accepted = 0;
  return vt->publish(handle, &one, 1, &opts, nullptr, nullptr, &accepted, st != nullptr ? st : &local);
}

int32_t Queue::publish_batch(std::vector<sdk::OwnedMessage>& ms, size_t* accepted, qplug_status* st) {
  std::vector<const qplug_message*> ptrs;
  for (auto& m : ms) ptrs.push_back(&m.view());
  qplug_status local = sdk::make_status();
  return vt->publish(handle, ptrs.data(), ptrs.size(), nullptr, nullptr, nullptr, accepted,
                     st != nullptr ? st : &local);
}

int32_t Queue::publish_retrying(const sdk::OwnedMessage& m) {
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  for (;;) {
    qplug_status st = sdk::make_status();
    int32_t rc = publish(m, &st);
    if (rc == QPLUG_OK || !(st.flags & QPLUG_STATUS_RETRYABLE) || std::chrono::steady_clock::now() > deadline)
      return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // retry pacing, not an assertion
  }
}

/* Driver ------------------------------------------------------------------- */

int32_t Driver::open(const KeyValues& extra, qplug_status* st) {
  vt = vtable();
  if (vt == nullptr) return QPLUG_NOT_FOUND;
  KeyValues all = target().config;
  all.insert(all.end(), extra.begin(), extra.end());
  std::vector<qplug_kv> kv = to_kv(all);
  qplug_status local = sdk::make_status();
  qplug_status* s = st != nullptr ? st : &local;
  handle = vt->open(nullptr, kv.data(), kv.size(), s);
  return handle != nullptr ? QPLUG_OK : s->code;
}

void Driver::close() {
  if (handle != nullptr) vt->close(handle, 10000);
  handle = nullptr;
}

std::unique_ptr<Queue> Driver::declare(const std::string& name, const KeyValues& extra, qplug_status* st) {
  KeyValues all = target().queue_options;
  all.insert(all.end(), extra.begin(), extra.end());
  std::vector<qplug_kv> kv = to_kv(all);
  qplug_status local = sdk::make_status();
  qplug_queue* q = vt->declare(handle, {name.data(), name.size()}, kv.data(), kv.size(), st != nullptr ? st : &local);
  if (q == nullptr) return nullptr;
  return std::make_unique<Queue>(vt, q, name);
}

/* Fixture ------------------------------------------------------------------ */

void ConformanceTest::SetUp() {
  const Target& t = target();
  std::string why = t.broker_check ? t.broker_check() : std::string{};
  if (!why.empty()) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") FAIL() << why;
    GTEST_SKIP() << why;
  }
  vt_ = vtable();
  ASSERT_NE(vt_, nullptr);
  qplug_status st = sdk::make_status();
  ASSERT_EQ(driver_.open({}, &st), QPLUG_OK) << describe(st);
}

void ConformanceTest::TearDown() { driver_.close(); }

std::string ConformanceTest::unique_name(const std::string& suffix) {
  static std::atomic<int> counter{0};
  // The pid alone repeats (pid_max is 32768 here): in repeated runs against
  // one broker a test met the retained state of an earlier run's queue of the
  // same name, whose anchor had gone, and its publish was refused (reason 16).
  static const std::string run = std::to_string(std::random_device{}() % 1000000);
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "conf_" + std::string(info->name()) + "_" + std::to_string(::getpid()) + "_" + run + "_" +
                     std::to_string(counter.fetch_add(1));
  return suffix.empty() ? name : name + "_" + suffix;
}

std::unique_ptr<Queue> ConformanceTest::declare_unique(const KeyValues& extra) {
  qplug_status st = sdk::make_status();
  auto q = driver_.declare(unique_name(), extra, &st);
  EXPECT_NE(q, nullptr) << describe(st);
  return q;
}

void ConformanceTest::quiet_period() { std::this_thread::sleep_for(std::chrono::milliseconds(target().quiet_ms)); }

}  // namespace qplug::conformance
