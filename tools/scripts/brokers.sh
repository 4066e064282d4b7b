#!/usr/bin/env bash
# Starts/stops the real brokers the tests run against, on loopback ports of
# their own, with state under $QPLUG_BROKER_DIR (default /tmp/qplug-brokers).
#
#   tools/scripts/brokers.sh start [redis|rabbitmq|mosquitto]...   (default: all)
#   tools/scripts/brokers.sh stop  [...]
#   tools/scripts/brokers.sh restart redis
#   tools/scripts/brokers.sh env        # prints the QPLUG_TEST_*_URL exports
#
# Ports: redis 6390, rabbitmq 5690 (erlang dist 25690), mosquitto 1890, its
# TLS listener 1990 and a TLS listener with an expired certificate 2090.
set -uo pipefail

DIR=${QPLUG_BROKER_DIR:-/tmp/qplug-brokers}
REDIS_PORT=${QPLUG_TEST_REDIS_PORT:-6390}
AMQP_PORT=${QPLUG_TEST_AMQP_PORT:-5690}
AMQP_DIST_PORT=${QPLUG_TEST_AMQP_DIST_PORT:-25690}
MQTT_PORT=${QPLUG_TEST_MQTT_PORT:-1890}
MQTT_TLS_PORT=${QPLUG_TEST_MQTT_TLS_PORT:-1990}
MQTT_TLS_EXPIRED_PORT=${QPLUG_TEST_MQTT_TLS_EXPIRED_PORT:-$((MQTT_TLS_PORT + 100))}
# Several developers (or CI and a developer) can run side by side with their
# own ports, state dir and node name.
RABBIT_NODE=${QPLUG_TEST_AMQP_NODE:-qplug-test@localhost}
mkdir -p "$DIR"

log() { echo "brokers: $*" >&2; }

