#!/bin/sh
# test_uml.sh - the suites again where most users run agentjail: cgroup v2
# and a 6.1 kernel, inside User-Mode Linux (Debian's user-mode-linux: a
# Linux kernel that runs as an ordinary process, no KVM needed).
#
# The guest (tests/uml/guest.sh, its PID 1) sees the host's files through
# hostfs READ-ONLY and runs the same binaries and suites with tests/run.sh;
# it can write to the host only in a scratch directory of ours under
# $BUILD/uml/.  Its TAP comes back through that directory and is printed
# here with every test named "uml <suite>: <test>", so tests/run.sh counts
# it in the host's summary.  A guest that does not boot, hangs past
# UML_TIMEOUT seconds or stops before tests/run.sh's summary line counts
# as a failure, never as zero tests.
#
# Environment: BUILD (default build), UML_SUITES (the guest's SUITES),
# UML_TIMEOUT (seconds, default 2400), UML_MEM (default 2G), TEST_FILTER
# (passed on to the guest's python suites).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
LIMIT=${UML_TIMEOUT:-2400}
MEM=${UML_MEM:-2G}
SUITES_IN=${UML_SUITES:-"test_jail.py test_jail_kill test_hostile.py test_cgroups.py test_api.py test_code.py
test_durability.py test_pool.py e2b.test.mjs conformance.test.mjs
sdk_http.test.mjs sdk_stdio.test.mjs"}
KERNEL=linux.uml

if ! command -v "$KERNEL" >/dev/null 2>&1; then
	echo "1..1"
	echo "ok 1 - uml # SKIP no User-Mode Linux kernel ($KERNEL): make deps installs user-mode-linux"
	exit 0
fi

# The guest's root is read-only: what the node suites install, install
# here first.
tests/node/run.sh --install >&2 && tests/e2b/run.sh --install >&2 || {
	echo "not ok - uml: npm packages for the node suites could not be installed"
	exit 1
}

mkdir -p "$BUILD/uml" || exit 1
out=$(mktemp -d "$PWD/$BUILD/uml/run.XXXXXX") || exit 1
case $out in *[!A-Za-z0-9/._-]*)
	echo "not ok - uml: scratch path $out has characters the kernel command line cannot carry"
	exit 1 ;;
esac
# No quotes inside: the guest sources it.
{
	echo "AJ_UML_REPO='$PWD'"
	echo "AJ_UML_BUILD='$BUILD'"
	echo "AJ_UML_SUITES='$(echo $SUITES_IN)'"
	echo "TEST_FILTER='${TEST_FILTER:-}'"
} >"$out/env"

# timeout(1) runs the kernel in a process group of its own and kills the
# whole group (the kernel and its host helper processes) at the limit.
timeout -k 10 "$LIMIT" "$KERNEL" mem="$MEM" rootfstype=hostfs rootflags=/ ro \
	init="$PWD/tests/uml/guest.sh" AJ_UML_OUT="$out" \
	</dev/null >"$out/kernel.log" 2>&1
krc=$?

# Guest TAP, every test renamed "uml <suite>: <name>"; the guest's
# summary becomes a comment (the host's is the one that counts).
awk '
	/^# suite / { s = $3; sub(/.*\//, "", s); print; next }
	/^(not )?ok( [0-9]+)? - / {
		i = index($0, " - ")
		print substr($0, 1, i + 2) "uml " s ": " substr($0, i + 3)
		next
	}
	/^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ {
		print "# uml guest: " $0; done = 1; next
	}
	{ print }
' "$out/tap" >"$out/tap.host" 2>/dev/null
cat "$out/tap.host"
status=$(cat "$out/status" 2>/dev/null)

if ! grep -q '^# uml guest: ' "$out/tap.host"; then
	if [ "$krc" -eq 124 ] || [ "$krc" -eq 137 ]; then
		why="killed after ${LIMIT} s (UML_TIMEOUT)"
	else
		why="kernel exited with status $krc"
	fi
	echo "not ok - uml: the guest did not finish the suites: $why"
	echo "#   guest console ($out/console):"
	tail -n 30 "$out/console" 2>/dev/null | sed 's/^/#     /'
	echo "#   kernel log ($out/kernel.log):"
	tail -n 15 "$out/kernel.log" 2>/dev/null | sed 's/^/#     /'
	exit 1
fi
[ "$status" = "rc 0" ] || exit 1
rm -rf "$out"
exit 0
