// NetworkSettings: the common keys of every network driver, read once, with
// the deprecated per-driver spellings as aliases and unsupported keys
// refused by name.
#include <gtest/gtest.h>

#include <initializer_list>
#include <qplug/sdk/network_settings.hpp>
#include <string>
#include <utility>
#include <vector>

using qplug::sdk::ConfigReader;
using qplug::sdk::NetworkSettings;
using qplug::sdk::read_network_settings;

namespace {

struct Kvs {
  Kvs(std::initializer_list<std::pair<std::string, std::string>> pairs) : pairs_(pairs) {
    for (const auto& [k, v] : pairs_) kv_.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  }
  ConfigReader reader() const { return ConfigReader(kv_.data(), kv_.size()); }
  std::vector<std::pair<std::string, std::string>> pairs_;
  std::vector<qplug_kv> kv_;
};

// finish()'s message, or "" when the block is valid.
std::string finish(const ConfigReader& cfg, const char* where) {
  qplug_status st = qplug::sdk::make_status();
  return cfg.finish(&st, where) ? "" : st.message;
}

}  // namespace

TEST(NetworkSettings, ReadsEveryCommonKey) {
  Kvs kvs{{"url", "amqps://h/"},
          {"connect_timeout", "2s"},
          {"publish_timeout", "1.5s"},
          {"reconnect.initial_delay", "50ms"},
          {"reconnect.max_delay", "3s"},
          {"heartbeat", "10s"},
          {"client_name", "svc"},
          {"tls.enabled", "Yes"},
          {"tls.ca_file", "/ca.pem"},
          {"tls.cert_file", "/c.pem"},
          {"tls.key_file", "/k.pem"},
          {"tls.verify_peer", "OFF"},
          {"tls.server_name", "broker.example"}};
  ConfigReader cfg = kvs.reader();
  NetworkSettings n = read_network_settings(cfg, "test", qplug::sdk::kNetAll, {});
  EXPECT_EQ(finish(cfg, "test driver"), "");
  EXPECT_EQ(n.url, "amqps://h/");
  EXPECT_EQ(n.connect_timeout_ms, 2000);
  EXPECT_EQ(n.publish_timeout_ms, 1500);
  EXPECT_EQ(n.reconnect_initial_delay_ms, 50);
  EXPECT_EQ(n.reconnect_max_delay_ms, 3000);
  EXPECT_EQ(n.heartbeat_ms, 10000);
  EXPECT_EQ(n.client_name, "svc");
  EXPECT_TRUE(n.tls.enabled);
  EXPECT_EQ(n.tls.ca_file, "/ca.pem");
  EXPECT_EQ(n.tls.cert_file, "/c.pem");
  EXPECT_EQ(n.tls.key_file, "/k.pem");
  EXPECT_FALSE(n.tls.verify_peer);
  EXPECT_EQ(n.tls.server_name, "broker.example");
}

TEST(NetworkSettings, KeepsTheDriversDefaultsForKeysNotGiven) {
  Kvs kvs{};
  ConfigReader cfg = kvs.reader();
  NetworkSettings defaults;
  defaults.url = "redis://127.0.0.1:6379/0";
  defaults.connect_timeout_ms = 2000;
  NetworkSettings n = read_network_settings(cfg, "redis", qplug::sdk::kNetNoTls, defaults);
  EXPECT_EQ(finish(cfg, "redis driver"), "");
  EXPECT_EQ(n.url, defaults.url);
  EXPECT_EQ(n.connect_timeout_ms, 2000);
  EXPECT_FALSE(n.tls.enabled);
}

TEST(NetworkSettings, UnsupportedKeyIsInvalidNamingKeyAndDriver) {
  Kvs kvs{{"tls.enabled", "true"}};
  ConfigReader cfg = kvs.reader();
  (void)read_network_settings(cfg, "redis", qplug::sdk::kNetNoTls, {});
  EXPECT_EQ(finish(cfg, "redis driver"), "redis driver: 'tls.enabled' is not supported");
}