wait_for() {  # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

redis_up() { redis-cli -p "$REDIS_PORT" ping | grep -q PONG; }
start_redis() {
  redis_up && return 0
  mkdir -p "$DIR/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --appendonly yes \
    --appendfsync everysec --dir "$DIR/redis" --pidfile "$DIR/redis/redis.pid" \
    --logfile "$DIR/redis/redis.log" --save "" || return 1
  wait_for 15 redis_up || { log "redis-server did not start on 127.0.0.1:$REDIS_PORT (see $DIR/redis/redis.log)"; return 1; }
  log "redis-server up on 127.0.0.1:$REDIS_PORT"
}
stop_redis() {
  redis_up || return 0
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  wait_for 10 bash -c "! redis-cli -p $REDIS_PORT ping" || true
}

# RabbitMQ runs as the calling user (root in CI) straight from
# /usr/lib/rabbitmq/bin: the Debian wrapper in /usr/sbin would `su rabbitmq`,
# which resets HOME and cannot write our state dir. Server and rabbitmqctl
# share one HOME holding the node's own Erlang cookie (mode 400), so they
# authenticate to each other without touching /var/lib/rabbitmq.
RABBIT_BIN=${QPLUG_RABBIT_BIN:-/usr/lib/rabbitmq/bin}
[ -x "$RABBIT_BIN/rabbitmq-server" ] || RABBIT_BIN=$(dirname "$(command -v rabbitmq-server 2>/dev/null || echo /usr/sbin/rabbitmq-server)")
rabbit_env() {
  local base=$DIR/rabbitmq
  mkdir -p "$base/home" "$base/mnesia" "$base/log"
  if [ ! -s "$base/home/.erlang.cookie" ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$base/home/.erlang.cookie"
  fi
  chmod 400 "$base/home/.erlang.cookie"
  export HOME=$base/home
  export RABBITMQ_NODENAME=$RABBIT_NODE
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=$AMQP_PORT
  export RABBITMQ_DIST_PORT=$AMQP_DIST_PORT
  export RABBITMQ_MNESIA_BASE=$base/mnesia
  export RABBITMQ_LOG_BASE=$base/log
  export RABBITMQ_PID_FILE=$base/rabbit.pid
  export RABBITMQ_ENABLED_PLUGINS_FILE=$base/enabled_plugins
  # rabbitmq 3.10 takes the full path with .conf (older ones took it without).
  export RABBITMQ_CONFIG_FILE=$base/rabbitmq.conf
  export RABBITMQ_ADVANCED_CONFIG_FILE=$base/advanced.config
  export RABBITMQ_CONF_ENV_FILE=$base/rabbitmq-env.conf
  export RABBITMQ_ALLOW_INPUT=false
  export ERL_EPMD_ADDRESS=127.0.0.1
  # Keep the Erlang distribution port on loopback as well.
  # +sbwt none: idle schedulers sleep instead of spinning, so the node does not
  # take CPU from the tests on a 2-core machine.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
}
rabbitctl() { "$RABBIT_BIN/rabbitmqctl" -n "$RABBIT_NODE" "$@"; }
rabbit_amqp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$AMQP_PORT") 2>/dev/null; }
rabbit_up() { rabbit_amqp_open && rabbitctl -q status >/dev/null 2>&1; }
rabbit_pid() { [ -s "$DIR/rabbitmq/rabbit.pid" ] && cat "$DIR/rabbitmq/rabbit.pid"; }
start_rabbitmq() {
  rabbit_env
  rabbit_up && return 0
  [ -f "$RABBITMQ_ENABLED_PLUGINS_FILE" ] || echo "[]." > "$RABBITMQ_ENABLED_PLUGINS_FILE"
  : > "$RABBITMQ_CONF_ENV_FILE"
  # guest may connect from loopback only, which is all the tests use.
  # The default 50MB disk alarm would block publishers on a small /tmp.
  printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users.guest = true\ndisk_free_limit.absolute = 10MB\n' \
    "$AMQP_PORT" > "$RABBITMQ_CONFIG_FILE"
  echo "[]." > "$RABBITMQ_ADVANCED_CONFIG_FILE"
  # epmd must listen on loopback; start one if none is running (the Debian
  # package starts one via systemd, which containers and CI may lack).
  pgrep -x epmd >/dev/null 2>&1 || epmd -daemon >/dev/null 2>&1 || true
  "$RABBIT_BIN/rabbitmq-server" -detached >"$DIR/rabbitmq/log/startup.log" 2>&1 || true
  # The AMQP listener opens at the end of the boot, after the durable queues
  # are recovered: polling it is enough, and cheap (each rabbitmqctl call
  # boots an Erlang VM, seconds on a loaded machine).
  if ! wait_for 60 rabbit_amqp_open; then
    log "rabbitmq-server did not start on 127.0.0.1:$AMQP_PORT (see $DIR/rabbitmq/log)"
    tail -n 20 "$DIR/rabbitmq/log/startup.log" >&2 2>/dev/null || true
    return 1
  fi
  log "rabbitmq-server up on 127.0.0.1:$AMQP_PORT (node $RABBIT_NODE)"
}
stop_rabbitmq() {
  rabbit_env
  local pid; pid=$(rabbit_pid || true)
  # SIGTERM makes the Erlang VM stop every application cleanly (init:stop,
  # OTP >= 20), as `rabbitmqctl stop` does, without booting a CLI VM first.
  if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
  else
    rabbitctl stop >/dev/null 2>&1 || true
  fi
  if [ -n "${pid:-}" ]; then
    wait_for 30 bash -c "! kill -0 $pid" || { kill -9 "$pid" 2>/dev/null || true; }
  fi
  wait_for 15 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$AMQP_PORT)" 2>/dev/null || true
  rm -f "$DIR/rabbitmq/rabbit.pid"
}

mqtt_up() { (exec 3<>"/dev/tcp/127.0.0.1/$MQTT_PORT") 2>/dev/null; }
# The shipped configuration (tools/scripts/mosquitto.conf.in: zero-loss
# queueing limits, persistence, $SYS refresh), rendered for this port/dir,
# plus TLS listeners with throwaway certificates (mqtt-tls-certs.sh).
SCRIPTS_DIR=$(cd "$(dirname "$0")" && pwd)
MOSQUITTO_CONF_IN=$SCRIPTS_DIR/mosquitto.conf.in
start_mosquitto() {
  mqtt_up && return 0
  mkdir -p "$DIR/mosquitto"
  bash "$SCRIPTS_DIR/mqtt-tls-certs.sh" "$DIR/mosquitto/tls" || { log "could not make the TLS test certificates"; return 1; }
  sed -e "s|@PORT@|$MQTT_PORT|g" -e "s|@TLS_PORT@|$MQTT_TLS_PORT|g" -e "s|@TLS_EXPIRED_PORT@|$MQTT_TLS_EXPIRED_PORT|g" \
    -e "s|@DIR@|$DIR/mosquitto|g" -e "s|@USER@|$(id -un)|g" \
    "$MOSQUITTO_CONF_IN" > "$DIR/mosquitto/mosquitto.conf" || return 1
  mosquitto -c "$DIR/mosquitto/mosquitto.conf" -d || { log "mosquitto refused $DIR/mosquitto/mosquitto.conf"; return 1; }
  wait_for 10 mqtt_up || { log "mosquitto did not start on 127.0.0.1:$MQTT_PORT (see $DIR/mosquitto/mosquitto.log)"; return 1; }
  log "mosquitto up on 127.0.0.1:$MQTT_PORT"
}
stop_mosquitto() {
  local pid=
  [ -s "$DIR/mosquitto/mosquitto.pid" ] && pid=$(cat "$DIR/mosquitto/mosquitto.pid")
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  # SIGTERM makes mosquitto save its persistence file: wait for the process
  # itself, not only the port, so a restart finds the saved sessions.
  if [ -n "$pid" ]; then
    # A SIGKILL loses what arrived since the last autosave: say so, so that a
    # test which then misses messages is not blamed on the driver.
    wait_for 30 bash -c "! kill -0 $pid" || {
      log "mosquitto (pid $pid) did not exit within 30 s of SIGTERM: SIGKILL, unsaved messages are lost"
      kill -9 "$pid" 2>/dev/null || true
    }
  fi
  wait_for 10 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$MQTT_PORT)" 2>/dev/null || true
  rm -f "$DIR/mosquitto/mosquitto.pid"
}

