#!/usr/bin/env bash
# Checks hack/fuzz.sh's retry rule with a stand-in `go`: Go's fuzztime
# deadline race is retried once, a real failure (or the race twice) fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
cat > "$fake/go" <<'STUB'
#!/usr/bin/env bash
n=$(cat "$FAKE_DIR/count" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_DIR/count"
case "$FAKE" in
flake) if [ "$n" = 0 ]; then printf -- '--- FAIL: FuzzX (10.08s)\n    context deadline exceeded\nFAIL\n'; exit 1; fi; echo ok ;;
flaketwice) printf -- '--- FAIL: FuzzX (10.08s)\n    context deadline exceeded\nFAIL\n'; exit 1 ;;
real) printf -- '--- FAIL: FuzzX (0.1s)\n    x_test.go:12: boom\n    Failing input written to testdata/fuzz/FuzzX/abc\nFAIL\n'; exit 1 ;;
esac
STUB
chmod +x "$fake/go"
check() { # case, want exit code, want runs
	rm -f "$fake/count"
	set +e
	PATH="$fake:$PATH" FAKE=$1 FAKE_DIR=$fake "$here/fuzz.sh" . ./x FuzzX 1s > /dev/null 2>&1
	rc=$?
	set -e
	runs=$(cat "$fake/count")
	if [ "$rc" != "$2" ] || [ "$runs" != "$3" ]; then
		echo "fuzz_test.sh: $1: exit $rc after $runs runs, want exit $2 after $3"
		exit 1
	fi
	echo "fuzz_test.sh: $1: exit $rc after $runs run(s), as it should"
}
check flake 0 2
check flaketwice 1 2
check real 1 1
