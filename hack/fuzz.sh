#!/usr/bin/env bash
# fuzz.sh DIR PKG TARGET FUZZTIME: one fuzz target for FUZZTIME.
#
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded"
# when a time-based -fuzztime ends while a worker is mid-call, most often on
# a loaded machine (golang/go#75804, fixed in Go 1.27). That failure writes
# no failing input and says nothing about the target, so it is retried once;
# any other failure, or the same one twice, fails.
set -uo pipefail
dir=$1 pkg=$2 target=$3 fuzztime=$4
run() {
	(cd "$dir" && go test -run XXX -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg") 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}
deadline_flake() {
	grep -q 'context deadline exceeded' "$log" &&
		! grep -q 'Failing input written' "$log" &&
		! grep -qE '^\s+(panic|.*_test\.go:[0-9]+:)' "$log"
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run && exit 0
if deadline_flake; then
	echo "fuzz.sh: $target stopped with Go's fuzztime deadline race (golang/go#75804), no failing input; running it once more"
	run && exit 0
fi
echo "fuzz.sh: $target failed"
exit 1
