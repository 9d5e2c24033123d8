#!/usr/bin/env bash
# Eclipse Mosquitto (Debian package mosquitto) as an interop target.
# Usage: scripts/brokers/mosquitto.sh install|start|status|stop|log|version
#
# Configured as mosquitto.conf(5) says for mosquitto 2.0: a `listener PORT
# 127.0.0.1` (2.0 binds only to loopback without a listener line, and with
# one it needs `allow_anonymous true` to accept clients without a password),
# no persistence file, log to stdout.
NAME=mosquitto
START_TIMEOUT=${START_TIMEOUT:-20}

mosquitto_bin() {
	local p
	for p in mosquitto /usr/sbin/mosquitto /usr/local/sbin/mosquitto; do
		command -v "$p" 2>/dev/null && return 0
	done
	return 1
}
broker_installed() { mosquitto_bin >/dev/null; }
broker_install() { apt_install mosquitto; }
broker_version() { echo "mosquitto $(dpkg-query -W -f '${Version}' mosquitto 2>/dev/null || echo unknown)"; }
broker_launch() {
	cat >"$STATE/mosquitto.conf" <<CONF
listener $1 127.0.0.1
allow_anonymous true
persistence false
log_dest stdout
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
CONF
	exec "$(mosquitto_bin)" -c "$STATE/mosquitto.conf"
}

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
broker_main "$@"
