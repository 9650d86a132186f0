#!/bin/sh
# run.sh - `make bench`: figures beside baselines measured in the same run,
# printed as one table and written with the command to bench/RESULTS.md.
#
# Each benchmark is a shell function below; SECTIONS lists them in order
# (add yours to it).  Each appends result lines ("<what> n=.. p50=.. ...")
# to $RES; report() turns them into the table.  Environment:
#   BENCH_N          runs of the one-shot, create and cell benchmarks (200);
#                    exec runs 5 N, throughput 20 N and 40 N requests
#   BENCH_SANDBOXES  idle sandboxes of the density benchmark (1000)
#   BENCH_FILE_MB    size of the file transfer (100)
#   BENCH_POOL       warm pool of the server (4)
#   BENCH_ONLY       a space-separated subset of SECTIONS
#
# The one-shot timing helper runs several commands interleaved (A B C A B
# C ...), and ajbench interleaves every API call with its local baseline,
# so a noisy neighbour or a frequency change hits both alike.  The API
# benchmarks run against a real `agentjail serve` on a free loopback port
# with a temporary state directory, stopped and removed at the end.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
AJ="$PWD/$BUILD/agentjail"
AJB="$PWD/$BUILD/bench/ajbench"
N=${BENCH_N:-200}
SANDBOXES=${BENCH_SANDBOXES:-1000}
FILE_MB=${BENCH_FILE_MB:-100}
POOL=${BENCH_POOL:-4}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/ajbench.XXXXXX)
RES="$TMP/results"
: >"$RES"
SRV_PID=
CGROUP=

