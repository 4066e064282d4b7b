// tests/drivers/mqtt_tls_test.cpp -- mqtts:// and the common tls.* keys
// against the TLS listeners of tools/scripts/brokers.sh (a throwaway CA made
// by mqtt-tls-certs.sh; `brokers.sh env` exports where): a message goes
// through TLS, and a server the client must not trust (unrelated CA, expired
// certificate) is a clear, immediate error naming TLS, never a hang or a
// connect timeout. TLS keys the driver would ignore are INVALID.
#include <cstdlib>
#include <string>

#include "broker_env.hpp"
#include "conformance_harness.hpp"

namespace qplug::conformance {
namespace {

using qplug::testing::env_or;

// The TLS setup brokers.sh exported; skipped (failed in CI) without it.
struct TlsEnv {
  std::string url = env_or("QPLUG_TEST_MQTT_TLS_URL", "");
  std::string expired_url = env_or("QPLUG_TEST_MQTT_TLS_EXPIRED_URL", "");
  std::string dir = env_or("QPLUG_TEST_MQTT_TLS_DIR", "");
  std::string ca() const { return dir + "/ca.pem"; }
  std::string other_ca() const { return dir + "/other-ca.pem"; }
  bool ok() const { return !url.empty() && !expired_url.empty() && !dir.empty(); }
};

class MqttTls : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!tls_.ok()) {
      const char* why = "QPLUG_TEST_MQTT_TLS_* not set: eval \"$(tools/scripts/brokers.sh env)\"";
      if (qplug::testing::brokers_required()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    driver_.close();  // each test opens its own, over TLS
  }
  // Opens with the target's settings plus `extra`; the status in *st.
  int32_t open(const KeyValues& extra, qplug_status* st) { return driver_.open(extra, st); }
  TlsEnv tls_;
};

bool contains(const char* text, const char* part) { return std::string(text).find(part) != std::string::npos; }

TEST_F(MqttTls, PublishAndConsumeOverTls) {
  qplug_status st = sdk::make_status();
  ASSERT_EQ(open({{"url", tls_.url}, {"tls.ca_file", tls_.ca()}}, &st), QPLUG_OK) << describe(st);
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(*q, got, [](const Received&) { return QPLUG_ACK; });
  ASSERT_TRUE(c.ok()) << describe(c.status());
  ASSERT_EQ(q->publish(make_message("over-tls", "secret")), QPLUG_OK);
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.snapshot()[0].message.body, "secret");
}

// A long connect_timeout: a failed handshake must be reported when it
// happens, not when the timeout runs out ("no CONNACK ... within").
TEST_F(MqttTls, UnrelatedCaIsAClearImmediateError) {
  qplug_status st = sdk::make_status();
  ASSERT_EQ(open({{"url", tls_.url}, {"tls.ca_file", tls_.other_ca()}, {"connect_timeout", "120s"}}, &st),
            QPLUG_PERMISSION_DENIED)
      << describe(st);
  EXPECT_TRUE(contains(st.message, "TLS handshake")) << st.message;
  EXPECT_TRUE(contains(st.message, "the server certificate was refused")) << st.message;
  EXPECT_FALSE(contains(st.message, "within connect_timeout")) << st.message;
  EXPECT_FALSE(st.flags & QPLUG_STATUS_RETRYABLE) << "a refused certificate stays refused: " << st.message;
}

TEST_F(MqttTls, ExpiredServerCertificateIsAClearImmediateError) {
  qplug_status st = sdk::make_status();
  ASSERT_EQ(open({{"url", tls_.expired_url}, {"tls.ca_file", tls_.ca()}, {"connect_timeout", "120s"}}, &st),
            QPLUG_PERMISSION_DENIED)
      << describe(st);
  EXPECT_TRUE(contains(st.message, "TLS handshake")) << st.message;
  EXPECT_TRUE(contains(st.message, "certificate has expired")) << st.message;
  EXPECT_FALSE(contains(st.message, "within connect_timeout")) << st.message;
  EXPECT_FALSE(st.flags & QPLUG_STATUS_RETRYABLE) << st.message;
}

// verify_peer: false really turns verification off (the unrelated CA passes).
TEST_F(MqttTls, VerifyPeerOffAcceptsAnUntrustedServer) {
  qplug_status st = sdk::make_status();
  ASSERT_EQ(open({{"url", tls_.url}, {"tls.ca_file", tls_.other_ca()}, {"tls.verify_peer", "false"}}, &st), QPLUG_OK)
      << describe(st);
  auto q = declare_unique();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->publish(make_message("unverified", "x")), QPLUG_OK);
}

// Keys that TLS-less or libmosquitto would ignore: INVALID naming the key,
// before any connection.
TEST_F(MqttTls, TlsKeysTheDriverWouldIgnoreAreInvalid) {
  const std::string plain = qplug::testing::broker_url(qplug::testing::kMosquitto);
  struct Case {
    KeyValues extra;
    const char* expect;
  };
  const Case cases[] = {
      {{{"url", plain}, {"tls.ca_file", tls_.ca()}}, "'tls.ca_file' is given but TLS is off"},
      {{{"url", plain}, {"tls.verify_peer", "false"}}, "'tls.verify_peer' is given but TLS is off"},
      {{{"url", tls_.url}, {"tls.enabled", "false"}}, "'tls.enabled' is false but the url is mqtts://"},
      {{{"url", tls_.url}, {"tls.server_name", "broker.example"}}, "mqtt driver: 'tls.server_name' is not supported"},
      {{{"url", tls_.url}, {"tls.ca_file", tls_.dir + "/missing.pem"}}, "key 'tls.ca_file'"},
      {{{"url", tls_.url}, {"tls.cert_file", tls_.dir + "/server.pem"}}, "'tls.cert_file' and 'tls.key_file' go"},
  };
  for (const Case& c : cases) {
    qplug_status st = sdk::make_status();
    EXPECT_EQ(open(c.extra, &st), QPLUG_INVALID) << c.expect << ": " << describe(st);
    EXPECT_TRUE(contains(st.message, c.expect)) << st.message;
    driver_.close();
  }
}

// tls.enabled: true on an mqtt:// URL turns TLS on (as on amqp): the TLS
// listener only answers a TLS client, so opening proves TLS was used.
TEST_F(MqttTls, TlsEnabledOnAPlainUrlMeansTls) {
  qplug_status st = sdk::make_status();
  const std::string tls_port = tls_.url.substr(tls_.url.rfind(':'));
  ASSERT_EQ(open({{"url", "mqtt://localhost" + tls_port}, {"tls.enabled", "true"}, {"tls.ca_file", tls_.ca()}}, &st),
            QPLUG_OK)
      << describe(st);
}

}  // namespace
}  // namespace qplug::conformance
