"""The host's protections and the cgroups of sandboxes, by what they do.

What the host offers is said once when the server starts, shown in
/metrics, and `--require` refuses to start without it (serve and run).
The cgroup limits are checked by their effect on the sandboxed programs
(an OOM kill, CPU time held to the quota, a peak under the limit), and
the cleanup by what the kernel shows afterwards (every sandbox's leaf
gone, a process put into a sandbox's cgroup from outside killed with it).
On cgroup v2 (make test-uml runs this suite in User-Mode Linux) also the
delegation from a cgroup of the server's own, as under systemd.

Environment (set by tests/run.sh): AGENTJAIL, PROBE.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ajserver import Server, descendants  # noqa: E402
from tap import check, eq, main, skip, test, until  # noqa: E402
import cgroups  # noqa: E402

AJ = os.environ.get("AGENTJAIL", "build/agentjail")
PROBE = os.environ.get("PROBE", "build/tests/probe")
IS_ROOT = os.geteuid() == 0
PROTECTIONS = ("userns", "landlock", "cgroup-memory", "cgroup-pids",
               "cgroup-cpu", "huge-tmpfs")
MiB = 1 << 20


class Ctx:
    pass


CTX = Ctx()


def setup():
    CTX.root = tempfile.mkdtemp(prefix="aj-cgroups-")
    os.chmod(CTX.root, 0o755)
    return CTX


def teardown(ctx):
    shutil.rmtree(ctx.root, ignore_errors=True)


def workdir(tag):
    d = tempfile.mkdtemp(prefix=tag + "-", dir=CTX.root)
    os.chmod(d, 0o755)
    return d


# ---- facts of this host, looked at independently of agentjail ----------------------

def landlock_abi():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))


def host_has(name):
    """What this host offers, where a test can tell without agentjail;
    None where it cannot."""
    if name == "landlock":
        return landlock_abi() > 0
    if name == "huge-tmpfs":
        return os.path.exists("/sys/kernel/mm/transparent_hugepage")
    if name.startswith("cgroup-") and IS_ROOT:
        return cgroups.memory_version() != 0 if name == "cgroup-memory" else None
    return None


# ---- helpers --------------------------------------------------------------------------

def metrics(srv):
    r = srv.call("GET", "/metrics")
    eq(r.status, 200, "metrics")
    have = dict(re.findall(r'^agentjail_protection\{name="([a-z-]+)"\} ([01])$',
                           r.body.decode(), re.M))
    return {k: v == "1" for k, v in have.items()}


def create(srv, **body):
    r = srv.call("POST", "/v1/sandboxes", body=dict({"timeout_s": 3600}, **body))
    eq(r.status, 201, f"create: {r.body[:300]!r}")
    return r.json["id"]


def put_probe(srv, sid):
    with open(PROBE, "rb") as f:
        r = srv.call("PUT", f"/v1/sandboxes/{sid}/files?path=.probe", raw=f.read())
    eq(r.status, 201, f"upload probe: {r.body[:200]!r}")
    eq(exec_(srv, sid, "chmod 755 /workspace/.probe && echo ok")["stdout"], "ok\n",
       "chmod probe")


def exec_(srv, sid, command, **kw):
    r = srv.call("POST", f"/v1/sandboxes/{sid}/exec",
                 body=dict({"command": command, "timeout_ms": 120000}, **kw),
                 timeout=180)
    eq(r.status, 200, f"exec {command!r}: {r.body[:300]!r}")
    return r.json


def usage(srv, sid):
    r = srv.call("GET", f"/v1/sandboxes/{sid}")
    eq(r.status, 200, "get")
    check("usage" in r.json, f"usage of a running sandbox: {r.json}")
    return r.json["usage"]


def supervisor(srv, sid):
    """Host pid of the sandbox's PID 1: the server's descendant whose
    cgroup leaf is named after the sandbox (pooled ones keep their first
    name, so ask for a fresh one: --pool 0)."""
    def find():
        for p in descendants(srv.proc.pid):
            try:
                with open(f"/proc/{p}/cgroup") as f:
                    if f"/agentjail/{sid}\n" not in f.read() + "\n":
                        continue
                with open(f"/proc/{p}/status") as f:
                    st = f.read()
            except OSError:
                continue
            if st.split("\nNSpid:")[1].split("\n")[0].split()[-1] == "1":
                return p
        return None
    return until(find, f"supervisor of {sid}")


def run(*args, prefix=()):
    p = subprocess.run([*prefix, AJ, "run", "--json", "--ro-bind", f"{PROBE}:/probe",
                        *args], capture_output=True, text=True, timeout=300)
    p.rec = json.loads(p.stdout) if p.returncode not in (2, 125) and p.stdout else None
    return p


def need_root():
    if not IS_ROOT:
        skip("cgroup limits need root")


# ---- the host's protections -------------------------------------------------------------

@test
def protections_are_said_once_at_start_and_shown_in_metrics(ctx):
    srv = Server(workdir("said"), "--pool", "0", "--quiet")
    try:
        have = metrics(srv)
        log = srv.tail()
    finally:
        srv.stop()
    eq(sorted(have), sorted(PROTECTIONS), "every protection in /metrics")
    for name in PROTECTIONS:
        said = len(re.findall(rf"^agentjail: warning: {name} unavailable", log, re.M))
        eq(said, 0 if have[name] else 1, f"warnings about {name}: {log!r}")
        fact = host_has(name)
        if fact is not None:
            eq(have[name], fact, f"{name} as this host has it")
    if IS_ROOT:
        eq(have["userns"], True, "root can make user namespaces")


@test
def require_refuses_what_is_missing_and_starts_with_what_is_there(ctx):
    facts = {n: host_has(n) for n in ("landlock", "huge-tmpfs", "cgroup-memory")}
    for name, there in facts.items():
        if there is None:
            continue
        wd = workdir("req")
        if there:
            Server(wd, "--pool", "0", "--quiet", "--require", name).stop()
        else:
            st = os.path.join(wd, "state")
            p = subprocess.run([AJ, "serve", "--listen", "127.0.0.1:0", "--state", st,
                                "--pool", "0", "--require", name],
                               capture_output=True, text=True, timeout=60)
            eq(p.returncode, 1, f"serve --require {name} refuses: {p.stderr!r}")
            check(f"required protection {name} is missing" in p.stderr, p.stderr)
            check("listening" not in p.stderr, "never listened")
        r = run("--require", name, "--", "/probe", "exit", "0")
        if there:
            eq(r.returncode, 0, f"run --require {name}: {r.stderr!r}")
        else:
            eq(r.returncode, 125, f"run --require {name} refuses: {r.stderr!r}")
            check(f"required protection {name} is missing" in r.stderr, r.stderr)
    p = subprocess.run([AJ, "serve", "--require", "landlock,bogus", "--state",
                        "/nonexistent"], capture_output=True, text=True, timeout=30)
    eq(p.returncode, 2, f"serve --require landlock,bogus: {p.stderr!r}")
    check("unknown protection 'bogus'" in p.stderr, p.stderr)
    r = run("--require", "landlock,bogus", "--", "/probe", "exit", "0")
    eq(r.returncode, 2, f"run --require landlock,bogus: {r.stderr!r}")
    r = run("--require", "", "--", "/probe", "exit", "0")
    eq(r.returncode, 0, f"run --require '' (nothing): {r.stderr!r}")


# ---- limits, by their effect -------------------------------------------------------------

@test
def memory_limit_kills_reports_and_bounds_the_peak(ctx):
    need_root()
    srv = Server(workdir("mem"), "--pool", "0", "--quiet")
    try:
        sid = create(srv, memory_mb=64)
        put_probe(srv, sid)
        eq(exec_(srv, sid, "/workspace/.probe memhog 24")["stdout"], "done\n", "24 MiB")
        u = usage(srv, sid)
        if u["memory_peak_bytes"] == 0:
            skip("the kernel keeps no memory peak (cgroup v2 before 5.19)")
        check(24 * MiB <= u["memory_peak_bytes"] <= 64 * MiB,
              f"peak after 24 MiB under a 64 MiB limit: {u}")
        eq(u["oom_kills"], 0, "no OOM yet")
        rec = exec_(srv, sid, "/workspace/.probe memhog 512")
        eq((rec["oom_killed"], rec["signal"], rec["stdout"]), (True, 9, ""), "OOM")
        u = usage(srv, sid)
        check(u["oom_kills"] >= 1, f"OOM counted: {u}")
        check(u["memory_peak_bytes"] <= 64 * MiB, f"peak held at the limit: {u}")
        eq(exec_(srv, sid, "echo alive")["stdout"], "alive\n", "sandbox lives on")
    finally:
        srv.stop()
    r = run("--memory", "48M", "--", "/probe", "memhog", "512")
    eq((r.rec["oom_killed"], r.rec["signal"]), (True, 9), f"run: {r.stderr!r}")


@test
def cpu_quota_holds_a_busy_loop(ctx):
    need_root()
    # a fifth of a CPU for 3 s of wall clock: at most ~0.6 s of CPU (and
    # one period of slack); without a quota an idle machine gives ~3 s
    def held(rec, what):
        check(rec["timed_out"], f"{what}: ran to the timeout: {rec}")
        check(0 < rec["cpu_ms"] <= rec["wall_ms"] * 0.2 + 250,
              f"{what}: {rec['cpu_ms']} ms of CPU in {rec['wall_ms']} ms at 0.2 CPU")
    r = run("--cpus", "0.2", "--timeout", "3s", "--", "/probe", "busy")
    held(r.rec, "run")
    srv = Server(workdir("cpu"), "--pool", "0", "--quiet")
    try:
        sid = create(srv, cpus=0.2)
        put_probe(srv, sid)
        rec = exec_(srv, sid, "/workspace/.probe busy", timeout_ms=3000)
        held(rec, "api")
        check(usage(srv, sid)["cpu_ms"] >= rec["cpu_ms"] * 0.9,
              "the cgroup counted the CPU too")
    finally:
        srv.stop()


# ---- cleanup and killing from outside ---------------------------------------------------

@test
def every_sandbox_cgroup_goes_with_its_sandbox(ctx):
    need_root()
    wd = workdir("gone")
    srv = Server(wd, "--pool", "0", "--quiet")
    dirs = {}
    try:
        for how in ("destroy", "expire", "crash"):
            sid = create(srv, timeout_s=2 if how == "expire" else 3600)
            exec_(srv, sid, "sleep 1000 & sleep 1000 & echo started")
            dirs[how] = (sid, cgroups.dirs_of(supervisor(srv, sid)))
            check(dirs[how][1], f"{how}: the sandbox has cgroups")
        sid, d = dirs["destroy"]
        eq(srv.call("DELETE", f"/v1/sandboxes/{sid}").status, 204, "destroy")
        until(lambda: not any(map(os.path.exists, d)), f"destroyed leaves gone: {d}")
        sid, d = dirs["expire"]
        until(lambda: not any(map(os.path.exists, d)), f"expired leaves gone: {d}",
              timeout=60)
        # the launcher and supervisors die with a killed server; the next
        # server on the same state sweeps what they left
        sid, d = dirs["crash"]
        srv.proc.kill()
        srv.proc.wait(30)
        srv.log.close()
        srv = Server(wd, "--pool", "0", "--quiet", state=srv.state)
        until(lambda: not any(map(os.path.exists, d)), f"a crash's leaves gone: {d}")
        sid = create(srv)
        exec_(srv, sid, "sleep 1000 & echo started")
        dirs["stop"] = (sid, cgroups.dirs_of(supervisor(srv, sid)))
    finally:
        srv.stop()
    sid, d = dirs["stop"]
    eq([x for x in d if os.path.exists(x)], [], "leaves of a stopped server's sandboxes")


@test
def destroy_kills_what_joined_a_sandbox_cgroup_from_outside(ctx):
    need_root()
    srv = Server(workdir("kill"), "--pool", "0", "--quiet")
    outsider = subprocess.Popen(["sleep", "1000"])
    try:
        sid = create(srv)
        leaves = cgroups.dirs_of(supervisor(srv, sid))
        # as a helper of the server would be (a file writer charged to the
        # sandbox): in its cgroup, outside its pid namespace
        for d in leaves:
            procs = "tasks" if os.path.exists(os.path.join(d, "tasks")) else "cgroup.procs"
            with open(os.path.join(d, procs), "w") as f:
                f.write(str(outsider.pid))
        eq(sorted(cgroups.dirs_of(outsider.pid)), sorted(leaves), "joined")
        eq(srv.call("DELETE", f"/v1/sandboxes/{sid}").status, 204, "destroy")
        eq(outsider.wait(30), -signal.SIGKILL, "killed with the sandbox")
        until(lambda: not any(map(os.path.exists, leaves)), f"leaves gone: {leaves}")
    finally:
        if outsider.poll() is None:
            outsider.kill()
            outsider.wait()
        srv.stop()


# ---- cgroup v2: delegation from a cgroup of our own ---------------------------------------

def v2_service_cgroup(tag):
    """A fresh child of the v2 root for a test to start things in, with
    memory, pids and cpu available (as systemd gives a service with
    Delegate=yes); skips where there is none to make."""
    need_root()
    mnt = cgroups.v2_mount()
    if not mnt or cgroups.memory_version() != 2:
        skip("no cgroup v2 hierarchy with the memory controller here "
             "(make test-uml runs this in one)")
    with open("/proc/self/cgroup") as f:
        ours = [ln.split(":", 2)[2].strip() for ln in f if ln.startswith("0::")][0]
    if ours != "/":
        skip(f"the test itself runs in {ours}, not in the v2 root")
    ctl = set(open(os.path.join(mnt, "cgroup.subtree_control")).read().split())
    if not {"memory", "pids", "cpu"} <= ctl:
        skip(f"the v2 root delegates only {sorted(ctl)}")
    d = os.path.join(mnt, f"aj-test-{tag}-{os.getpid()}")
    os.mkdir(d)
    return d


def remove_tree(d):
    """rmdir d and everything below it, waiting for processes that are
    ending (fails if anything still runs)."""
    def gone():
        try:
            for sub in cgroups.leaves_under(d):
                remove_tree(os.path.join(d, sub))
            os.rmdir(d)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            return False
    until(gone, f"{d} removed")


def into(d):
    return ["sh", "-c", f'echo $$ > {d}/cgroup.procs && exec "$@"', "sh"]


@test
def v2_server_in_a_cgroup_of_its_own_gives_sandboxes_their_limits(ctx):
    svc = v2_service_cgroup("serve")
    srv = None
    try:
        srv = Server(workdir("deleg"), "--pool", "0", "--quiet", "--require",
                     "cgroup-memory,cgroup-pids,cgroup-cpu", prefix=into(svc))
        rel = "/" + os.path.relpath(svc, cgroups.v2_mount())
        with open(f"/proc/{srv.proc.pid}/cgroup") as f:
            eq(f.read().strip(), f"0::{rel}/agentjail/.self",
               "the server moved itself aside")
        sid = create(srv, memory_mb=64, pids=32)
        check(cgroups.dirs_of(supervisor(srv, sid))[0].startswith(svc + "/agentjail/"),
              "the sandbox's cgroup is below the server's")
        put_probe(srv, sid)
        rec = exec_(srv, sid, "/workspace/.probe memhog 512")
        eq((rec["oom_killed"], rec["stdout"]), (True, ""), f"memory limit: {rec}")
        out = exec_(srv, sid, "/workspace/.probe forkbomb")["stdout"].split()
        check(out[0] == "forked" and int(out[1]) < 32 and out[2] == "EAGAIN",
              f"pids limit: {out}")
        eq(srv.stop(), 0, "server stopped")
        srv = None
        eq(cgroups.leaves_under(svc + "/agentjail"), [".self"],
           "only the server's own leaf is left")
    finally:
        if srv:
            srv.stop()
        remove_tree(svc)


@test
def v2_one_shot_run_alone_in_its_cgroup_and_with_others(ctx):
    svc = v2_service_cgroup("run")
    other = None
    try:
        r = run("--memory", "48M", "--", "/probe", "memhog", "512", prefix=into(svc))
        eq((r.rec["oom_killed"], r.rec["signal"]), (True, 9),
           f"alone in its cgroup: limited: {r.stderr!r}")
        check("not applied" not in r.stderr, r.stderr)
        # someone else's process in the same cgroup: v2 cannot delegate
        # and agentjail must not move it; it says so, or refuses
        shared = os.path.join(svc, "shared")
        os.mkdir(shared)
        other = subprocess.Popen(into(shared) + ["sleep", "1000"])
        until(lambda: cgroups.dirs_of(other.pid)[0] == shared, "other process placed")
        r = run("--memory", "48M", "--", "/probe", "memhog", "8", prefix=into(shared))
        eq(r.rec["stdout"], "done\n", "runs without the limit")
        check("limit not applied: cgroup v2 will not delegate: other processes "
              "share our cgroup" in r.stderr, r.stderr)
        eq(cgroups.dirs_of(other.pid)[0], shared, "the other process was left alone")
        r = run("--require", "cgroup-memory", "--", "/probe", "exit", "0",
                prefix=into(shared))
        eq(r.returncode, 125, f"--require cgroup-memory refuses: {r.stderr!r}")
        check("required protection cgroup-memory is missing" in r.stderr, r.stderr)
    finally:
        if other:
            other.kill()
            other.wait()
        remove_tree(svc)


if __name__ == "__main__":
    main(setup, teardown)