TEST(NetworkSettings, TlsDisabledIsAcceptedEvenWithoutTls) {
  Kvs kvs{{"tls.enabled", "false"}};
  ConfigReader cfg = kvs.reader();
  NetworkSettings n = read_network_settings(cfg, "redis", qplug::sdk::kNetNoTls, {});
  EXPECT_EQ(finish(cfg, "redis driver"), "");
  EXPECT_FALSE(n.tls.enabled);
}

TEST(NetworkSettings, ServerNameHasItsOwnFlag) {
  Kvs kvs{{"tls.enabled", "true"}, {"tls.server_name", "x"}};
  ConfigReader cfg = kvs.reader();
  (void)read_network_settings(cfg, "amqp", qplug::sdk::kNetNoTls | qplug::sdk::kNetTls, {});
  EXPECT_EQ(finish(cfg, "amqp driver"), "amqp driver: 'tls.server_name' is not supported");
}

TEST(NetworkSettings, EveryAliasInTheTableIsReadUnderItsNewName) {
  for (const qplug::sdk::KeyAlias& a : qplug::sdk::kKeyAliases) {
    const std::string old_key(a.old_key);
    Kvs kvs{{old_key, "1234"}};
    ConfigReader cfg = kvs.reader();
    NetworkSettings n = read_network_settings(cfg, a.driver, qplug::sdk::kNetAll, {});
    EXPECT_EQ(finish(cfg, "x driver"), "") << old_key;
    ASSERT_EQ(cfg.warnings().size(), 1u) << old_key;
    EXPECT_EQ(cfg.warnings()[0], "'" + old_key + "' is deprecated, use '" + std::string(a.new_key) + "'");
    const std::string new_key(a.new_key);
    if (new_key == "reconnect.initial_delay") {
      EXPECT_EQ(n.reconnect_initial_delay_ms, 1234) << old_key;
    }
    if (new_key == "reconnect.max_delay") {
      EXPECT_EQ(n.reconnect_max_delay_ms, 1234) << old_key;
    }
    if (new_key == "connect_timeout") {
      EXPECT_EQ(n.connect_timeout_ms, 1234) << old_key;
    }
    if (new_key == "publish_timeout") {
      EXPECT_EQ(n.publish_timeout_ms, 1234) << old_key;
    }
    if (new_key == "client_name") {
      EXPECT_EQ(n.client_name, "1234") << old_key;
    }
  }
}

TEST(NetworkSettings, AliasesBelongToTheirDriver) {
  Kvs kvs{{"reconnect_delay", "1s"}};  // amqp's old name, given to redis
  ConfigReader cfg = kvs.reader();
  (void)read_network_settings(cfg, "redis", qplug::sdk::kNetNoTls, {});
  EXPECT_EQ(finish(cfg, "redis driver"), "redis driver: unknown key 'reconnect_delay'");
}

TEST(NetworkSettings, AliasAndNewNameDisagreeingIsInvalid) {
  Kvs kvs{{"reconnect.initial", "50ms"}, {"reconnect.initial_delay", "70ms"}};
  ConfigReader cfg = kvs.reader();
  (void)read_network_settings(cfg, "redis", qplug::sdk::kNetNoTls, {});
  EXPECT_EQ(finish(cfg, "redis driver"),
            "redis driver: 'reconnect.initial' (deprecated) is '50ms' but 'reconnect.initial_delay' is '70ms': give "
            "only 'reconnect.initial_delay'");
}

TEST(NetworkSettings, MaxDelayBelowInitialDelayIsInvalid) {
  Kvs kvs{{"reconnect.initial_delay", "2s"}, {"reconnect.max_delay", "1s"}};
  ConfigReader cfg = kvs.reader();
  (void)read_network_settings(cfg, "redis", qplug::sdk::kNetNoTls, {});
  EXPECT_EQ(finish(cfg, "redis driver"),
            "redis driver: 'reconnect.max_delay' (1000ms) is below 'reconnect.initial_delay' (2000ms)");
}

TEST(NetworkSettings, RaisedInitialDelayLiftsTheDefaultCeiling) {
  Kvs kvs{{"reconnect.initial_delay", "1m"}};
  ConfigReader cfg = kvs.reader();
  NetworkSettings n = read_network_settings(cfg, "redis", qplug::sdk::kNetNoTls, {});
  EXPECT_EQ(finish(cfg, "redis driver"), "");
  EXPECT_EQ(n.reconnect_max_delay_ms, 60000);
}

