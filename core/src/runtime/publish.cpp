// publish.cpp -- the publish paths: encode, check permissions, one ABI call.
//
// Hot path notes: the route lookup is a lock-free read of an immutable map by
// string_view; bodies, header arrays, message views and the IDs the core
// assigns all live in thread_local buffers reused from call to call (the
// driver copies what it keeps), so a publish allocates nothing per message.

#include <qplug/sdk/versioned.hpp>
#include <string>
#include <vector>

#include "model/uuid_v7.hpp"
#include "runtime/abi_message.hpp"
#include "runtime/abi_status.hpp"
#include "runtime/core_headers.hpp"
#include "runtime/publish_path.hpp"
#include "runtime/runtime_impl.hpp"

namespace qplug::detail {
namespace {

struct PublishScratch {
  std::string body;
  std::vector<qplug_header> headers;
  std::vector<qplug_message> views;
  std::vector<const qplug_message*> ptrs;
  std::vector<char> ids;       // kUuidTextSize bytes per message the core names
  std::vector<size_t> counts;  // headers per message (the core may add one)
};

PublishScratch& scratch() {
  thread_local PublishScratch s;
  return s;
}

bool is_empty_data(const Value& v) {
  return v.is_null() || (v.is_map() && v.as_map().empty()) || (v.is_array() && v.as_array().empty());
}

qplug_publish_options abi_options(PublishOptions opts) {
  auto o = qplug::sdk::versioned<qplug_publish_options>();
  o.timeout_ms = opts.timeout.count();
  return o;
}

std::string publish_context(const Route& route) { return "publish to '" + route.entry->id + "'"; }

Status check_accepted(const Route& route, size_t accepted, size_t n) {
  if (accepted >= n) return ok_status();
  return internal_error(publish_context(route) + ": driver confirmed " + std::to_string(accepted) + " of " +
                            std::to_string(n) + " messages",
                        true);
}

// The queue's max_body_bytes, checked on the encoded body before the driver
// sees it (so a batch with one big message publishes none).
Status check_body_size(const Route& route, size_t size) {
  const int64_t max = route.entry->max_body_bytes;
  if (max <= 0 || size <= static_cast<uint64_t>(max)) return ok_status();
  return invalid_error(publish_context(route) + ": the body is " + std::to_string(size) +
                       " bytes encoded, more than max_body_bytes " + std::to_string(max) + " (" +
                       route.entry->where.to_string() + ")");
}

// Checks the batch before anything is sent: one bad message fails it whole.
Status check_batch(const Message* messages, size_t n) {
  if (n == 0) return invalid_error("message batch is empty");
  for (size_t i = 0; i < n; ++i) {
    if (messages[i].body.empty())
      return invalid_error("message " + std::to_string(i) + " of the batch: message data is empty");
  }
  return ok_status();
}

// Builds the ABI views of `messages` in the thread's scratch buffers into
// *batch. A message without an ID gets a new UUIDv7 and one without a content
// type gets the codec's: both written into the views only (the caller handed
// the messages over by value, so nobody else sees them). The core's headers
// (delay, ttl) are checked and stamped here, so one bad message fails the batch.
Status abi_batch(const Route& route, const Message* messages, size_t n, const qplug_message* const** batch) {
  PublishScratch& s = scratch();
  s.headers.clear();
  s.counts.clear();
  size_t unnamed = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t before = s.headers.size();
    Status st = check_body_size(route, messages[i].body.size());
    if (st.ok()) st = append_publish_headers(route, messages[i].headers, &s.headers);
    if (!st.ok())
      return n == 1 ? st : Status(st.kind(), "message " + std::to_string(i) + " of the batch: " + st.message());
    s.counts.push_back(s.headers.size() - before);
    if (messages[i].id.empty()) ++unnamed;
  }
  s.ids.resize(unnamed * kUuidTextSize);  // sized before views point into it
  const qplug_str codec_type = to_abi_str(route.codec->content_type());
  s.views.clear();
  s.ptrs.clear();
  size_t first_header = 0;
  char* next_id = s.ids.data();
  for (size_t i = 0; i < n; ++i) {
    const Message& m = messages[i];
    const size_t count = s.counts[i];
    qplug_message v = abi_message_view(m, s.headers.data() + first_header, count);
    if (m.id.empty()) {
      write_uuid_v7(next_id);
      v.id = qplug_str{next_id, kUuidTextSize};
      next_id += kUuidTextSize;
    }
    if (m.content_type.empty()) v.content_type = codec_type;
    s.views.push_back(v);
    first_header += count;
  }
  for (const qplug_message& v : s.views) s.ptrs.push_back(&v);
  *batch = s.ptrs.data();
  return ok_status();
}

struct AsyncPublish {
  const Route* route;
  size_t n;
  std::function<void(Status)> done;
};

void on_async_done(void* ud, const qplug_status* status, size_t accepted) {
  std::unique_ptr<AsyncPublish> ctx(static_cast<AsyncPublish*>(ud));
  Status s = status != nullptr ? status_from_abi(*status, publish_context(*ctx->route)) : ok_status();
  if (s.ok()) s = check_accepted(*ctx->route, accepted, ctx->n);
  try {
    ctx->done(std::move(s));
  } catch (...) {
    // A throwing completion must not unwind into the driver's C code.
  }
}

}  // namespace