cleanup() {
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
	fi
	# the server leaves its (empty) agentjail/ parent cgroup behind
	[ -n "$CGROUP" ] && find "$CGROUP" -depth -type d -exec rmdir {} + \
		2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# time_interleaved N NAME1 'CMD1' NAME2 'CMD2' ... : each CMD is split on
# spaces (no quoting inside); output goes to /dev/null.  Appends
# "oneshot_NAME n=.. p50=<median> p10=.. p90=.. p99=.." per command.
time_interleaved() {
	"$PY" - "$@" >>"$RES" <<'EOF'
import os, subprocess, statistics, sys, time
n = int(sys.argv[1])
pairs = sys.argv[2:]
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
for k in names:
    v = times[k]
    print(f"oneshot_{k} n={n} p50={statistics.median(v):.3f} p10={q(v, .1):.3f}"
          f" p90={q(v, .9):.3f} p99={q(v, .99):.3f}")
EOF
}

# ---- the server ------------------------------------------------------------

# A memory cgroup of our own for the server (cgroup v1 memory hierarchy,
# where a child cgroup may hold processes and have children): everything
# the server, its launcher and its sandboxes are charged lands in it, so
# the density benchmark can read the kernel-side cost too.  Optional.
make_cgroup() {
	own=$(sed -n 's/^[0-9]*:memory:\(.*\)/\1/p' /proc/self/cgroup)
	[ -n "$own" ] && [ -d "/sys/fs/cgroup/memory$own" ] || return 0
	CGROUP="/sys/fs/cgroup/memory$own/ajbench-$$"
	mkdir "$CGROUP" 2>/dev/null || CGROUP=
}

server_start() {
	make_cgroup
	log="$TMP/server.log"
	# shellcheck disable=SC2016
	sh -c '[ -z "$1" ] || echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh \
		"$CGROUP" "$AJ" serve --listen 127.0.0.1:0 --state "$TMP/state" \
		--pool "$POOL" --tenant-quota $((SANDBOXES + 100)) --quiet \
		>"$TMP/server.out" 2>"$log" &
	SRV_PID=$!
	port=
	for _ in $(seq 200); do
		port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
		[ -n "$port" ] && break
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$port" ]; then
		cat "$log" >&2
		echo "bench: the server did not start" >&2
		exit 1
	fi
	URL="http://127.0.0.1:$port"
	KEY=$(cat "$TMP/state/admin.key")
	# let the pool fill before anything is measured
	for _ in $(seq 200); do
		ready=$(curl -s -H "Authorization: Bearer $KEY" "$URL/metrics" |
			sed -n 's/^agentjail_pool_ready \([0-9]*\).*/\1/p')
		[ "${ready:-0}" -ge "$POOL" ] && break
		sleep 0.05
	done
}

# api MODE ARGS...: ajbench MODE URL KEY ARGS... against the server.
api() {
	[ -n "$SRV_PID" ] || server_start
	mode=$1
	shift
	"$AJB" "$mode" "$URL" "$KEY" "$@" >>"$RES"
}

# ---- the benchmarks -----------------------------------------------------------

# One-shot sandbox: `agentjail run -- /bin/true` against bubblewrap with
# the same namespaces (user, pid, net, ipc, uts), read-only /usr, /proc,
# /dev and a tmpfs /tmp, and against bare /bin/true.  agentjail also sets
# up cgroups, seccomp, Landlock and its masked /proc, which bwrap does not.
oneshot() {
	if ! command -v bwrap >/dev/null 2>&1; then
		echo "bench: bwrap not installed: one-shot skipped" >&2
		return 0
	fi
	BW="bwrap --unshare-user --unshare-pid --unshare-net --unshare-ipc"
	BW="$BW --unshare-uts --ro-bind /usr /usr --symlink usr/lib /lib"
	BW="$BW --symlink usr/lib64 /lib64 --symlink usr/bin /bin --proc /proc"
	BW="$BW --dev /dev --tmpfs /tmp /bin/true"
	time_interleaved "$N" \
		true "/bin/true" \
		agentjail "$AJ run -- /bin/true" \
		bwrap "$BW"
}

# Create through the API: the default shape comes from the warm pool, a
# 256 MiB sandbox (a shape the pool does not keep) is built on demand.
create() { api create "$N"; }

# exec /bin/true in one sandbox, each beside a fork+exec of /bin/true.
exec_true() { api exec $((N * 5)); }

# Python cell 1+1 in a warm context, each beside `python3 -c 1`.
cell() { api cell "$N"; }

# execs per second with 16 and 64 keep-alive clients over 8 sandboxes,
# then the same number of fork+execs by as many local threads.
throughput() {
	api throughput 16 $((N * 20)) 8
	api throughput 64 $((N * 40)) 8
}

# What one process tree costs, for the density figures: the PSS of the
# server and every descendant, MemAvailable, the charge of the server's
# memory cgroup (if run.sh made one) and of its sandboxes' cgroups.
mem_snapshot() {
	"$PY" - "$SRV_PID" "$CGROUP" <<'EOF'
import os, sys
root, cg = int(sys.argv[1]), sys.argv[2]
kids = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError, IndexError):
            pass
tree, todo = [], [root]
while todo:
    p = todo.pop()
    tree.append(p)
    todo += kids.get(p, [])
pss = 0
for p in tree:
    try:
        with open(f"/proc/{p}/smaps_rollup") as f:
            pss += sum(int(l.split()[1]) for l in f if l.startswith("Pss:"))
    except OSError:
        pass
with open("/proc/meminfo") as f:
    avail = [int(l.split()[1]) for l in f if l.startswith("MemAvailable:")][0]
def charged(d):
    """What a memory cgroup holds that cannot simply be dropped: its
    usage less its page cache of files (the database's, mostly)."""
    for name in ("memory.usage_in_bytes", "memory.current"):
        try:
            with open(os.path.join(d, name)) as f:
                use = int(f.read())
            with open(os.path.join(d, "memory.stat")) as f:
                st = dict(l.split() for l in f)
            files = sum(int(st.get(k, 0)) for k in (
                "total_active_file", "total_inactive_file") if k in st) or \
                sum(int(st.get(k, 0)) for k in ("active_file", "inactive_file"))
            return (use - files) // 1024
        except (OSError, ValueError):
            pass
    return 0
# the sandboxes' cgroups: <server's memory cgroup>/agentjail/*
base = None
with open(f"/proc/{root}/cgroup") as f:
    for l in f:
        hid, ctrls, path = l.rstrip("\n").split(":", 2)
        if "memory" in ctrls.split(","):
            base = f"/sys/fs/cgroup/memory{path}"
        elif hid == "0" and base is None and os.path.exists(f"/sys/fs/cgroup{path}/memory.current"):
            base = f"/sys/fs/cgroup{path}"
sbcg = 0
if base and os.path.isdir(f"{base}/agentjail"):
    for d in os.listdir(f"{base}/agentjail"):
        sbcg += charged(f"{base}/agentjail/{d}")
print(f"procs={len(tree)} pss_kb={pss} avail_kb={avail} "
      f"cg_kb={charged(cg) if cg else -1} sbcg_kb={sbcg}")
EOF
}

