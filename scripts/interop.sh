#!/usr/bin/env bash
# scripts/interop.sh [BROKER...]: the interoperability run behind
# `make interop` (docs/interop.md). For each broker, one at a time:
#
#   1. scripts/brokers/<broker>.sh install, then start (free 127.0.0.1 port)
#   2. mqtt-check run --target ADDR --profile conformance/profiles/<broker>.json
#      --report-dir OUT/<broker>/conformance       (the full conformance suite)
#   3. the target renamed from its address to <broker> in report.json, and
#      report.html / summary.md rendered again from it
#   4. the broker stopped (the tail of its log kept) and started afresh, then
#      mqtt-check load --target ADDR <the smoke scenario> --json OUT/<broker>/load.json
#   5. scripts/brokers/<broker>.sh stop
#
# then `mqtt-check report matrix` over every report.json (statements down,
# brokers across) into OUT/matrix.md and OUT/matrix.html, and the headline
# (per broker pass/fail/deviation/skip, run times, accepted deviations, and
# why a broker could not start) into OUT/summary.md.
#
# A broker that cannot be installed or started is reported with the
# reason (the tail of its log) and the run goes on with the next one.
#
# Exit: 0 every broker ran with no MUST failure left unaccepted and a
# completed load smoke run; 1 some broker failed, could not start or could
# not run; 2 the driver itself could not run.
#
# Environment:
#   INTEROP_BROKERS     brokers when none are given (default: all six)
#   INTEROP_OUT         output directory (default reports/interop)
#   INTEROP_RUN_ARGS    extra `mqtt-check run` flags, e.g. "--label-filter connect"
#   INTEROP_LOAD_ARGS   the load smoke flags (default below)
#   INTEROP_SKIP_LOAD   non-empty: no load smoke run
#   MQTT_CHECK_BIN      the mqtt-check binary (default bin/mqtt-check, built if missing)
#   INTEROP_REPORT_BIN  the interop-report helper (default bin/interop-report, built)
#   MQTT_CHECK_BROKERS_STATE  broker state/pid dirs (default: a fresh temp dir, removed at the end)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
ROOT=$(pwd)

ALL_BROKERS="mosquitto rabbitmq activemq aedes mochi reference"
if [ $# -gt 0 ]; then
	BROKERS="$*"
else
	BROKERS=${INTEROP_BROKERS:-$ALL_BROKERS}
fi
OUT=${INTEROP_OUT:-reports/interop}
BIN=${MQTT_CHECK_BIN:-$ROOT/bin/mqtt-check}
REPORT_BIN=${INTEROP_REPORT_BIN:-$ROOT/bin/interop-report}
RUN_ARGS=${INTEROP_RUN_ARGS:-}
LOAD_ARGS=${INTEROP_LOAD_ARGS:---scenario pairs --clients 20 --rate 200 --duration 5s --qos 1 --drain 5s --slo loss=0,errors=0}
GO=${GO:-go}

say() { printf '== interop: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 2
}

for b in $BROKERS; do
	[ -x "scripts/brokers/$b.sh" ] || die "unknown broker $b (no scripts/brokers/$b.sh); known: $ALL_BROKERS"
done

if [ ! -x "$BIN" ]; then
	say "building $BIN"
	$GO build -o "$BIN" ./cmd/mqtt-check || die "go build ./cmd/mqtt-check failed"
fi
if [ ! -x "$REPORT_BIN" ] || [ -n "$(find interop -name '*.go' -newer "$REPORT_BIN" 2>/dev/null | head -1)" ]; then
	$GO build -o "$REPORT_BIN" ./interop/cmd/interop-report || die "go build ./interop/cmd/interop-report failed"
fi
MQTT_CHECK_VERSION=$("$BIN" version 2>/dev/null || echo mqtt-check)
export MQTT_CHECK_VERSION
export MQTT_CHECK_BIN=$BIN

own_state=
if [ -z "${MQTT_CHECK_BROKERS_STATE:-}" ]; then
	MQTT_CHECK_BROKERS_STATE=$(mktemp -d "${TMPDIR:-/tmp}/mqtt-check-interop.XXXXXX") || die "mktemp failed"
	own_state=1
fi
export MQTT_CHECK_BROKERS_STATE

mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)

current=
cleanup() {
	if [ -n "$current" ]; then
		"scripts/brokers/$current.sh" stop >/dev/null 2>&1 || true
		current=
	fi
	if [ -n "$own_state" ]; then
		rm -rf "$MQTT_CHECK_BROKERS_STATE"
	fi
}
trap cleanup EXIT
trap 'say interrupted; cleanup; exit 2' INT TERM

now() { date +%s; }

