// Fuzzes the Redis driver's reply handling: bytes from the server go through
// hiredis' RESP reader with the driver's arena reply builder
// (rstream_reply_arena), then every reply is walked the way the stream reader
// walks it (rstream_replies: XREADGROUP and XAUTOCLAIM shapes, entry IDs) and
// every field list is decoded as a stream entry (rstream_fields).
// Invariants: no crash or leak on any reply; a decoded entry that the SDK
// would accept for publishing encodes back to fields that decode to the same
// message (id, content type, body, typed headers).
#include <hiredis.h>

#include <cstdint>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/validate.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_message.hpp"
#include "rstream_fields.hpp"
#include "rstream_replies.hpp"
#include "rstream_reply_arena.hpp"

namespace {

using namespace qplug::rstream;

// A field array built from encoded XADD arguments, as Redis would return it
// (strings NUL-terminated, like hiredis' replies).
class FieldArray {
 public:
  explicit FieldArray(const std::vector<std::string_view>& argv) {
    texts_.reserve(argv.size());
    for (std::string_view a : argv) texts_.emplace_back(a);
    nodes_.resize(texts_.size());
    for (size_t i = 0; i < texts_.size(); ++i) {
      nodes_[i] = redisReply{};
      nodes_[i].type = REDIS_REPLY_STRING;
      nodes_[i].str = texts_[i].data();
      nodes_[i].len = texts_[i].size();
      pointers_.push_back(&nodes_[i]);
    }
    top_ = redisReply{};
    top_.type = REDIS_REPLY_ARRAY;
    top_.elements = pointers_.size();
    top_.element = pointers_.data();
  }
  const redisReply* get() const { return &top_; }

 private:
  std::vector<std::string> texts_;
  std::vector<redisReply> nodes_;
  std::vector<redisReply*> pointers_;
  redisReply top_{};
};

void fuzz_decode_entry(const redisReply* fields, std::string_view entry_id) {
  std::vector<qplug_header> headers;
  qplug_message view{};
  std::string why;
  if (!decode_fields(fields, entry_id, &headers, &view, &why)) {
    FUZZ_CHECK(!why.empty());
    return;
  }
  FUZZ_CHECK(view.header_count == headers.size());
  qplug_status st = qplug::sdk::make_status();
  if (qplug::sdk::check_message(&view, 0, "fuzz", qplug::sdk::MessageLimits{}, &st) != QPLUG_OK) return;
  const qplug::sdk::OwnedMessage first(view);

  EncodedFields encoded;
  FUZZ_CHECK(encode_fields(view, &encoded, &st));
  const FieldArray again(encoded.argv);
  std::vector<qplug_header> headers2;
  qplug_message view2{};
  FUZZ_CHECK(decode_fields(again.get(), entry_id, &headers2, &view2, &why));
  FUZZ_CHECK(qplug::fuzz::same_message(first, qplug::sdk::OwnedMessage(view2)));
}

// What Subscription::deliver_entries does with an entries array.
void fuzz_walk_entries(const redisReply* entries) {
  if (!is_array(entries) || entries->elements == 0) return;
  const std::string first(entry_id_of(entries->element[0]));
  const std::string last(entry_id_of(entries->element[entries->elements - 1]));
  for (size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    if (!is_array(e) || e->elements < 2) continue;
    const std::string id(entry_id_of(e));
    if (e->element[1]->type != REDIS_REPLY_ARRAY) continue;  // deleted while pending
    fuzz_decode_entry(e->element[1], id);
  }
}

void fuzz_walk_reply(const redisReply* r) {
  fuzz_walk_entries(xread_entries(r));
  std::string_view cursor;
  const redisReply* claimed = nullptr;
  if (xautoclaim_parts(r, &cursor, &claimed)) fuzz_walk_entries(claimed);
  fuzz_walk_entries(r);
  if (is_array(r)) fuzz_decode_entry(r, "0-1");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  redisReader* reader = redisReaderCreate();
  ReplyArenaCursor cursor;
  use_reply_arenas(reader, &cursor);
  if (redisReaderFeed(reader, reinterpret_cast<const char*>(data), size) == REDIS_OK) {
    for (;;) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader, &reply) != REDIS_OK || reply == nullptr) break;
      fuzz_walk_reply(static_cast<const redisReply*>(reply));
      free_reply(static_cast<redisReply*>(reply));
    }
  }
  redisReaderFree(reader);
  return 0;
}
