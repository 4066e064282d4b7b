// qplug/value.hpp -- the dynamic value model shared by codecs, the C++ API
// and the Lua binding: null, bool, int64, double, string (binary-safe),
// array, map (string keys, insertion order kept).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace qplug {

class Value;
using Array = std::vector<Value>;
using Map = std::vector<std::pair<std::string, Value>>;  // insertion order, unique keys

class Value {
 public:
  using Storage = std::variant<std::monostate, bool, int64_t, double, std::string, Array, Map>;
  Value() = default;
  Value(std::nullptr_t) {}                       // NOLINT
  Value(bool b) : v_(b) {}                       // NOLINT
  Value(int v) : v_(static_cast<int64_t>(v)) {}  // NOLINT
  Value(int64_t v) : v_(v) {}                    // NOLINT
  Value(double v) : v_(v) {}                     // NOLINT
  Value(const char* s) : v_(std::string(s)) {}   // NOLINT
  Value(std::string s) : v_(std::move(s)) {}     // NOLINT
  Value(Array a) : v_(std::move(a)) {}           // NOLINT
  Value(Map m) : v_(std::move(m)) {}             // NOLINT

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_double() const { return std::holds_alternative<double>(v_); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_array() const { return std::holds_alternative<Array>(v_); }
  bool is_map() const { return std::holds_alternative<Map>(v_); }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Map& as_map() const { return std::get<Map>(v_); }
  Map& as_map() { return std::get<Map>(v_); }

  // Map lookup; nullptr if not a map or key missing.
  const Value* find(std::string_view key) const;

  const Storage& storage() const { return v_; }
  bool operator==(const Value& o) const { return v_ == o.v_; }

 private:
  Storage v_;
};

}  // namespace qplug
