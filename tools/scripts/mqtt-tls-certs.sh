#!/usr/bin/env bash
# Makes the throwaway TLS material the mqtt TLS tests run against, in $1
# (brokers.sh calls it before it starts mosquitto; existing files are kept):
#
#   ca.pem, ca.key          a test CA
#   server.pem, server.key  signed by it for localhost / 127.0.0.1, valid 10 years
#   expired.pem             the same key, signed by it, valid only in 2020
#   other-ca.pem            an unrelated CA: verifying the server with it must fail
#
# Debian 12's OpenSSL 3.0 has no `x509 -not_before/-not_after`; `openssl ca`
# takes explicit -startdate/-enddate, so the expired certificate is real
# (not faked with a clock), and every certificate comes from the same tool.
set -euo pipefail
dir=$1
[ -s "$dir/expired.pem" ] && [ -s "$dir/other-ca.pem" ] && exit 0
mkdir -p "$dir/ca-db"
cd "$dir"
: > ca-db/index.txt
echo 01 > ca-db/serial
cat > ca.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
dir = $dir/ca-db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
x509_extensions = server_ext
[any]
commonName = supplied
[server_ext]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
CNF
q() {  # runs quietly; on failure shows what openssl said
  local out
  out=$("$@" 2>&1) || { echo "mqtt-tls-certs: failed: $*" >&2; echo "$out" >&2; return 1; }
}
q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj "/CN=qplug test CA"
q openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 3650 \
  -subj "/CN=qplug unrelated CA"
q openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
q openssl ca -batch -config ca.cnf -notext -days 3650 -in server.csr -out server.pem
q openssl ca -batch -config ca.cnf -notext -startdate 20200101000000Z -enddate 20200201000000Z \
  -in server.csr -out expired.pem
chmod 600 ./*.key