# N idle sandboxes: the time to create them all, and what they cost.
density() {
	[ -n "$SRV_PID" ] || server_start
	sync
	sleep 1
	echo "density_before $(mem_snapshot)" >>"$RES"
	marker="$TMP/density.ready"
	"$AJB" density "$URL" "$KEY" "$SANDBOXES" "$marker" >>"$RES" &
	dpid=$!
	while [ ! -e "$marker" ] && kill -0 "$dpid" 2>/dev/null; do
		sleep 0.1
	done
	sleep 2 # let the last ones settle
	echo "density_after $(mem_snapshot)" >>"$RES"
	rm -f "$marker"
	wait "$dpid"
}

# Upload and download of a file through the API, against cp of the same
# file in /dev/shm (tmpfs, like the sandbox's disk).
files() { api files "$FILE_MB" /dev/shm; }

# ---- the table -------------------------------------------------------------------

report() {
	"$PY" - "$RES" "$N" "$SANDBOXES" "$FILE_MB" "$POOL" <<'EOF'
import os, platform, sys, time
res, n, nsb, mb, pool = sys.argv[1], *map(int, sys.argv[2:])
r = {}
for line in open(res):
    what, *kv = line.split()
    r[what] = {k: float(v) for k, v in (x.split("=", 1) for x in kv)}
rows = []  # (what, agentjail, baseline, versus, target, met)
def get(k, f="p50"):
    return r.get(k, {}).get(f)
def lat(k):
    return f"{get(k):.2f} / {get(k, 'p99'):.2f} ms"
if "oneshot_agentjail" in r:
    a, b, t = get("oneshot_agentjail"), get("oneshot_bwrap"), get("oneshot_true")
    rows.append(("one-shot run /bin/true, median", f"{a:.2f} ms",
                 f"bwrap {b:.2f} ms, bare {t:.2f} ms", f"{a / b:.2f}x bwrap",
                 "<= 1.00x bwrap", a <= b))
if "create_hit" in r:
    rows.append(("create, pool hit, p50 / p99", lat("create_hit"), "", "",
                 "p50 <= 2 ms", get("create_hit") <= 2))
    rows.append(("create, pool miss, p50 / p99", lat("create_miss"), "", "",
                 "p50 <= 10 ms", get("create_miss") <= 10))
if "exec" in r:
    d = get("exec") - get("exec_base")
    rows.append(("exec /bin/true, p50 / p99", lat("exec"),
                 f"fork+exec {lat('exec_base')}", f"{d:+.2f} ms p50",
                 "<= +0.50 ms p50", d <= 0.5))
if "cell" in r:
    rows.append(("python cell 1+1, p50 / p99", lat("cell"),
                 f"python3 -c 1 {lat('cell_base')}",
                 f"{get('cell_base') / get('cell'):.0f}x faster", "p50 <= 1 ms",
                 get("cell") <= 1))
for c in (16, 64):
    k = f"throughput_c{c}"
    if k in r:
        v, b = r[k], r[k + "_base"]
        fails = f", {v['failed']:.0f} failed" if v["failed"] else ""
        rows.append((f"execs/s, {c} clients", f"{v['per_s']:.0f}/s (p50 {v['p50']:.1f} ms{fails})",
                     f"fork+exec {b['per_s']:.0f}/s", f"{v['per_s'] / b['per_s']:.2f}x",
                     ">= 500/s" if c == 64 else "", v["per_s"] >= 500 if c == 64 else None))
if "density_after" in r:
    a, b, c = r["density_after"], r["density_before"], r["density_create"]
    drop = (b["avail_kb"] - a["avail_kb"]) / 1024
    pss = (a["pss_kb"] - b["pss_kb"]) / 1024
    sbcg = a["sbcg_kb"] / 1024
    cg = (a["cg_kb"] - b["cg_kb"]) / 1024 if a["cg_kb"] >= 0 else None
    # The server's cgroup holds everything charged for the sandboxes
    # (processes, tmpfs, kernel objects); without one, MemAvailable.
    total = cg if cg is not None else drop
    detail = f"processes (PSS) {pss:.0f} MiB, sandbox cgroups {sbcg:.0f} MiB"
    rows.append((f"{nsb} idle sandboxes, memory", f"{total:.0f} MiB ({total * 1024 / nsb:.0f} KiB each)",
                 detail, f"host MemAvailable -{drop:.0f} MiB", "<= 1024 MiB", total <= 1024))
    rows.append((f"{nsb} idle sandboxes, create all", f"{c['total_s']:.1f} s",
                 f"p50 {c['p50']:.1f} ms, p99 {c['p99']:.1f} ms", "", "", None))
if "files" in r:
    f = r["files"]
    worst = min(f["upload_mb_s"], f["download_mb_s"]) / f["cp_mb_s"]
    rows.append((f"files {mb} MB up / down", f"{f['upload_mb_s']:.0f} / {f['download_mb_s']:.0f} MB/s",
                 f"cp {f['cp_mb_s']:.0f} MB/s", f"{worst:.2f}x cp (worse)", ">= 0.50x cp", worst >= 0.5))
head = ("what", "agentjail", "baseline (same run)", "vs baseline", "target", "")
cells = [head] + [(w, a, b, v, t, "" if m is None else ("ok" if m else "MISSED"))
                  for w, a, b, v, t, m in rows]
width = [max(len(c[i]) for c in cells) for i in range(len(head))]
def line(c):
    return "| " + " | ".join(x.ljust(w) for x, w in zip(c, width)) + " |"
table = [line(head), "|" + "|".join("-" * (w + 2) for w in width) + "|"]
table += [line(c) for c in cells[1:]]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "?")
env = (f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} x {cpu}, Linux "
       f"{platform.release()}; BENCH_N={n}, {nsb} sandboxes, {mb} MB, pool {pool}")
cmd = os.environ.get("BENCH_CMD", "make bench")
print(env)
print("\n".join(table))
with open("bench/RESULTS.md", "w") as out:
    out.write("# Benchmark results\n\n")
    out.write(f"Produced by `{cmd}` ({env}).  Latencies are p50 / p99; every\n")
    out.write("baseline was measured in the same run, interleaved with the figure\n")
    out.write("beside it.  Methods: bench/run.sh, bench/ajbench.c and\n")
    out.write("docs/performance.md.\n\n")
    out.write("\n".join(table) + "\n")
EOF
}

SECTIONS="oneshot create exec_true cell throughput density files"

for s in $SECTIONS; do
	case " ${BENCH_ONLY:-$s} " in *" $s "*) ;; *) continue ;; esac
	echo "bench: $s" >&2
	"$s"
done
report
