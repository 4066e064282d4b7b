// The msgpack codec (content type application/msgpack), built on msgpack-cxx.
//
// - Strings are binary-safe: encoded as msgpack str (bytes verbatim); both str and
//   bin decode to a string Value.
// - int64 and double are preserved; float32 decodes as double; unsigned integers
//   above INT64_MAX decode as doubles (as in the JSON codec).
// - Map keys must be strings (INVALID otherwise); duplicate keys: the last wins.
// - Ext types and trailing bytes after the value are INVALID.
// - Nesting is limited to kMaxValueDepth, and every container/string length is
//   bounded by the body size before anything is allocated, so a 5-byte body that
//   claims a 4-billion-element array is rejected rather than allocated.
#include <cmath>
#include <cstring>
#include <limits>
#include <msgpack.hpp>

#include "codec/builtin_codecs.hpp"

namespace qplug::codec {
namespace {

// Lets msgpack::packer append straight into the caller's string.
struct MsgpackStringSink {
  std::string* out;
  void write(const char* data, size_t len) { out->append(data, len); }
};

Status msgpack_write(const Value& v, msgpack::packer<MsgpackStringSink>& pk, MsgpackStringSink& sink, int depth) {
  struct Visitor {
    msgpack::packer<MsgpackStringSink>& pk;
    MsgpackStringSink& sink;
    int depth;
    Status operator()(std::monostate) {
      pk.pack_nil();
      return ok_status();
    }
    Status operator()(bool b) {
      if (b) {
        pk.pack_true();
      } else {
        pk.pack_false();
      }
      return ok_status();
    }
    Status operator()(int64_t i) {
      pk.pack_int64(i);
      return ok_status();
    }
    Status operator()(double d) {
      // Always float64: msgpack-cxx's pack_double() turns integral doubles
      // (1.0) into integers, which would not read back as floats.
      uint64_t bits = 0;
      std::memcpy(&bits, &d, sizeof bits);
      char buf[9];
      buf[0] = static_cast<char>(0xcb);
      for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xFF);
      sink.write(buf, sizeof buf);
      return ok_status();
    }
    Status operator()(const std::string& s) {
      if (s.size() > std::numeric_limits<uint32_t>::max()) return invalid_error("string too long for msgpack");
      pk.pack_str(static_cast<uint32_t>(s.size()));
      pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
      return ok_status();
    }
    Status operator()(const Array& a) {
      if (depth >= kMaxValueDepth) return invalid_error("value nests deeper than 64 levels");
      pk.pack_array(static_cast<uint32_t>(a.size()));
      for (const Value& e : a) {
        Status st = msgpack_write(e, pk, sink, depth + 1);
        if (!st.ok()) return st;
      }
      return ok_status();
    }
    Status operator()(const Map& m) {
      if (depth >= kMaxValueDepth) return invalid_error("value nests deeper than 64 levels");
      pk.pack_map(static_cast<uint32_t>(m.size()));
      for (const auto& [k, e] : m) {
        (*this)(k).ignore();
        Status st = msgpack_write(e, pk, sink, depth + 1);
        if (!st.ok()) return st;
      }
      return ok_status();
    }
  };
  return std::visit(Visitor{pk, sink, depth}, v.storage());
}

// Converts into *out (an out-parameter rather than Result<Value> temporaries:
// cheaper, and GCC 12 under ASan raises false -Wmaybe-uninitialized on the latter).
Status msgpack_to_value(const msgpack::object& o, int depth, Value* out) {
  switch (o.type) {
    case msgpack::type::NIL:
      *out = Value();
      return ok_status();
    case msgpack::type::BOOLEAN:
      *out = o.via.boolean;
      return ok_status();
    case msgpack::type::POSITIVE_INTEGER:
      if (o.via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        *out = static_cast<int64_t>(o.via.u64);
      } else {
        *out = static_cast<double>(o.via.u64);
      }
      return ok_status();
    case msgpack::type::NEGATIVE_INTEGER:
      *out = static_cast<int64_t>(o.via.i64);
      return ok_status();
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      *out = o.via.f64;
      return ok_status();
    case msgpack::type::STR:
      *out = std::string(o.via.str.ptr, o.via.str.size);
      return ok_status();
    case msgpack::type::BIN:
      *out = std::string(o.via.bin.ptr, o.via.bin.size);
      return ok_status();
    case msgpack::type::ARRAY: {
      if (depth >= kMaxValueDepth) return invalid_error("msgpack body nests deeper than 64 levels");
      *out = Array(o.via.array.size);
      Array& arr = out->as_array();
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        Status st = msgpack_to_value(o.via.array.ptr[i], depth + 1, &arr[i]);
        if (!st.ok()) return st;
      }
      return ok_status();
    }
    case msgpack::type::MAP: {
      if (depth >= kMaxValueDepth) return invalid_error("msgpack body nests deeper than 64 levels");
      *out = Map{};
      Map& map = out->as_map();
      map.reserve(o.via.map.size);
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        const msgpack::object_kv& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) return invalid_error("msgpack map keys must be strings");
        const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
        Value* slot = nullptr;
        for (auto& [k, existing] : map) {
          if (k == key) slot = &existing;  // duplicate key: the last one wins
        }
        if (slot == nullptr) slot = &map.emplace_back(std::string(key), Value()).second;
        Status st = msgpack_to_value(kv.val, depth + 1, slot);
        if (!st.ok()) return st;
      }
      return ok_status();
    }
    case msgpack::type::EXT:
      return invalid_error("msgpack ext types are not supported");
  }
  return invalid_error("msgpack body has an unknown type");
}

