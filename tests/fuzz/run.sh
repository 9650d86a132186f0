#!/bin/sh
# run.sh BUILD SECONDS - run every fuzz harness (each tests/fuzz/fuzz_*.c,
# built in BUILD) for SECONDS each, starting from its seed corpus; new
# inputs go to BUILD/corpus/NAME (the seeds in the repo stay as they are).
# Prints one TAP line per harness with the number of runs; a crash leaves
# its input in BUILD and fails, and so does a harness that was not built.
# FUZZ_ONLY="fuzz_a fuzz_b" runs only those.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build/fuzz}
SECONDS_EACH=${2:-20}
failed=0
n=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	if [ -n "${FUZZ_ONLY:-}" ]; then
		case " $FUZZ_ONLY " in *" $name "*) ;; *) continue ;; esac
	fi
	bin="$BUILD/$name"
	n=$((n + 1))
	if [ ! -x "$bin" ]; then
		failed=$((failed + 1))
		echo "not ok $n - $name: not built ($bin)"
		continue
	fi
	work="$BUILD/corpus/$name"
	mkdir -p "$work"
	log="$BUILD/$name.log"
	"$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -artifact_prefix="$BUILD/$name-" -print_final_stats=1 \
		"$work" "tests/fuzz/corpus/$name" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - $name: ${runs:-?} runs in ${SECONDS_EACH} s, no crash"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name (exit $rc), see $log:"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -20 |
			sed 's/^/#   /'
	fi
done
[ "$n" -gt 0 ] || { echo "not ok - no fuzz harness to run"; exit 1; }
[ "$failed" -eq 0 ]
