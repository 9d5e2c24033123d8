# shellcheck shell=bash
# Common code of the broker scripts: scripts/brokers/<name>.sh sources this
# file after defining its hooks, then calls broker_main "$@".
#
# Every broker script takes one command:
#
#   install   install what the broker needs (apt-get / npm ci / go build);
#             does nothing when it is there already
#   start     install if needed, start the broker in the background on a
#             free 127.0.0.1 port, wait (bounded) until it answers an MQTT
#             CONNECT, then print its address (127.0.0.1:PORT) on stdout
#   status    print the address and exit 0 when it runs and answers;
#             exit 3 when it is not running, 1 when it runs but does not answer
#   stop      stop it (SIGTERM to its process group, SIGKILL after a bound)
#   log       print the tail of its log
#   version   print the broker's name and version (after install)
#
# Failures go to stderr with the tail of the broker's log, so a broker that
# cannot start here says why. Exit codes: 0 ok, 1 failed, 2 usage,
# 3 not running (status).
#
# State lives in $MQTT_CHECK_BROKERS_STATE/<name>/ (default
# ${TMPDIR:-/tmp}/mqtt-check-brokers/<name>/): pid, addr, broker.log and the
# broker's data and config, so nothing is written to /etc or /var.
#
# Hooks a broker script defines before sourcing this file:
#   NAME                    the broker's name (state directory, messages)
#   START_TIMEOUT           seconds to wait for the first CONNACK (default 30)
#   broker_installed        returns 0 when installed
#   broker_install          installs it
#   broker_launch PORT      writes config under $STATE and runs the broker in
#                           the FOREGROUND (exec); broker_main runs it in its
#                           own session with output to $STATE/broker.log
#   broker_version          prints name and version (optional)
#   broker_prestart         runs before the port is chosen (optional)
#   broker_poststop         cleanup after stop, e.g. helper daemons (optional)

set -euo pipefail

BROKERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The broker script that sourced this file, run again as "__launch PORT" in
# the broker's own session.
BROKER_SCRIPT=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)/$(basename "${BASH_SOURCE[1]}")
# shellcheck disable=SC2034 # used by the broker scripts
REPO_ROOT=$(cd "$BROKERS_DIR/../.." && pwd)
STATE_ROOT=${MQTT_CHECK_BROKERS_STATE:-${TMPDIR:-/tmp}/mqtt-check-brokers}
: "${NAME:?broker script must set NAME}"
STATE=$STATE_ROOT/$NAME
LOG=$STATE/broker.log
START_TIMEOUT=${START_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-15}
# How long one health check (mosquitto_pub CONNECT/PUBLISH/DISCONNECT) may take.
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-5}

say() { printf '%s: %s\n' "$NAME" "$*" >&2; }

# fail MESSAGE: prints the message and the log tail, exits 1.
fail() {
	say "$*"
	if [ -s "$LOG" ]; then
		echo "---- last lines of $LOG ----" >&2
		tail -n "${LOG_TAIL:-30}" "$LOG" >&2
		echo "----" >&2
	fi
	exit 1
}

# port_in_use PORT: true when some socket (any state, IPv4 or IPv6) has PORT
# as its local port. Reads /proc, so it needs neither ss nor netstat.
port_in_use() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'FNR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# free_port [EXCLUDE...]: prints a port that no socket uses, below the Linux
# ephemeral range (32768+) so that outgoing connections do not take it
# between now and the broker's bind. Ports in EXCLUDE are avoided too (a
# broker that needs several ports picks them one after another).
# shellcheck disable=SC2120 # rabbitmq.sh passes ports to avoid
free_port() {
	local port tries=0 ex clash
	while [ $tries -lt 200 ]; do
		tries=$((tries + 1))
		port=$((20000 + RANDOM % 12000))
		clash=
		for ex in "$@"; do [ "$ex" = "$port" ] && clash=1; done
		[ -n "$clash" ] && continue
		port_in_use "$port" && continue
		echo "$port"
		return 0
	done
	fail "no free port found in 20000-31999 after $tries tries"
}

