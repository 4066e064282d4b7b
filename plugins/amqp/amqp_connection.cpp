// amqp_connection.cpp -- librabbitmq connection setup, channel RPCs, teardown.
#include "amqp_connection.hpp"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdlib>
#include <qplug/sdk/status.hpp>
#include <vector>

#include "amqp_errors.hpp"

namespace qplug::amqp {
namespace {

timeval amqp_timeval_ms(int64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}
amqp_bytes_t amqp_bytes_of(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }

amqp_table_entry_t amqp_long_arg(const char* key, int64_t v) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_I64;
  e.value.value.i64 = v;
  return e;
}
amqp_table_entry_t amqp_string_arg(const char* key, const std::string& v) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = amqp_bytes_of(v);
  return e;
}

// A pass-through `arguments.<x-...>` value, typed: a whole number is a long
// (x-max-length: 1000 must not arrive as the string "1000"), true/false a
// boolean, anything else a string.
amqp_table_entry_t amqp_typed_arg(const std::string& key, const std::string& raw) {
  amqp_table_entry_t e{};
  e.key = amqp_bytes_of(key);
  char* end = nullptr;
  errno = 0;
  long long n = raw.empty() ? 0 : std::strtoll(raw.c_str(), &end, 10);
  if (!raw.empty() && errno == 0 && *end == '\0') {
    e.value.kind = AMQP_FIELD_KIND_I64;
    e.value.value.i64 = n;
  } else if (raw == "true" || raw == "false") {
    e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
    e.value.value.boolean = raw == "true";
  } else {
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = amqp_bytes_of(raw);
  }
  return e;
}

}  // namespace

int32_t Connection::open(const DriverConfig& cfg, qplug_status* st) {
  close(0);
  broken_ = false;
  conn_ = amqp_new_connection();
  if (conn_ == nullptr) return sdk::fail(st, QPLUG_INTERNAL, true, "amqp: out of memory creating a connection");
  std::string where = "connect to " + cfg.host + ":" + std::to_string(cfg.port);
  amqp_socket_t* sock = nullptr;
  if (cfg.tls) {
    sock = amqp_ssl_socket_new(conn_);
    if (sock != nullptr) {
      amqp_ssl_socket_set_verify_peer(sock, cfg.tls_verify_peer ? 1 : 0);
      amqp_ssl_socket_set_verify_hostname(sock, cfg.tls_verify_hostname ? 1 : 0);
      if (!cfg.tls_ca_file.empty() && amqp_ssl_socket_set_cacert(sock, cfg.tls_ca_file.c_str()) != AMQP_STATUS_OK) {
        close(0);
        return sdk::fail(st, QPLUG_INVALID, false, "amqp driver: key 'tls.ca_file': cannot load '%s'",
                         cfg.tls_ca_file.c_str());
      }
      if (!cfg.tls_cert_file.empty() &&
          amqp_ssl_socket_set_key(sock, cfg.tls_cert_file.c_str(), cfg.tls_key_file.c_str()) != AMQP_STATUS_OK) {
        close(0);
        return sdk::fail(st, QPLUG_INVALID, false, "amqp driver: key 'tls.cert_file'/'tls.key_file': cannot load them");
      }
    }
  } else {
    sock = amqp_tcp_socket_new(conn_);
  }
  if (sock == nullptr) {
    close(0);
    return sdk::fail(st, QPLUG_INTERNAL, false, "amqp: cannot create a %s socket", cfg.tls ? "TLS" : "TCP");
  }
  timeval tv = amqp_timeval_ms(cfg.connection_timeout_ms);
  amqp_set_handshake_timeout(conn_, &tv);
  amqp_set_rpc_timeout(conn_, &tv);
  int rc = amqp_socket_open_noblock(sock, cfg.host.c_str(), cfg.port, &tv);
  if (rc != AMQP_STATUS_OK) {
    int32_t code = status_from_library(rc, where, st);
    close(0);
    return code;
  }
  // connection_name shows in the management UI; the capability makes the
  // broker say "access refused" instead of just dropping the socket.
  amqp_table_entry_t caps_entries[2] = {};
  caps_entries[0].key = amqp_cstring_bytes("authentication_failure_close");
  caps_entries[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  caps_entries[0].value.value.boolean = 1;
  caps_entries[1].key = amqp_cstring_bytes("consumer_cancel_notify");
  caps_entries[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  caps_entries[1].value.value.boolean = 1;
  amqp_table_entry_t props[2] = {};
  props[0] = amqp_string_arg("connection_name", cfg.connection_name);
  props[1].key = amqp_cstring_bytes("capabilities");
  props[1].value.kind = AMQP_FIELD_KIND_TABLE;
  props[1].value.value.table = amqp_table_t{2, caps_entries};
  amqp_table_t client_props{2, props};
  amqp_rpc_reply_t r =
      amqp_login_with_properties(conn_, cfg.vhost.c_str(), 0, kRequestedFrameMax, cfg.heartbeat_s, &client_props,
                                 AMQP_SASL_METHOD_PLAIN, cfg.user.c_str(), cfg.password.c_str());
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    int32_t code = status_from_reply(
        r, "login to " + cfg.host + ":" + std::to_string(cfg.port) + " vhost '" + cfg.vhost + "' as '" + cfg.user + "'",
        st);
    close(0);
    return code;
  }
  return QPLUG_OK;
}

void Connection::cork(bool on) {
  if (conn_ == nullptr || corked_ == on) return;
  corked_ = on;
  int value = on ? 1 : 0;
  int fd = amqp_get_sockfd(conn_);
  // A failure only costs batching (e.g. a non-TCP socket), never correctness.
  if (fd >= 0) (void)::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &value, sizeof value);
}

