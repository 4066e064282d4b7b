// mqtt_tls.hpp -- the common tls.* settings applied to a libmosquitto client
// (mosquitto_tls_set / mosquitto_tls_opts_set), and how a failed handshake is
// told apart from a lost connection. docs/drivers/mqtt.md, "TLS".
#pragma once

#include <mosquitto.h>
#include <qplug/driver.h>

#include <qplug/sdk/network_settings.hpp>
#include <string>
#include <string_view>

namespace qplug::mqtt {

// Configures TLS on `mosq` before its first connect. A file that cannot be
// read is INVALID naming the key; nothing is left to a prompt (an encrypted
// key file fails instead of asking on the terminal).
int32_t apply_tls(mosquitto* mosq, const sdk::TlsSettings& tls, qplug_status* st);

// Whether a libmosquitto error line (its log callback) comes from OpenSSL:
// libmosquitto 2.0.11 reports a failed handshake only this way (no
// disconnect callback; its network thread ends).
bool is_openssl_error(std::string_view log_line);

// Why the server's certificate was refused ("certificate has expired",
// "unable to get local issuer certificate"), or "" when it was not. Called
// on the network thread, from libmosquitto's log callback that reports the
// failed handshake: the SSL object is then still there and nothing else uses it.
std::string certificate_refusal(mosquitto* mosq);

}  // namespace qplug::mqtt
