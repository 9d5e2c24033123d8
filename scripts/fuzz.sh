#!/usr/bin/env bash
# Runs every Go fuzz target in the module, one at a time, for FUZZTIME each.
# Targets are found with `go test -list`, so a new `func FuzzX` in any
# package is picked up without editing this script. A failing input is saved
# under that package's testdata/fuzz/ by go test; commit it as a regression.
#
# Environment: GO (default go), FUZZTIME (default 10s), PKGS (default ./...).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
PKGS=${PKGS:-./...}

# `go test -list` prints each package's matching names, then a line
# "ok <tab> <import path> <tab> <time>". Packages without tests print "?".
# The listing is read into a variable first so that a build failure stops
# the script (set -e) instead of being hidden by a pipeline.
listing=$("$GO" test -list '^Fuzz' $PKGS)

targets=()   # "import/path FuzzName"
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*)
		names+=("$line")
		;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for name in "${names[@]+"${names[@]}"}"; do
			targets+=("$pkg $name")
		done
		names=()
		;;
	esac
done <<<"$listing"

if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found in $PKGS"
	exit 0
fi

for target in "${targets[@]}"; do
	read -r pkg name <<<"$target"
	echo "== $name in $pkg for $FUZZTIME"
	"$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg"
done
echo "fuzz.sh: ${#targets[@]} fuzz target(s) ran for $FUZZTIME each"
