#!/usr/bin/env bash
# Benchmarks the mqtt-check codec against mochi-mqtt and Eclipse Paho on the
# same packets and prints a benchstat table with one column per codec.
#
#   ./bench.sh                       # everything, -count=6
#   BENCH='Decode/packet=publish' ./bench.sh
#   COUNT=10 BENCHTIME=1s ./bench.sh
#
# Raw results are kept in $OUT (default: a temporary file) for later
# benchstat comparisons.
set -euo pipefail
cd "$(dirname "$0")"

BENCH=${BENCH:-.}
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-500ms}
OUT=${OUT:-$(mktemp -t codec-compare.XXXXXX.txt)}
BENCHSTAT=${BENCHSTAT:-go run golang.org/x/perf/cmd/benchstat@latest}

go test -run='^$' -bench="$BENCH" -benchmem -count="$COUNT" -benchtime="$BENCHTIME" . | tee "$OUT"
echo
echo "# raw results: $OUT"
echo
# Each codec is a column; rows are packet and level. Missing cells are
# codecs that do not speak that level (paho.golang is 5.0 only,
# paho.mqtt.golang 3.1.1 only).
$BENCHSTAT -col /codec "$OUT"
