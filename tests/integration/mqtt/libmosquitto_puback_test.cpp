// tests/integration/mqtt/libmosquitto_puback_test.cpp -- pins the behaviour of
// the INSTALLED libmosquitto that the MQTT driver's ack-after-processing
// argument rests on.
//
// libmosquitto acknowledges an incoming QoS 1 PUBLISH (send__puback) BEFORE it
// calls on_message; it has no manual-ack API. But a packet is written to the
// socket at once only when the client is not threaded and not inside a
// callback (lib/packet_mosq.c). With mosquitto_loop_start() the PUBACK is
// queued and reaches the socket only after on_message returns, so a process
// that dies inside on_message never acknowledged the message and the broker
// redelivers it to the durable session. With a hand-driven mosquitto_loop()
// the PUBACK is already on the wire and the message is gone.
//
// This is an implementation detail, not a documented guarantee: if a
// libmosquitto upgrade changes it, these tests fail and docs/drivers/mqtt.md
// must be revisited.
//
// Each test: a forked child connects as a durable v5 session, subscribes,
// and _exit()s inside on_message of the first message. The parent then
// resumes the same session and publishes a marker; the session's queue is
// FIFO, so whether the victim arrives before the marker says whether the
// broker still had it -- no timing involved.
#include <gtest/gtest.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <qplug/sdk/url.hpp>
#include <string>
#include <vector>

#include "broker_env.hpp"
#include "mqtt_test_client.hpp"

namespace {

using qplug::testing::kMosquitto;
using namespace qplug::testing::mqtt;

enum class Loop { kThreaded, kManual };

// The child: a durable session that subscribes, tells the parent through
// `ready_fd`, and dies inside on_message of the first message.
[[noreturn]] void run_dying_subscriber(const std::string& id, const std::string& topic, Loop loop, int ready_fd) {
  mosquitto_lib_init();
  mosquitto* m = mosquitto_new(id.c_str(), false, nullptr);
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_message_v5_callback_set(m, [](mosquitto*, void*, const mosquitto_message*, const mosquitto_property*) {
    _exit(0);  // the process dies while "handling" the message
  });
  mosquitto_subscribe_v5_callback_set(m, [](mosquitto*, void* fd, int, int, const int*, const mosquitto_property*) {
    char ok = 1;
    if (::write(static_cast<int>(reinterpret_cast<intptr_t>(fd)), &ok, 1) != 1) _exit(3);
  });
  mosquitto_user_data_set(m, reinterpret_cast<void*>(static_cast<intptr_t>(ready_fd)));
  Endpoint ep = endpoint();
  mosquitto_property* props = nullptr;
  mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, kSessionExpirySeconds);
  if (mosquitto_connect_bind_v5(m, ep.host.c_str(), ep.port, 30, nullptr, props) != MOSQ_ERR_SUCCESS) _exit(2);
  if (mosquitto_subscribe_v5(m, nullptr, topic.c_str(), 1, 0, nullptr) != MOSQ_ERR_SUCCESS) _exit(2);
  if (loop == Loop::kThreaded) {
    mosquitto_loop_start(m);
    for (;;) ::pause();
  }
  for (;;) {
    if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS) _exit(4);
  }
}

// Runs the scenario; returns what the resumed session receives up to the marker.
std::vector<std::string> scenario(Loop loop) {
  const std::string id = qplug::testing::unique_name("puback");
  const std::string topic = "qplug-test/" + id;
  int ready[2];
  EXPECT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(ready[0]);
    run_dying_subscriber(id, topic, loop, ready[1]);
  }
  ::close(ready[1]);
  char ok = 0;
  EXPECT_EQ(::read(ready[0], &ok, 1), 1) << "subscriber child never got its SUBACK";
  ::close(ready[0]);

  Client publisher(id + "-pub", false);
  EXPECT_TRUE(publisher.connect());
  EXPECT_TRUE(publisher.publish(topic, "victim"));
  int status = 0;
  EXPECT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;

  Client resumed(id, true);
  EXPECT_TRUE(resumed.connect());
  EXPECT_TRUE(resumed.subscribe(topic));
  EXPECT_TRUE(publisher.publish(topic, "marker"));
  auto got = resumed.received_through("marker");
  // End the session so reruns leave nothing behind: expiry 0 on disconnect.
  mosquitto_property* props = nullptr;
  mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 0);
  mosquitto_disconnect_v5(resumed.handle(), 0, props);
  mosquitto_property_free_all(&props);
  return got;
}

class LibmosquittoPuback : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = qplug::testing::broker_unreachable(kMosquitto, qplug::testing::broker_url(kMosquitto));
    if (!why.empty()) {
      if (qplug::testing::brokers_required()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    mosquitto_lib_init();
  }
  void TearDown() override { mosquitto_lib_cleanup(); }
};

TEST_F(LibmosquittoPuback, LoopStartSendsPubackOnlyAfterTheCallbackReturns) {
  auto got = scenario(Loop::kThreaded);
  ASSERT_FALSE(got.empty()) << "marker never arrived";
  EXPECT_EQ(got.front(), "victim") << "with mosquitto_loop_start the broker must still hold a message whose "
                                      "subscriber died inside on_message (PUBACK not yet sent)";
  EXPECT_EQ(got.back(), "marker");
}

// The contrast that shows the test above can fail: a hand-driven loop writes
// the PUBACK before on_message runs, so the message is lost.
TEST_F(LibmosquittoPuback, ManualLoopSendsPubackBeforeTheCallback) {
  auto got = scenario(Loop::kManual);
  ASSERT_FALSE(got.empty()) << "marker never arrived";
  EXPECT_EQ(got, std::vector<std::string>{"marker"}) << "mosquitto_loop() no longer acks before on_message";
}

}  // namespace
