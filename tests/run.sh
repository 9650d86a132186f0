#!/bin/sh
# run.sh - run every test suite and print one summary line.
#
# Every suite speaks TAP on stdout: "ok N - name" / "not ok N - name" at the
# start of a line.  A suite that exits non-zero without reporting a failure
# counts as one failure, so a crash can never look green.  "ok N - name #
# SKIP reason" (a check this machine cannot run) counts as skipped, never
# as passed.
# Environment: BUILD (default build), SUITES (space-separated filter), UML
# (non-empty: also tests/uml/test_uml.sh, the suites again inside a User-
# Mode Linux guest with cgroup v2 and a 6.1 kernel; `make test-uml` and
# `make check` set it).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
export BUILD
export AGENTJAIL="$PWD/$BUILD/agentjail"
export PROBE="$PWD/$BUILD/tests/probe"
export CMOCKA_MESSAGE_OUTPUT=TAP
PY=/usr/bin/python3

suites() {
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] && echo "unit:$t"
	done
	for t in tests/*/test_*.py; do
		[ -f "$t" ] && echo "py:$t"
	done
	for t in tests/node/*.test.mjs; do
		[ -f "$t" ] && echo "node:$t"
	done
	for t in tests/e2b/*.test.mjs; do
		[ -f "$t" ] && echo "e2b:$t"
	done
	[ -n "${UML:-}" ] && echo "uml:tests/uml/test_uml.sh"
}

passed=0
failed=0
skipped=0
log=$(mktemp)
skips=$(mktemp)
for s in $(suites); do
	kind=${s%%:*}
	file=${s#*:}
	if [ -n "${SUITES:-}" ]; then
		case " $SUITES " in *" $(basename "$file")"*) ;; *) continue ;; esac
	fi
	echo "# suite $file"
	case $kind in
	unit) "$file" >"$log" 2>&1 ;;
	py) "$PY" "$file" >"$log" 2>&1 ;;
	node) tests/node/run.sh "$file" >"$log" 2>&1 ;;
	e2b) tests/e2b/run.sh "$file" >"$log" 2>&1 ;;
	uml) "$file" >"$log" ;;
	esac
	rc=$?
	cat "$log"
	grep -i '^ok [^#]*# skip' "$log" | sed "s|^|#   $(basename "$file"): |" >>"$skips"
	k=$(grep -ci '^ok [^#]*# skip' "$log")
	p=$(($(grep -c '^ok ' "$log") - k))
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $file exited with status $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + k))
done
rm -f "$log"
if [ "$skipped" -gt 0 ]; then
	echo "# skipped here (what this machine cannot run):"
	cat "$skips"
fi
rm -f "$skips"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
