#!/usr/bin/env bash
# Installs the third-party programs the tests run against, when missing:
# the Debian packages mosquitto (a real broker), mosquitto-clients
# (mosquitto_pub / mosquitto_sub, real clients), chromium (the headless
# browser the reports tests open the HTML reports in), tshark (Wireshark's
# dissector, which must read the pcaps capture.WriteTranscript writes) and
# tcpdump (a real loopback capture for the decode tests) and nodejs/npm
# (MQTT.js, a real JavaScript client, in the broker tests). `make test` calls
# it, so a fresh machine needs nothing else. Without root or apt-get it only warns:
# the tests that need these programs then skip, except under CI (CI=true),
# where they fail.
set -uo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need+=(nodejs npm)

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: missing ${need[*]}; install them (Debian: apt-get install ${need[*]}) or the interop and browser tests skip" >&2
	exit 0
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture (wireshark-common's
# setuid dumpcap): answer no before it asks.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null 2>&1 || apt-get update
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || {
	echo "install-deps: apt-get install ${need[*]} failed" >&2
	exit 1
}
