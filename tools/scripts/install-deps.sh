#!/usr/bin/env bash
# Installs every Debian package qplug needs to build, test and benchmark:
# libraries, the broker servers the integration tests start, and client tools
# written by others that the interop tests use. Idempotent: skips apt when all
# packages are already present, so repeated test runs stay fast.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ninja-build clang clang-format
  libclang-rt-14-dev  # clang's ASan/UBSan and libFuzzer runtimes (tools/test.sh, tools/fuzz.sh)
  libyaml-cpp-dev rapidjson-dev libmsgpack-cxx-dev libboost-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  lua5.4 liblua5.4-dev
  libhiredis-dev redis-server redis-tools
  librabbitmq-dev rabbitmq-server amqp-tools python3-pika
  libmosquitto-dev mosquitto mosquitto-clients liblmdb-dev libssl-dev openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Broker packages try to start their service on install; on machines without
# systemd that fails harmlessly, and the test scripts start their own instances.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages may have started system-wide brokers on default ports;
# stop them so the tests' own instances own their ports.
for svc in redis-server rabbitmq-server mosquitto; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
