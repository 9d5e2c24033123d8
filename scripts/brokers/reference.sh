#!/usr/bin/env bash
# The project's own reference broker (`mqtt-check broker`) as an interop
# target, so the matrix has the ground-truth column beside the others.
# Usage: scripts/brokers/reference.sh install|start|status|stop|log|version
#
# The binary is $MQTT_CHECK_BIN (default bin/mqtt-check of this repo);
# install builds it with `go build` when it is missing.
NAME=reference
START_TIMEOUT=${START_TIMEOUT:-20}

bin_path() { echo "${MQTT_CHECK_BIN:-$REPO_ROOT/bin/mqtt-check}"; }
broker_installed() { [ -x "$(bin_path)" ]; }
broker_install() {
	say "building $(bin_path)"
	(cd "$REPO_ROOT" && go build -o "$(bin_path)" ./cmd/mqtt-check) || fail "go build ./cmd/mqtt-check failed"
}
broker_version() { "$(bin_path)" version; }
broker_launch() {
	exec "$(bin_path)" broker --listen "127.0.0.1:$1"
}

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
broker_main "$@"
