#!/bin/sh
# run.sh - `make bench`: figures beside baselines measured in the same run.
#
# Each benchmark is a shell function below; SECTIONS lists them in order
# (add yours to it).  BENCH_N sets the number of runs, BENCH_ONLY a
# space-separated subset of sections.
#
# The timing helper runs several commands interleaved (A B C A B C ...),
# so a noisy neighbour or a frequency change hits all of them alike, and
# prints the median, p10 and p90 wall time of each plus the ratio of each
# to the reference (the last command).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
AJ="$PWD/$BUILD/agentjail"
N=${BENCH_N:-200}
PY=/usr/bin/python3

# time_interleaved N REF_NAME NAME1 'CMD1' NAME2 'CMD2' ... : each CMD is
# split on spaces (no quoting inside); output goes to /dev/null.
time_interleaved() {
	"$PY" - "$@" <<'EOF'
import os, subprocess, statistics, sys, time
n = int(sys.argv[1])
ref = sys.argv[2]
pairs = sys.argv[3:]
names, cmds = pairs[0::2], [c.split() for c in pairs[1::2]]
times = {k: [] for k in names}
null = open(os.devnull, "w")
for c in cmds:  # warm up caches once
    subprocess.run(c, stdout=null, stderr=null)
for i in range(n):
    for k, c in zip(names, cmds):
        t = time.perf_counter()
        rc = subprocess.run(c, stdout=null, stderr=null).returncode
        times[k].append((time.perf_counter() - t) * 1000)
        if rc != 0:
            sys.exit(f"{k}: exit status {rc}: {' '.join(c)}")
def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]
base = statistics.median(times[ref])
print(f"  {'':<12} {'median ms':>10} {'p10':>8} {'p90':>8} {'/' + ref:>10}")
for k in names:
    m = statistics.median(times[k])
    print(f"  {k:<12} {m:>10.2f} {q(times[k], .1):>8.2f} {q(times[k], .9):>8.2f} {m / base:>10.2f}")
EOF
}

# One-shot sandbox: `agentjail run -- /bin/true` against bubblewrap with
# the same namespaces (user, pid, net, ipc, uts), read-only /usr, /proc,
# /dev and a tmpfs /tmp, and against bare /bin/true.  agentjail also sets
# up cgroups, seccomp, Landlock and its masked /proc, which bwrap does not.
# Target (docs/design budgets): agentjail/bwrap <= 1.00.
oneshot() {
	echo "one-shot: run /bin/true in a fresh sandbox ($N runs each, interleaved)"
	if ! command -v bwrap >/dev/null 2>&1; then
		echo "  bwrap not installed: skipped"
		return 0
	fi
	BW="bwrap --unshare-user --unshare-pid --unshare-net --unshare-ipc"
	BW="$BW --unshare-uts --ro-bind /usr /usr --symlink usr/lib /lib"
	BW="$BW --symlink usr/lib64 /lib64 --symlink usr/bin /bin --proc /proc"
	BW="$BW --dev /dev --tmpfs /tmp /bin/true"
	time_interleaved "$N" bwrap \
		true "/bin/true" \
		agentjail "$AJ run -- /bin/true" \
		bwrap "$BW"
}

SECTIONS="oneshot"

for s in $SECTIONS; do
	case " ${BENCH_ONLY:-$s} " in *" $s "*) ;; *) continue ;; esac
	"$s"
	echo
done