Status publish_on_route(const Route& route, const Message* messages, size_t n, PublishOptions opts) {
  const qplug_message* const* batch = nullptr;
  Status built = abi_batch(route, messages, n, &batch);
  if (!built.ok()) return built;
  const qplug_publish_options o = abi_options(opts);
  qplug_status st = fresh_abi_status();
  size_t accepted = 0;
  const int32_t code = route.driver->vt()->publish(route.queue, batch, n, &o, nullptr, nullptr, &accepted, &st);
  if (code != QPLUG_OK) {
    if (st.code == QPLUG_OK) st.code = code;
    return status_from_abi(st, publish_context(route));
  }
  return check_accepted(route, accepted, n);
}

Result<const Route*> RuntimeImpl::route_for_publish(std::string_view queue_id, const SecurityContext* security) const {
  if (closed_.load(std::memory_order_relaxed)) return canceled_error("publish: the runtime is stopped");
  const Route* route = router_->find(queue_id);
  if (route == nullptr) return Router::lookup_error(queue_id);
  if (security != nullptr || !host_always_allowed_) {
    Status s = check_permission(security, "queue.publish", "");
    if (s.ok()) s = check_permission(security, "queue.publish.queue", queue_id);
    if (!s.ok()) return s;
  }
  return route;
}

Status RuntimeImpl::publish(std::string_view queue_id, const Value& data, const Headers& headers,
                            const SecurityContext* security, PublishOptions opts) {
  auto route = route_for_publish(queue_id, security);
  if (!route.ok()) return route.status();
  const Route& r = **route;
  if (is_empty_data(data)) return invalid_error("message data is empty");

  PublishScratch& s = scratch();
  s.body.clear();
  Status enc = r.codec->encode(data, &s.body);
  if (!enc.ok()) return invalid_error("publish to '" + r.entry->id + "': " + enc.message());
  if (Status size = check_body_size(r, s.body.size()); !size.ok()) return size;
  s.headers.clear();
  Status checked = append_publish_headers(r, headers, &s.headers);
  if (!checked.ok()) return checked;

  char id[kUuidTextSize];
  write_uuid_v7(id);
  auto m = qplug::sdk::versioned<qplug_message>();
  m.id = qplug_str{id, kUuidTextSize};
  m.content_type = to_abi_str(r.codec->content_type());
  m.body = qplug_bytes{reinterpret_cast<const uint8_t*>(s.body.data()), s.body.size()};
  m.headers = s.headers.empty() ? nullptr : s.headers.data();
  m.header_count = s.headers.size();
  const qplug_message* one = &m;

  const qplug_publish_options o = abi_options(opts);
  qplug_status st = fresh_abi_status();
  size_t accepted = 0;
  const int32_t code = r.driver->vt()->publish(r.queue, &one, 1, &o, nullptr, nullptr, &accepted, &st);
  if (code != QPLUG_OK) {
    if (st.code == QPLUG_OK) st.code = code;
    return status_from_abi(st, publish_context(r));
  }
  return check_accepted(r, accepted, 1);
}

Status RuntimeImpl::publish_batch(std::string_view queue_id, std::vector<Message> messages,
                                  const SecurityContext* security, PublishOptions opts) {
  auto route = route_for_publish(queue_id, security);
  if (!route.ok()) return route.status();
  Status checked = check_batch(messages.data(), messages.size());
  if (!checked.ok()) return checked;
  return publish_on_route(**route, messages.data(), messages.size(), opts);
}

void RuntimeImpl::publish_async(std::string_view queue_id, std::vector<Message> messages,
                                std::function<void(Status)> done, const SecurityContext* security) {
  if (!done) done = [](Status) {};
  auto route = route_for_publish(queue_id, security);
  if (!route.ok()) return done(route.status());
  Status checked = check_batch(messages.data(), messages.size());
  if (!checked.ok()) return done(std::move(checked));

  const Route& r = **route;
  const qplug_message* const* batch = nullptr;
  Status built = abi_batch(r, messages.data(), messages.size(), &batch);
  if (!built.ok()) return done(std::move(built));
  auto ctx = std::make_unique<AsyncPublish>(AsyncPublish{&r, messages.size(), std::move(done)});
  qplug_status st = fresh_abi_status();
  const qplug_publish_options o = abi_options({});
  AsyncPublish* raw = ctx.release();  // owned by on_async_done from here on, if the driver accepts
  const int32_t code = r.driver->vt()->publish(r.queue, batch, messages.size(), &o, on_async_done, raw, nullptr, &st);
  if (code != QPLUG_OK) {
    // The driver never calls done() when publish itself fails: report here, once.
    std::unique_ptr<AsyncPublish> owned(raw);
    if (st.code == QPLUG_OK) st.code = code;
    owned->done(status_from_abi(st, publish_context(r)));
  }
}

}  // namespace qplug::detail
