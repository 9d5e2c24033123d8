#!/usr/bin/env bash
# mochi-mqtt server (Go module github.com/mochi-mqtt/server/v2) as an
# interop target.
# Usage: scripts/brokers/mochi.sh install|start|status|stop|log|version
#
# scripts/brokers/mochi/ is its own Go module (so the main go.mod does not
# need mochi): main.go is the module's own cmd/main.go reduced to one plain
# TCP listener on 127.0.0.1:PORT with auth.AllowHook. install builds it
# with `go build` (modules from the Go module proxy) into the state dir.
NAME=mochi
START_TIMEOUT=${START_TIMEOUT:-20}

MOCHI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/mochi" && pwd)
mochi_bin() { echo "${MQTT_CHECK_BROKERS_STATE:-${TMPDIR:-/tmp}/mqtt-check-brokers}/mochi-server"; }

broker_installed() {
	local b
	b=$(mochi_bin)
	[ -x "$b" ] && [ "$b" -nt "$MOCHI_DIR/main.go" ] && [ "$b" -nt "$MOCHI_DIR/go.mod" ]
}
broker_install() {
	command -v go >/dev/null 2>&1 || fail "go not found (the main module needs it too)"
	say "go build in $MOCHI_DIR"
	(cd "$MOCHI_DIR" && GOWORK=off timeout 600 go build -o "$(mochi_bin)" .) || fail "go build of the mochi target failed"
}
broker_version() {
	echo "mochi-mqtt $(GOWORK=off go version -m "$(mochi_bin)" 2>/dev/null | awk '$2 == "github.com/mochi-mqtt/server/v2" {print $3}')"
}
broker_launch() {
	exec "$(mochi_bin)" -listen "127.0.0.1:$1"
}

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
broker_main "$@"
