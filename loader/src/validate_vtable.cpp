// The one-time check of a plugin's vtable: after it passes, the core calls
// every mandatory op without testing it for NULL again.
#include "validate_vtable.hpp"

#include <array>
#include <cstddef>
#include <cstring>
#include <qplug/loader.hpp>

namespace qplug::loader::detail {

namespace {

// Every mandatory op with its name, in vtable order. All of them lie inside
// the v1.0 layout, so struct_size >= kMinDriverStructSize covers them.
struct MandatoryOp {
  const char* name;
  bool present;
};

std::array<MandatoryOp, 8> mandatory_ops(const qplug_driver_v1& vt) {
  return {{{"open", vt.open != nullptr},
           {"close", vt.close != nullptr},
           {"declare", vt.declare != nullptr},
           {"publish", vt.publish != nullptr},
           {"subscribe", vt.subscribe != nullptr},
           {"settle", vt.settle != nullptr},
           {"unsubscribe", vt.unsubscribe != nullptr},
           {"consumer_free", vt.consumer_free != nullptr}}};
}

// The three leading fields every versioned struct of every major starts with.
constexpr size_t kHeaderSize = offsetof(qplug_driver_v1, name);

std::string version_text(unsigned major, unsigned minor) { return std::to_string(major) + "." + std::to_string(minor); }

}  // namespace

std::string check_driver_name(const char* name) {
  if (name == nullptr) return "driver name is NULL";
  if (name[0] == '\0') return "driver name is empty";
  for (const char* p = name; *p != '\0'; ++p) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return "driver name '" + std::string(name) + "' has characters outside [A-Za-z0-9_-]";
  }
  return "";
}

std::string validate_vtable(const qplug_driver_v1& vt) {
  // Read the header first: a plugin of another major may have any layout
  // after it, so its major is the most useful thing to report.
  if (vt.struct_size < kHeaderSize) {
    return "struct too small (" + std::to_string(vt.struct_size) + " bytes, need " +
           std::to_string(kMinDriverStructSize) + ")";
  }
  if (vt.abi_major != QPLUG_ABI_MAJOR) {
    return "ABI major mismatch: plugin built for " + version_text(vt.abi_major, vt.abi_minor) + ", host speaks " +
           version_text(QPLUG_ABI_MAJOR, QPLUG_ABI_MINOR);
  }
  if (vt.struct_size < kMinDriverStructSize) {
    return "struct too small (" + std::to_string(vt.struct_size) + " bytes, need " +
           std::to_string(kMinDriverStructSize) + ")";
  }
  if (std::string fault = check_driver_name(vt.name); !fault.empty()) return fault;
  if (vt.version == nullptr) return "driver version is NULL";
  if (vt.version[0] == '\0') return "driver version is empty";
  for (const MandatoryOp& op : mandatory_ops(vt)) {
    if (!op.present) return std::string("mandatory operation '") + op.name + "' is NULL";
  }
  return "";
}

}  // namespace qplug::loader::detail
