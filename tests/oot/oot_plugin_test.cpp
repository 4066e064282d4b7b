// What the conformance suite cannot observe from outside, checked on the
// out-of-tree plugin through the loader and the raw C ABI: deliveries left
// unsettled at unsubscribe go to the next consumer while the old handles stay
// valid (settle -> CANCELED), even after the driver was closed; concurrent
// unsubscribe calls are safe; the plugin is found by search path.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <qplug/loader.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::chrono::seconds kDeadline{30};  // a bound on waits, never an expectation

const qplug_driver_v1* oot() {
  std::string error;
  const qplug::loader::Plugin* p = qplug::loader::load_file(QPLUG_OOT_PLUGIN, &error);
  EXPECT_NE(p, nullptr) << error;
  return p == nullptr ? nullptr : p->vtable;
}

qplug_status ok_status() {
  qplug_status st;
  std::memset(&st, 0, sizeof st);
  return st;
}

// Records deliveries; holds them unsettled unless `ack` is set.
struct Inbox {
  struct Got {
    qplug_delivery* delivery;
    std::string body;
    uint32_t attempts;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Got> got;
  bool ack = false;

  static void deliver(void* ud, qplug_delivery* d, const qplug_message* m) {
    auto* self = static_cast<Inbox*>(ud);
    std::string body(reinterpret_cast<const char*>(m->body.ptr), m->body.len);
    uint32_t attempts = m->attempts;
    if (self->ack) {
      qplug_status st = ok_status();
      EXPECT_EQ(oot()->settle(d, QPLUG_ACK, &st), QPLUG_OK) << st.message;
      d = nullptr;
    }
    std::lock_guard lock(self->mu);
    self->got.push_back({d, body, attempts});
    self->cv.notify_all();
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kDeadline, [&] { return got.size() >= n; });
  }
};

class OotPlugin : public testing::Test {
 protected:
  void SetUp() override {
    vt_ = oot();
    ASSERT_NE(vt_, nullptr);
    qplug_status st = ok_status();
    driver_ = vt_->open(nullptr, nullptr, 0, &st);
    ASSERT_NE(driver_, nullptr) << st.message;
    queue_ = vt_->declare(driver_, {"q", 1}, nullptr, 0, &st);
    ASSERT_NE(queue_, nullptr) << st.message;
  }
  void TearDown() override {
    if (driver_ != nullptr) vt_->close(driver_, 1000);
  }
  void publish(const std::string& body) {
    qplug_message m;
    std::memset(&m, 0, sizeof m);
    m.struct_size = sizeof m;
    m.abi_major = QPLUG_ABI_MAJOR;
    m.abi_minor = QPLUG_ABI_MINOR;
    m.body = {reinterpret_cast<const uint8_t*>(body.data()), body.size()};
    const qplug_message* one = &m;
    qplug_status st = ok_status();
    ASSERT_EQ(vt_->publish(queue_, &one, 1, nullptr, nullptr, nullptr, nullptr, &st), QPLUG_OK) << st.message;
  }
  qplug_consumer* subscribe(Inbox& inbox, uint32_t prefetch) {
    qplug_subscribe_options o;
    std::memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.abi_major = QPLUG_ABI_MAJOR;
    o.abi_minor = QPLUG_ABI_MINOR;
    o.prefetch = prefetch;
    qplug_status st = ok_status();
    qplug_consumer* c = vt_->subscribe(queue_, &o, &Inbox::deliver, &inbox, &st);
    EXPECT_NE(c, nullptr) << st.message;
    return c;
  }
  void drop(qplug_consumer* c) {
    qplug_status st = ok_status();
    EXPECT_EQ(vt_->unsubscribe(c, &st), QPLUG_OK) << st.message;
    vt_->consumer_free(c);
  }

  const qplug_driver_v1* vt_ = nullptr;
  qplug_driver* driver_ = nullptr;
  qplug_queue* queue_ = nullptr;
};

