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
#include "codec/builtin_codecs.hpp"

#include <msgpack.hpp>

#include <cmath>
#include <limits>

namespace qplug::codec {
namespace {

// Lets msgpack::packer append straight into the caller's string.
struct MsgpackStringSink {
  std::string* out;
  void write(const char* data, size_t len) { out->append(data, len); }
};

Status msgpack_write(const Value& v, msgpack::packer<MsgpackStringSink>& pk, int depth) {
  struct Visitor {
    msgpack::packer<MsgpackStringSink>& pk;
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
      pk.pack_double(d);
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
        Status st = msgpack_write(e, pk, depth + 1);
        if (!st.ok()) return st;
      }
      return ok_status();
    }
    Status operator()(const Map& m) {
      if (depth >= kMaxValueDepth) return invalid_error("value nests deeper than 64 levels");
      pk.pack_map(static_cast<uint32_t>(m.size()));
      for (const auto& [k, e] : m) {
        (*this)(k).ignore();
        Status st = msgpack_write(e, pk, depth + 1);
        if (!st.ok()) return st;
      }
      return ok_status();
    }
  };
  return std::visit(Visitor{pk, depth}, v.storage());
}

Result<Value> msgpack_to_value(const msgpack::object& o, int depth) {
  switch (o.type) {
    case msgpack::type::NIL: return Value();
    case msgpack::type::BOOLEAN: return Value(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER:
      if (o.via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Value(static_cast<int64_t>(o.via.u64));
      }
      return Value(static_cast<double>(o.via.u64));
    case msgpack::type::NEGATIVE_INTEGER: return Value(static_cast<int64_t>(o.via.i64));
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return Value(o.via.f64);
    case msgpack::type::STR: return Value(std::string(o.via.str.ptr, o.via.str.size));
    case msgpack::type::BIN: return Value(std::string(o.via.bin.ptr, o.via.bin.size));
    case msgpack::type::ARRAY: {
      if (depth >= kMaxValueDepth) return invalid_error("msgpack body nests deeper than 64 levels");
      Array arr;
      arr.reserve(o.via.array.size);
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        Result<Value> e = msgpack_to_value(o.via.array.ptr[i], depth + 1);
        if (!e.ok()) return e.status();
        arr.push_back(std::move(e).value());
      }
      return Value(std::move(arr));
    }
    case msgpack::type::MAP: {
      if (depth >= kMaxValueDepth) return invalid_error("msgpack body nests deeper than 64 levels");
      Map map;
      map.reserve(o.via.map.size);
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        const msgpack::object_kv& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) return invalid_error("msgpack map keys must be strings");
        std::string key(kv.key.via.str.ptr, kv.key.via.str.size);
        Result<Value> e = msgpack_to_value(kv.val, depth + 1);
        if (!e.ok()) return e.status();
        bool replaced = false;
        for (auto& [k, existing] : map) {
          if (k == key) {
            existing = std::move(e).value();
            replaced = true;
            break;
          }
        }
        if (!replaced) map.emplace_back(std::move(key), std::move(e).value());
      }
      return Value(std::move(map));
    }
    case msgpack::type::EXT: return invalid_error("msgpack ext types are not supported");
  }
  return invalid_error("msgpack body has an unknown type");
}

class MsgpackCodec final : public Codec {
 public:
  std::string_view name() const override { return "msgpack"; }
  std::string_view content_type() const override { return "application/msgpack"; }

  Status encode(const Value& v, std::string* out) const override {
    MsgpackStringSink sink{out};
    msgpack::packer<MsgpackStringSink> pk(sink);
    const size_t before = out->size();
    Status st = msgpack_write(v, pk, 0);
    if (!st.ok()) out->resize(before);  // never leave half a value behind
    return st;
  }

  Result<Value> decode(std::string_view body, std::string_view /*content_type*/) const override {
    if (body.empty()) return invalid_error("msgpack body is empty");
    const size_t n = body.size();
    // An element needs at least one byte, a map entry two: lengths beyond that are lies.
    msgpack::unpack_limit limit(n, n / 2 + 1, n, n, n, kMaxValueDepth + 1);
    size_t offset = 0;
    try {
      msgpack::object_handle handle =
          msgpack::unpack(body.data(), n, offset, nullptr, nullptr, limit);
      if (offset != n) {
        return invalid_error("msgpack body has " + std::to_string(n - offset) + " trailing bytes");
      }
      return msgpack_to_value(handle.get(), 0);
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