run_broker() {
	local b=$1 dir=$OUT/$1 t0 rc addr profile version
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/meta.env"
	meta() { echo "$1=$2" >>"$dir/meta.env"; }

	say "$b: install"
	t0=$(now)
	rc=0
	"scripts/brokers/$b.sh" install >"$dir/start.log" 2>&1 || rc=$?
	meta INSTALL_S $(($(now) - t0))
	if [ $rc -ne 0 ]; then
		meta START_RC "$rc"
		say "$b: could not be installed (exit $rc); see $dir/start.log"
		return
	fi
	version=$("scripts/brokers/$b.sh" version 2>/dev/null | head -1 | tr '=' ' ')
	meta VERSION "$version"

	say "$b: start"
	t0=$(now)
	rc=0
	current=$b
	addr=$("scripts/brokers/$b.sh" start 2>>"$dir/start.log") || rc=$?
	meta START_S $(($(now) - t0))
	meta START_RC "$rc"
	if [ $rc -ne 0 ] || [ -z "$addr" ]; then
		[ $rc -eq 0 ] && meta START_RC 1
		say "$b: could not start (exit $rc); see $dir/start.log"
		"scripts/brokers/$b.sh" stop >/dev/null 2>&1 || true
		current=
		return
	fi
	meta ADDR "$addr"

	profile=()
	if [ -f "conformance/profiles/$b.json" ]; then
		profile=(--profile "conformance/profiles/$b.json")
		meta PROFILE "conformance/profiles/$b.json"
	fi
	say "$b: conformance suite against $addr"
	t0=$(now)
	rc=0
	# shellcheck disable=SC2086 # RUN_ARGS is a list of flags
	"$BIN" run --target "$addr" "${profile[@]}" --timeout 25m --report-dir "$dir/conformance" $RUN_ARGS \
		>"$dir/conformance.log" 2>&1 || rc=$?
	meta RUN_S $(($(now) - t0))
	meta RUN_RC "$rc"
	tail -n 25 "$dir/conformance.log" >&2
	if [ -f "$dir/conformance/report.json" ]; then
		if "$REPORT_BIN" rename "$dir/conformance/report.json" "$b" "$version"; then
			"$BIN" report html "$dir/conformance/report.json" -o "$dir/conformance/report.html" || true
			"$BIN" report markdown "$dir/conformance/report.json" -o "$dir/conformance/summary.md" || true
		fi
	fi

	if [ -z "${INTEROP_SKIP_LOAD:-}" ]; then
		# The load smoke run gets a freshly started broker: the suite sends
		# malformed packets on purpose and may leave a broker degraded
		# (ActiveMQ's KahaDB refuses every SUBSCRIBE after the 65535-byte
		# topic spec), which is the suite's finding, not the load run's.
		if ! "scripts/brokers/$b.sh" status >/dev/null 2>>"$dir/start.log"; then
			say "$b: not answering after the suite (see broker.log)"
			meta DOWN_AFTER_SUITE 1
		fi
		LOG_TAIL=300 "scripts/brokers/$b.sh" log >"$dir/broker.log" 2>&1 || true
		"scripts/brokers/$b.sh" stop >>"$dir/start.log" 2>&1 || true
		t0=$(now)
		addr=$("scripts/brokers/$b.sh" start 2>>"$dir/start.log") || addr=
		meta LOAD_START_S $(($(now) - t0))
		if [ -z "$addr" ]; then
			say "$b: could not start again for the load smoke run"
			meta LOAD_RC 2
		else
			say "$b: load smoke on a fresh start, $addr ($LOAD_ARGS)"
			t0=$(now)
			rc=0
			# shellcheck disable=SC2086 # LOAD_ARGS is a list of flags
			timeout 300 "$BIN" load --target "$addr" $LOAD_ARGS -q --label "$b smoke" --json "$dir/load.json" \
				>"$dir/load.log" 2>&1 || rc=$?
			meta LOAD_S $(($(now) - t0))
			meta LOAD_RC "$rc"
			grep -E '^(Throughput|Loss|  +(total|QoS)|Connections|Errors|SLO)' "$dir/load.log" >&2 || tail -n 5 "$dir/load.log" >&2
		fi
	fi

	say "$b: stop"
	if [ -n "${INTEROP_SKIP_LOAD:-}" ]; then
		LOG_TAIL=300 "scripts/brokers/$b.sh" log >"$dir/broker.log" 2>&1 || true
	else
		LOG_TAIL=300 "scripts/brokers/$b.sh" log >"$dir/broker-load.log" 2>&1 || true
	fi
	"scripts/brokers/$b.sh" stop >>"$dir/start.log" 2>&1 || true
	current=
}

started=$(now)
for b in $BROKERS; do
	run_broker "$b"
done

reports=()
for b in $BROKERS; do
	[ -f "$OUT/$b/conformance/report.json" ] && reports+=("$OUT/$b/conformance/report.json")
done
if [ ${#reports[@]} -gt 0 ]; then
	"$BIN" report matrix "${reports[@]}" --format markdown -o "$OUT/matrix.md" || say "report matrix (markdown) failed"
	"$BIN" report matrix "${reports[@]}" --format html -o "$OUT/matrix.html" || say "report matrix (html) failed"
fi

say "done in $(($(now) - started))s; headline in $OUT/summary.md, matrix in $OUT/matrix.md and $OUT/matrix.html"
# shellcheck disable=SC2086 # BROKERS is a list of names
"$REPORT_BIN" summary "$OUT" $BROKERS
