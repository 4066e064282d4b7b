// mqtt_tls.cpp -- see mqtt_tls.hpp.
#include "mqtt_tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <qplug/sdk/status.hpp>
#include <string>

namespace qplug::mqtt {
namespace {

// OpenSSL's password callback: no password, so an encrypted key fails to
// load (a clear error) instead of OpenSSL prompting on the terminal.
int no_password(char*, int, int, void*) { return 0; }

int32_t check_readable(const char* key, const std::string& path, qplug_status* st) {
  if (path.empty() || ::access(path.c_str(), R_OK) == 0) return QPLUG_OK;
  return sdk::fail(st, QPLUG_INVALID, false, "mqtt driver: key '%s' ('%s'): %s", key, path.c_str(),
                   std::strerror(errno));
}

const char* opt(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

}  // namespace

int32_t apply_tls(mosquitto* mosq, const sdk::TlsSettings& tls, qplug_status* st) {
  if (!tls.enabled) return QPLUG_OK;
  for (const auto& [key, path] : {std::pair<const char*, const std::string&>{"tls.ca_file", tls.ca_file},
                                  {"tls.cert_file", tls.cert_file},
                                  {"tls.key_file", tls.key_file}})
    if (int32_t rc = check_readable(key, path, st); rc != QPLUG_OK) return rc;
  // Without a CA file the system's CA store verifies the broker.
  if (tls.ca_file.empty()) mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
  int rc = mosquitto_tls_set(mosq, opt(tls.ca_file), nullptr, opt(tls.cert_file), opt(tls.key_file), no_password);
  if (rc != MOSQ_ERR_SUCCESS)
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt driver: tls.* settings refused by libmosquitto: %s",
                     mosquitto_strerror(rc));
  if (!tls.verify_peer) {
    // SSL_VERIFY_NONE (0): no chain check; insecure: no host name check.
    rc = mosquitto_tls_opts_set(mosq, 0, nullptr, nullptr);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_insecure_set(mosq, true);
    if (rc != MOSQ_ERR_SUCCESS)
      return sdk::fail(st, QPLUG_INVALID, false, "mqtt driver: key 'tls.verify_peer' refused by libmosquitto: %s",
                       mosquitto_strerror(rc));
  }
  return QPLUG_OK;
}

bool is_openssl_error(std::string_view line) { return line.find("OpenSSL Error") != std::string_view::npos; }

std::string certificate_refusal(mosquitto* mosq) {
  auto* ssl = static_cast<SSL*>(mosquitto_ssl_get(mosq));
  if (ssl == nullptr) return "";
  const long result = SSL_get_verify_result(ssl);
  return result == X509_V_OK ? "" : X509_verify_cert_error_string(result);
}

}  // namespace qplug::mqtt
