#!/usr/bin/env bash
# RabbitMQ with its MQTT plugin (Debian package rabbitmq-server) as an
# interop target.
# Usage: scripts/brokers/rabbitmq.sh install|start|status|stop|log|version
#
# Configured as the RabbitMQ MQTT plugin guide says (rabbitmq.com/mqtt.html,
# "Enabling the Plugin", "Anonymous Connections", "TCP Listeners"):
#   - the plugin enabled through an enabled_plugins file of our own:
#     [rabbitmq_mqtt].  (no management plugin: no HTTP port to clash)
#   - mqtt.listeners.tcp.default = 127.0.0.1:PORT
#   - mqtt.allow_anonymous = true with mqtt.default_user/default_pass guest:
#     the guest user may only connect from loopback, which is where the
#     harness is (loopback_users keeps its default)
#   - the AMQP listener on its own free loopback port (RABBITMQ_NODE_PORT,
#     RABBITMQ_NODE_IP_ADDRESS), the Erlang distribution port
#     (RABBITMQ_DIST_PORT) and epmd (ERL_EPMD_PORT) on free ports too, so
#     nothing clashes with a RabbitMQ already on the machine
#   - node name, Mnesia, logs, plugins expansion, pid file and the Erlang
#     cookie ($HOME/.erlang.cookie) all in the state directory; logs to
#     stdout; /etc/rabbitmq is not read (RABBITMQ_CONF_ENV_FILE points to an
#     empty file of ours)
# epmd runs in the foreground in the broker's process group, so stop ends it
# too (the one rabbitmq-server would start by itself would detach).
NAME=rabbitmq
START_TIMEOUT=${START_TIMEOUT:-120}

RABBIT_SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server

broker_installed() { [ -x "$RABBIT_SERVER" ] && command -v epmd >/dev/null 2>&1; }
broker_install() { apt_install rabbitmq-server; }
broker_version() { echo "RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo unknown) (Erlang $(dpkg-query -W -f '${Version}' erlang-base 2>/dev/null || echo unknown))"; }

broker_launch() {
	local mqtt_port=$1 node_port dist_port epmd_port i
	node_port=$(free_port "$mqtt_port")
	dist_port=$(free_port "$mqtt_port" "$node_port")
	epmd_port=$(free_port "$mqtt_port" "$node_port" "$dist_port")
	mkdir -p "$STATE/home" "$STATE/mnesia" "$STATE/log" "$STATE/plugins-expand"
	# The Erlang cookie: a random one per start, readable by us only.
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE/home/.erlang.cookie"
	chmod 400 "$STATE/home/.erlang.cookie"
	: >"$STATE/rabbitmq-env.conf"
	echo '[rabbitmq_mqtt].' >"$STATE/enabled_plugins"
	cat >"$STATE/rabbitmq.conf" <<CONF
# Written by scripts/brokers/rabbitmq.sh
listeners.tcp.default = 127.0.0.1:$node_port
mqtt.listeners.tcp.default = 127.0.0.1:$mqtt_port
mqtt.listeners.ssl = none
mqtt.allow_anonymous = true
mqtt.default_user = guest
mqtt.default_pass = guest
mqtt.vhost = /
mqtt.exchange = amq.topic
log.console = true
log.console.level = info
log.file = false
CONF
	echo "ports: mqtt $mqtt_port, amqp $node_port, dist $dist_port, epmd $epmd_port"
	export HOME=$STATE/home
	export ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$epmd_port
	export RABBITMQ_CONF_ENV_FILE=$STATE/rabbitmq-env.conf
	export RABBITMQ_NODENAME=mqttcheck@localhost RABBITMQ_USE_LONGNAME=false
	export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$node_port RABBITMQ_DIST_PORT=$dist_port
	export RABBITMQ_CONFIG_FILE=$STATE/rabbitmq.conf RABBITMQ_ADVANCED_CONFIG_FILE=$STATE/advanced.config
	export RABBITMQ_ENABLED_PLUGINS_FILE=$STATE/enabled_plugins
	export RABBITMQ_MNESIA_BASE=$STATE/mnesia RABBITMQ_LOG_BASE=$STATE/log RABBITMQ_LOGS=-
	export RABBITMQ_PLUGINS_EXPAND_DIR=$STATE/plugins-expand RABBITMQ_PID_FILE=$STATE/rabbitmq.pid
	epmd -port "$epmd_port" -address 127.0.0.1 &
	for i in $(seq 1 50); do
		port_in_use "$epmd_port" && break
		sleep 0.1
	done
	exec "$RABBIT_SERVER"
}

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
broker_main "$@"