TEST(NetworkSettings, ZeroConnectTimeoutIsInvalid) {
  Kvs kvs{{"connect_timeout", "0"}};
  ConfigReader cfg = kvs.reader();
  (void)read_network_settings(cfg, "redis", qplug::sdk::kNetNoTls, {});
  EXPECT_EQ(finish(cfg, "redis driver"), "redis driver: 'connect_timeout' must be > 0");
}

TEST(NetworkSettings, CertWithoutKeyIsInvalid) {
  Kvs kvs{{"tls.enabled", "true"}, {"tls.cert_file", "/c.pem"}};
  ConfigReader cfg = kvs.reader();
  (void)read_network_settings(cfg, "amqp", qplug::sdk::kNetAll, {});
  EXPECT_EQ(finish(cfg, "amqp driver"),
            "amqp driver: 'tls.cert_file' and 'tls.key_file' go together: give both or neither");
}

TEST(NetworkSettings, BadValuesNameTheKey) {
  Kvs kvs{{"heartbeat", "soon"}};
  ConfigReader cfg = kvs.reader();
  (void)read_network_settings(cfg, "amqp", qplug::sdk::kNetAll, {});
  EXPECT_EQ(finish(cfg, "amqp driver"),
            "amqp driver: key 'heartbeat' has value 'soon', expected a duration (e.g. 500, 500ms, 1.5s, 2m, 1h)");
}

TEST(NetworkSettings, BackoffFollowsTheReconnectDelays) {
  NetworkSettings n;
  n.reconnect_initial_delay_ms = 100;
  n.reconnect_max_delay_ms = 400;
  qplug::sdk::Backoff b = n.backoff();
  int64_t first = b.next_ms();
  EXPECT_GE(first, 50);
  EXPECT_LE(first, 100);
  for (int i = 0; i < 10; ++i) EXPECT_LE(b.next_ms(), 400);
}

// resolve_tls: one rule for every driver with TLS (amqps://, mqtts://).
namespace {
std::string resolve(std::initializer_list<std::pair<std::string, std::string>> pairs, const char* scheme,
                    bool* enabled = nullptr) {
  Kvs kvs(pairs);
  ConfigReader cfg = kvs.reader();
  NetworkSettings n = read_network_settings(cfg, "test", qplug::sdk::kNetAll, {});
  std::string why;
  if (!qplug::sdk::resolve_tls(&n.tls, scheme, "mqtts", &why)) return why;
  if (enabled != nullptr) *enabled = n.tls.enabled;
  return "";
}
}  // namespace

TEST(NetworkSettings, TlsSchemeOrEnabledTurnsTlsOn) {
  bool on = false;
  EXPECT_EQ(resolve({}, "mqtts", &on), "");
  EXPECT_TRUE(on);
  EXPECT_EQ(resolve({{"tls.enabled", "true"}, {"tls.ca_file", "/ca.pem"}}, "mqtt", &on), "");
  EXPECT_TRUE(on);
  EXPECT_EQ(resolve({{"tls.enabled", "false"}}, "mqtt", &on), "");
  EXPECT_FALSE(on);
  EXPECT_EQ(resolve({}, "mqtt", &on), "");
  EXPECT_FALSE(on);
}

TEST(NetworkSettings, TlsContradictionsAreErrorsNamingTheKey) {
  EXPECT_EQ(resolve({{"tls.enabled", "false"}}, "mqtts"), "'tls.enabled' is false but the url is mqtts://");
  EXPECT_EQ(resolve({{"tls.ca_file", "/ca.pem"}}, "mqtt"),
            "'tls.ca_file' is given but TLS is off (use mqtts:// or tls.enabled: true)");
  EXPECT_EQ(resolve({{"tls.verify_peer", "false"}}, "mqtt"),
            "'tls.verify_peer' is given but TLS is off (use mqtts:// or tls.enabled: true)");
  EXPECT_EQ(resolve({{"tls.enabled", "false"}, {"tls.key_file", "/k"}, {"tls.cert_file", "/c"}}, "mqtt"),
            "'tls.cert_file' is given but TLS is off (use mqtts:// or tls.enabled: true)");
}