# mqtt_ping HOST:PORT: one MQTT CONNECT / CONNACK / PUBLISH / DISCONNECT
# with mosquitto_pub, bounded by HEALTH_TIMEOUT seconds.
mqtt_ping() {
	local host=${1%:*} port=${1##*:}
	timeout "$HEALTH_TIMEOUT" mosquitto_pub -h "$host" -p "$port" -t healthcheck -m x -q 0 \
		-i "mqtt-check-health-$$" >/dev/null 2>&1
}

need_mosquitto_pub() {
	command -v mosquitto_pub >/dev/null 2>&1 || apt_install mosquitto-clients
	command -v mosquitto_pub >/dev/null 2>&1 || fail "mosquitto_pub (Debian package mosquitto-clients) is needed for health checks"
}

# apt_install PKG...: installs Debian packages as root without starting
# their services: there is no systemd here, and the scripts start brokers
# themselves with their own configuration. A policy-rc.d that forbids
# starting services is put in place for the install when none exists.
# apt-get update runs only when the install fails (fresh machine: empty
# package lists), then the install is tried once more.
apt_install() {
	[ "$(id -u)" = 0 ] || fail "needs root to apt-get install $*; install them yourself"
	command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: install $* yourself"
	local policy=/usr/sbin/policy-rc.d made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# mqtt-check scripts/brokers: do not start services on install\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
	fi
	say "apt-get install $*"
	local rc=0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
		>"$STATE_ROOT/apt-$NAME.log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		say "apt-get install failed ($rc); apt-get update and retry"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$STATE_ROOT/apt-$NAME.log" 2>&1 || true
		rc=0
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
			>>"$STATE_ROOT/apt-$NAME.log" 2>&1 || rc=$?
	fi
	[ -n "$made_policy" ] && rm -f "$policy"
	if [ $rc -ne 0 ]; then
		tail -n 20 "$STATE_ROOT/apt-$NAME.log" >&2
		fail "apt-get install $* failed"
	fi
}

read_pid() { cat "$STATE/pid" 2>/dev/null || true; }
read_addr() { cat "$STATE/addr" 2>/dev/null || true; }

# alive PID: true when the process exists and is not a zombie.
alive() {
	[ -n "${1:-}" ] && [ -e "/proc/$1" ] || return 1
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

# stop_group PID SECONDS: SIGTERM to the process group PID leads, wait up
# to SECONDS, then SIGKILL.
stop_group() {
	local pid=$1 bound=$2 i=0
	alive "$pid" || return 0
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	while alive "$pid" && [ $i -lt $((bound * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if alive "$pid"; then
		say "still running after ${bound}s: SIGKILL"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		sleep 0.2
	fi
}

cmd_install() {
	mkdir -p "$STATE_ROOT"
	need_mosquitto_pub
	if ! broker_installed; then
		broker_install
		broker_installed || fail "installed, but still not found"
	fi
	if declare -F broker_version >/dev/null; then
		broker_version >"$STATE_ROOT/$NAME.version" 2>/dev/null || true
	fi
}

cmd_status() {
	local pid addr
	pid=$(read_pid)
	addr=$(read_addr)
	if ! alive "$pid"; then
		say "not running"
		return 3
	fi
	if ! mqtt_ping "$addr"; then
		say "running (pid $pid) but $addr does not answer an MQTT CONNECT"
		echo "$addr"
		return 1
	fi
	echo "$addr"
}

cmd_start() {
	local pid
	pid=$(read_pid)
	if alive "$pid"; then
		if mqtt_ping "$(read_addr)"; then
			say "already running (pid $pid)"
			read_addr
			return 0
		fi
		say "running (pid $pid) but not answering: restarting"
		cmd_stop
	fi
	cmd_install
	rm -rf "$STATE"
	mkdir -p "$STATE"
	if declare -F broker_prestart >/dev/null; then
		broker_prestart
	fi
	local port addr started deadline
	# shellcheck disable=SC2119 # no port to avoid yet
	port=$(free_port)
	addr=127.0.0.1:$port
	echo "$addr" >"$STATE/addr"
	started=$(date +%s)
	# A subshell that execs the broker in its own session: its pid is the
	# process group to signal on stop, children included.
	(
		cd "$STATE"
		exec setsid "$BROKER_SCRIPT" __launch "$port" </dev/null >>"$LOG" 2>&1
	) &
	pid=$!
	echo "$pid" >"$STATE/pid"
	deadline=$((started + START_TIMEOUT))
	until mqtt_ping "$addr"; do
		if ! alive "$pid"; then
			wait "$pid" 2>/dev/null || true
			fail "exited before answering on $addr (after $(($(date +%s) - started))s)"
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			stop_group "$pid" "$STOP_TIMEOUT"
			rm -f "$STATE/pid"
			fail "no CONNACK on $addr within ${START_TIMEOUT}s; stopped it"
		fi
		sleep 0.5
	done
	say "up on $addr (pid $pid) after $(($(date +%s) - started))s"
	echo "$addr"
}

cmd_stop() {
	local pid
	pid=$(read_pid)
	if alive "$pid"; then
		stop_group "$pid" "$STOP_TIMEOUT"
		say "stopped (pid $pid)"
	fi
	rm -f "$STATE/pid"
	if declare -F broker_poststop >/dev/null; then
		broker_poststop
	fi
	return 0
}

cmd_log() { tail -n "${LOG_TAIL:-50}" "$LOG" 2>/dev/null || say "no log at $LOG"; }

broker_main() {
	case "${1:-}" in
	install) cmd_install ;;
	start) cmd_start ;;
	status) cmd_status ;;
	stop) cmd_stop ;;
	log) cmd_log ;;
	__launch)
		# Internal: run by cmd_start in a new session, output to the log.
		echo "== $(date -u +%FT%TZ) starting $NAME on 127.0.0.1:$2"
		broker_launch "$2"
		;;
	version)
		if declare -F broker_version >/dev/null; then broker_version; else echo "$NAME"; fi
		;;
	*)
		echo "usage: $0 install|start|status|stop|log|version" >&2
		exit 2
		;;
	esac
}
