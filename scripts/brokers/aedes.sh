#!/usr/bin/env bash
# aedes (npm package `aedes`, the successor of mosca) as an interop target.
# Usage: scripts/brokers/aedes.sh install|start|status|stop|log|version
#
# scripts/brokers/aedes/ is a small npm project: package.json and
# package-lock.json pin aedes, install runs `npm ci` there (node_modules is
# not committed), and server.js is the plain TCP server of aedes'
# docs/Examples.md bound to 127.0.0.1:PORT, in-memory persistence, every
# client accepted. Needs Node 20 or later and npm.
NAME=aedes
START_TIMEOUT=${START_TIMEOUT:-30}

AEDES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/aedes" && pwd)

broker_installed() {
	command -v node >/dev/null 2>&1 && [ -f "$AEDES_DIR/node_modules/aedes/package.json" ] &&
		[ "$AEDES_DIR/node_modules/.package-lock.json" -nt "$AEDES_DIR/package-lock.json" ]
}
broker_install() {
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		apt_install nodejs npm
	fi
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$major" -ge 20 ] || fail "aedes 1.x needs Node 20 or later, found $(node --version)"
	say "npm ci in $AEDES_DIR"
	(cd "$AEDES_DIR" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >&2) || fail "npm ci failed"
	touch "$AEDES_DIR/node_modules/.package-lock.json"
}
broker_version() {
	echo "aedes $(node -p "JSON.parse(require('fs').readFileSync('$AEDES_DIR/node_modules/aedes/package.json', 'utf8')).version") (node $(node --version))"
}
broker_launch() {
	exec node "$AEDES_DIR/server.js" "$1"
}

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
broker_main "$@"