print_env() {
  echo "export QPLUG_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "export QPLUG_TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT/"
  echo "export QPLUG_TEST_MQTT_URL=mqtt://127.0.0.1:$MQTT_PORT"
  # TLS: the URL names localhost, the name the test certificate was made for.
  echo "export QPLUG_TEST_MQTT_TLS_URL=mqtts://localhost:$MQTT_TLS_PORT"
  echo "export QPLUG_TEST_MQTT_TLS_EXPIRED_URL=mqtts://localhost:$MQTT_TLS_EXPIRED_PORT"
  echo "export QPLUG_TEST_MQTT_TLS_CA=$DIR/mosquitto/tls/ca.pem"
  echo "export QPLUG_TEST_MQTT_TLS_DIR=$DIR/mosquitto/tls"
  echo "export QPLUG_BROKERS_SCRIPT=$(cd "$(dirname "$0")" && pwd)/brokers.sh"
}

cmd=${1:-}; shift || true
brokers=("$@"); [ ${#brokers[@]} -gt 0 ] || brokers=(redis rabbitmq mosquitto)
rc=0
case "$cmd" in
  start) for b in "${brokers[@]}"; do "start_$b" || rc=1; done ;;
  stop) for b in "${brokers[@]}"; do "stop_$b" || rc=1; done ;;
  restart) for b in "${brokers[@]}"; do "stop_$b"; "start_$b" || rc=1; done ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|restart|env [redis|rabbitmq|mosquitto]..." >&2; exit 2 ;;
esac
exit $rc