TEST(OotLoad, FoundBySearchPathAsTheSamePlugin) {
  std::string error;
  const qplug::loader::Plugin* by_name = qplug::loader::load_driver("oot", {QPLUG_OOT_DIR}, &error);
  ASSERT_NE(by_name, nullptr) << error;
  EXPECT_EQ(by_name->vtable, oot());
  EXPECT_EQ(qplug::loader::config_schema(*by_name), nullptr);
  EXPECT_NE(qplug::loader::queue_info(*by_name), nullptr);
}

TEST_F(OotPlugin, UnsettledDeliveriesGoToTheNextConsumerInOrder) {
  Inbox first;
  qplug_consumer* c1 = subscribe(first, 3);
  for (const char* body : {"a", "b", "c", "d"}) publish(body);
  ASSERT_TRUE(first.wait_for(3));
  drop(c1);  // "a", "b", "c" held; "d" never delivered (prefetch 3)
  ASSERT_EQ(first.got.size(), 3u);

  Inbox second;
  second.ack = true;
  qplug_consumer* c2 = subscribe(second, 10);
  ASSERT_TRUE(second.wait_for(4));
  drop(c2);
  std::vector<std::string> bodies;
  for (const auto& g : second.got) bodies.push_back(g.body);
  EXPECT_EQ(bodies, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(second.got[0].attempts, 2u);
  EXPECT_EQ(second.got[3].attempts, 1u);

  // The old handles are still valid and settle as CANCELED.
  for (auto& g : first.got) {
    qplug_status st = ok_status();
    EXPECT_EQ(vt_->settle(g.delivery, QPLUG_ACK, &st), QPLUG_CANCELED);
  }
  qplug_queue_info info;
  std::memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  qplug_status st = ok_status();
  ASSERT_EQ(vt_->queue_info(queue_, &info, &st), QPLUG_OK);
  EXPECT_EQ(info.messages, 0);
  EXPECT_EQ(info.consumers, 0);
}

TEST_F(OotPlugin, DetachedDeliverySettlesAfterClose) {
  Inbox inbox;
  qplug_consumer* c = subscribe(inbox, 1);
  publish("x");
  ASSERT_TRUE(inbox.wait_for(1));
  drop(c);
  vt_->close(driver_, 1000);
  driver_ = nullptr;
  qplug_status st = ok_status();
  EXPECT_EQ(vt_->settle(inbox.got[0].delivery, QPLUG_ACK, &st), QPLUG_CANCELED);  // no use-after-free (ASan)
}

TEST_F(OotPlugin, ConcurrentUnsubscribeCallsBothReturnAfterQuiescence) {
  Inbox inbox;
  inbox.ack = true;
  qplug_consumer* c = subscribe(inbox, 4);
  for (int i = 0; i < 200; ++i) publish(std::to_string(i));
  ASSERT_TRUE(inbox.wait_for(1));
  int32_t rc[2] = {-1, -1};
  std::thread t1([&] {
    qplug_status st = ok_status();
    rc[0] = vt_->unsubscribe(c, &st);
  });
  std::thread t2([&] {
    qplug_status st = ok_status();
    rc[1] = vt_->unsubscribe(c, &st);
  });
  t1.join();
  t2.join();
  EXPECT_EQ(rc[0], QPLUG_OK);
  EXPECT_EQ(rc[1], QPLUG_OK);
  size_t seen = 0;
  {
    std::lock_guard lock(inbox.mu);
    seen = inbox.got.size();
  }
  vt_->consumer_free(c);
  std::lock_guard lock(inbox.mu);
  EXPECT_EQ(inbox.got.size(), seen) << "a delivery arrived after unsubscribe returned";
  // Nothing lost: what was not delivered is still queued.
  qplug_queue_info info;
  std::memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  qplug_status st = ok_status();
  ASSERT_EQ(vt_->queue_info(queue_, &info, &st), QPLUG_OK);
  EXPECT_EQ(static_cast<size_t>(info.messages) + seen, 200u);
}

}  // namespace