bool msgpack_reference_all(msgpack::type::object_type, std::size_t, void*) { return true; }

class MsgpackCodec final : public Codec {
 public:
  std::string_view name() const override { return "msgpack"; }
  std::string_view content_type() const override { return "application/msgpack"; }

  Status encode(const Value& v, std::string* out) const override {
    MsgpackStringSink sink{out};
    msgpack::packer<MsgpackStringSink> pk(sink);
    const size_t before = out->size();
    Status st = msgpack_write(v, pk, sink, 0);
    if (!st.ok()) out->resize(before);  // never leave half a value behind
    return st;
  }

  Result<Value> decode(std::string_view body, std::string_view /*content_type*/) const override {
    if (body.empty()) return invalid_error("msgpack body is empty");
    const size_t n = body.size();
    // An element needs at least one byte, a map entry two: lengths beyond that are lies.
    msgpack::unpack_limit limit(n, n / 2 + 1, n, n, n, kMaxValueDepth + 1);
    size_t offset = 0;
    // One zone per thread, reused: unpack() would otherwise allocate a fresh
    // 8 KiB chunk per message. Strings reference the body (we copy them into
    // the Value anyway), so the zone only holds the object tree.
    thread_local msgpack::zone zone;
    struct ZoneClear {
      ~ZoneClear() { zone.clear(); }
    } clear_after;
    try {
      bool referenced = false;
      const msgpack::object root =
          msgpack::unpack(zone, body.data(), n, offset, referenced, &msgpack_reference_all, nullptr, limit);
      if (offset != n) {
        return invalid_error("msgpack body has " + std::to_string(n - offset) + " trailing bytes");
      }
      Value value;
      Status st = msgpack_to_value(root, 0, &value);
      if (!st.ok()) return st;
      return value;
    } catch (const msgpack::insufficient_bytes&) {
      return invalid_error("msgpack body is truncated");
    } catch (const msgpack::depth_size_overflow&) {
      return invalid_error("msgpack body nests deeper than 64 levels");
    } catch (const msgpack::size_overflow&) {
      return invalid_error("msgpack body declares a length larger than the body");
    } catch (const std::bad_alloc&) {
      return invalid_error("msgpack body is too large to decode");
    } catch (const std::exception& e) {
      return invalid_error(std::string("msgpack body is malformed: ") + e.what());
    }
  }
};

}  // namespace

const Codec& msgpack_codec() {
  static const MsgpackCodec codec;
  return codec;
}

}  // namespace qplug::codec