void Connection::close(uint32_t timeout_ms) {
  corked_ = false;
  if (conn_ == nullptr) return;
  if (!broken_ && timeout_ms > 0) {
    timeval tv = amqp_timeval_ms(timeout_ms);
    amqp_set_rpc_timeout(conn_, &tv);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn_);
  conn_ = nullptr;
}

int32_t Connection::check(uint16_t ch, const std::string& what, qplug_status* st) {
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return QPLUG_OK;
  int32_t code = status_from_reply(r, what, st);
  if (is_connection_error(r)) {
    broken_ = true;
    return code;
  }
  // The broker closed only this channel: acknowledge and reopen it.
  amqp_channel_close_ok_t ok{};
  if (amqp_send_method(conn_, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK) {
    broken_ = true;
    return code;
  }
  qplug_status ignored{};
  open_channel(ch, &ignored);
  return code;
}

int32_t Connection::open_channel(uint16_t ch, qplug_status* st) {
  amqp_channel_open(conn_, ch);
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return QPLUG_OK;
  broken_ = true;  // a channel that cannot be opened leaves us nothing to work with
  return status_from_reply(r, "open channel " + std::to_string(ch), st);
}

int32_t Connection::close_channel(uint16_t ch, qplug_status* st) {
  amqp_rpc_reply_t r = amqp_channel_close(conn_, ch, AMQP_REPLY_SUCCESS);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return QPLUG_OK;
  if (is_connection_error(r)) broken_ = true;
  return status_from_reply(r, "close channel " + std::to_string(ch), st);
}

int32_t Connection::confirm_select(uint16_t ch, qplug_status* st) {
  amqp_confirm_select(conn_, ch);
  return check(ch, "confirm.select", st);
}

int32_t Connection::declare(uint16_t ch, const std::string& name, const QueueOptions& q, bool passive,
                            int64_t* messages, int64_t* consumers, qplug_status* st) {
  if (!passive && !q.dead_letter_queue.empty()) {
    QueueOptions dlq;
    dlq.durable = q.durable;
    int32_t rc = declare(ch, q.dead_letter_queue, dlq, false, nullptr, nullptr, st);
    if (rc != QPLUG_OK) return rc;
  }
  std::vector<amqp_table_entry_t> args;
  if (!passive) {
    if (q.max_length > 0) args.push_back(amqp_long_arg("x-max-length", q.max_length));
    if (q.message_ttl_ms >= 0) args.push_back(amqp_long_arg("x-message-ttl", q.message_ttl_ms));
    if (q.queue_expiry_ms > 0) args.push_back(amqp_long_arg("x-expires", q.queue_expiry_ms));
    if (q.max_priority > 0) args.push_back(amqp_long_arg("x-max-priority", q.max_priority));
    if (!q.queue_type.empty()) args.push_back(amqp_string_arg("x-queue-type", q.queue_type));
    if (!q.dead_letter_exchange.empty() || !q.dead_letter_queue.empty())
      args.push_back(amqp_string_arg("x-dead-letter-exchange", q.dead_letter_exchange));
    if (!q.dead_letter_routing_key.empty())
      args.push_back(amqp_string_arg("x-dead-letter-routing-key", q.dead_letter_routing_key));
    for (const auto& [key, raw] : q.arguments) args.push_back(amqp_typed_arg(key, raw));
  }
  amqp_table_t table{static_cast<int>(args.size()), args.empty() ? nullptr : args.data()};
  amqp_queue_declare_ok_t* ok =
      amqp_queue_declare(conn_, ch, amqp_bytes_of(name), passive, q.durable, q.exclusive, q.auto_delete, table);
  int32_t rc = check(ch, std::string(passive ? "inspect" : "declare") + " queue '" + name + "'", st);
  if (rc == QPLUG_OK && ok != nullptr) {
    if (messages) *messages = ok->message_count;
    if (consumers) *consumers = ok->consumer_count;
  }
  return rc;
}

int32_t Connection::declare_fanout(uint16_t ch, const std::string& exchange, bool durable, qplug_status* st) {
  amqp_exchange_declare(conn_, ch, amqp_bytes_of(exchange), amqp_cstring_bytes("fanout"), 0, durable, 0, 0,
                        amqp_empty_table);
  return check(ch, "declare exchange '" + exchange + "'", st);
}

int32_t Connection::bind(uint16_t ch, const std::string& queue, const std::string& exchange, qplug_status* st) {
  amqp_queue_bind(conn_, ch, amqp_bytes_of(queue), amqp_bytes_of(exchange), amqp_empty_bytes, amqp_empty_table);
  return check(ch, "bind queue '" + queue + "' to exchange '" + exchange + "'", st);
}

int32_t Connection::consume(uint16_t ch, const std::string& queue, uint16_t prefetch, const std::string& tag,
                            bool exclusive, std::string* actual_tag, qplug_status* st) {
  amqp_basic_qos(conn_, ch, 0, prefetch, 0);
  int32_t rc = check(ch, "basic.qos on queue '" + queue + "'", st);
  if (rc != QPLUG_OK) return rc;
  amqp_basic_consume_ok_t* ok =
      amqp_basic_consume(conn_, ch, amqp_bytes_of(queue), amqp_bytes_of(tag), 0, 0, exclusive, amqp_empty_table);
  rc = check(ch, "consume queue '" + queue + "'", st);
  if (rc == QPLUG_OK && ok != nullptr)
    actual_tag->assign(static_cast<const char*>(ok->consumer_tag.bytes), ok->consumer_tag.len);
  return rc;
}

int32_t Connection::cancel(uint16_t ch, const std::string& tag, qplug_status* st) {
  amqp_basic_cancel(conn_, ch, amqp_bytes_of(tag));
  return check(ch, "cancel consumer '" + tag + "'", st);
}

}  // namespace qplug::amqp
