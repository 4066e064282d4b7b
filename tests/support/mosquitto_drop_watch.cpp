// tests/support/mosquitto_drop_watch.cpp -- see mosquitto_drop_watch.hpp.
#include "mosquitto_drop_watch.hpp"

#include <mosquitto.h>

#include <cstdlib>
#include <cstring>
#include <qplug/sdk/url.hpp>

#include "broker_env.hpp"

namespace qplug::testing {

namespace {
constexpr const char* kDroppedTopic = "$SYS/broker/publish/messages/dropped";
constexpr const char* kUptimeTopic = "$SYS/broker/uptime";
constexpr auto kDeadline = std::chrono::seconds(30);
}  // namespace

MosquittoDropWatch::MosquittoDropWatch(const std::string& url) {
  std::string why;
  auto u = sdk::parse_url(url, &why);
  if (!u) {
    error_ = "bad mosquitto URL '" + url + "': " + why;
    return;
  }
  mosquitto_lib_init();
  m_ = mosquitto_new(nullptr, true, this);
  if (m_ == nullptr) {
    error_ = "mosquitto_new failed";
    return;
  }
  mosquitto_message_callback_set(m_, &MosquittoDropWatch::on_message);
  mosquitto_connect_callback_set(m_, &MosquittoDropWatch::on_connect);
  const int port = u->port == 0 ? kMosquitto.default_port : u->port;
  int rc = mosquitto_connect(m_, u->host.c_str(), port, 30);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(m_);
  if (rc != MOSQ_ERR_SUCCESS) {
    error_ = std::string("cannot watch ") + kDroppedTopic + " on " + url + ": " + mosquitto_strerror(rc);
    return;
  }
  // The subscription is only known to be in place once $SYS arrives on it.
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, kDeadline, [&] { return uptime_ >= 0; })) {
    error_ = std::string("no ") + kUptimeTopic + " from " + url + " within 30 s (is sys_interval set?)";
  }
}

MosquittoDropWatch::~MosquittoDropWatch() {
  if (m_ != nullptr) {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
  }
  mosquitto_lib_cleanup();
}

// Subscribes on every (re)connect: the session is clean, so after a broker
// restart (the chaos suite restarts it mid-test) the subscriptions are gone.
void MosquittoDropWatch::on_connect(::mosquitto* m, void*, int rc) {
  if (rc != 0) return;
  mosquitto_subscribe(m, nullptr, kDroppedTopic, 0);
  mosquitto_subscribe(m, nullptr, kUptimeTopic, 0);
}

void MosquittoDropWatch::on_message(::mosquitto*, void* self, const ::mosquitto_message* m) {
  auto* w = static_cast<MosquittoDropWatch*>(self);
  std::string payload(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen));
  std::lock_guard lock(w->mu_);
  if (std::strcmp(m->topic, kDroppedTopic) == 0) {
    if (m->retain) {
      w->retained_dropped_ = payload;
    } else if (payload != "0") {  // a restarted broker announces its fresh counter
      w->live_dropped_.push_back(payload);
    }
  } else if (std::strcmp(m->topic, kUptimeTopic) == 0) {
    w->uptime_ = std::strtoll(payload.c_str(), nullptr, 10);  // "<n> seconds"
    ++w->refreshes_;
  }
  w->cv_.notify_all();
}

bool MosquittoDropWatch::any_after_refresh() {
  std::unique_lock lock(mu_);
  const long long start = refreshes_;
  cv_.wait_for(lock, kDeadline, [&] { return refreshes_ >= start + 2; });
  return !live_dropped_.empty();
}

std::string MosquittoDropWatch::describe() {
  std::lock_guard lock(mu_);
  std::string s = "dropped counter: ";
  s += retained_dropped_.empty() ? "no retained value at start" : "retained " + retained_dropped_ + " at start";
  s += "; live updates:";
  if (live_dropped_.empty()) s += " none";
  for (const auto& v : live_dropped_) s += " " + v;
  return s;
}

}  // namespace qplug::testing
