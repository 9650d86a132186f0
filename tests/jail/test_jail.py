"""Isolation tests for `agentjail run`: one test per property of issue 2.

Every test runs the static probe (tests/probe.c) or a host program inside a
fresh sandbox and compares the exact outcome: an errno name, a signal, a
flag of the --json record.  Nothing here asserts on timing.

Environment (set by tests/run.sh): AGENTJAIL, PROBE.
"""
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tap import check, eq, main, skip, test  # noqa: E402
import hostfacts  # noqa: E402
import cgroups  # noqa: E402

AJ = os.environ["AGENTJAIL"]
PROBE = os.environ["PROBE"]
IS_ROOT = os.geteuid() == 0
HOST_ID = 2000000000  # JAIL_DEFAULT_HOST_ID
STARTED = []  # pids of every agentjail process this file started


def aj(args, cmd, *, json_mode=True, env=None, pass_fds=(), timeout=60,
       prefix=()):
    """Run `agentjail run [--json] --ro-bind PROBE:/probe ARGS -- CMD`."""
    argv = list(prefix) + [AJ, "run"] + (["--json"] if json_mode else [])
    argv += ["--ro-bind", f"{PROBE}:/probe"] + list(args) + ["--"] + list(cmd)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env if env is not None else os.environ,
                         pass_fds=pass_fds)
    STARTED.append(p.pid)
    out, err = p.communicate(timeout=timeout)
    p.out, p.err = out.decode(errors="replace"), err.decode(errors="replace")
    if json_mode and p.returncode not in (2, 125):
        p.rec = json.loads(out)
    return p


def probe(*a, opts=()):
    """Run the probe; return the JSON record."""
    p = aj(opts, ["/probe"] + list(a))
    return p.rec


def lines(rec):
    return rec["stdout"].splitlines()


def host_pids_with(token):
    """Host pids of the probe whose command line contains token (not
    agentjail itself or the sandbox's PID 1, a fork of it, which carry the
    same command line until the probe runs)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if argv[0] == b"/probe" and token.encode() in argv:
                found.append(int(d))
        except OSError:
            pass
    return found


def wait_for(cond, what, limit=10.0):
    """Poll cond() until true; bounded so a failure cannot hang the suite."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def alive(pid, token):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return token.encode() in f.read()
    except OSError:
        return False


def our_cgroup_leaves():
    """Leaf cgroups under <our cgroup>/agentjail in every hierarchy that
    agentjail uses (v1 or v2)."""
    leaves = set()
    for d in cgroups.dirs_of("self"):
        for leaf in cgroups.leaves_under(os.path.join(d, "agentjail")):
            if not leaf.startswith("."):
                leaves.add(f"{d}/{leaf}")
    return leaves


def landlock_abi():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))


# ---- identity and filesystem ----------------------------------------------

@test
def runs_as_user_1000_named_user_in_workspace():
    p = aj([], ["sh", "-c", "id; hostname; echo $HOME; pwd; uname -n"])
    eq(p.rec["exit_code"], 0, "exit code")
    eq(lines(p.rec), ["uid=1000(user) gid=1000(user) groups=1000(user)",
                      "sandbox", "/workspace", "/workspace", "sandbox"],
       "identity")
    p = aj([], ["sh", "-c", "cd /home/user && echo hi > f && cat /workspace/f"])
    eq(lines(p.rec), ["hi"], "/home/user is the workspace")


@test
def workspace_tmp_and_shm_are_writable():
    rec = probe("write", "/workspace/f")
    eq(rec["stdout"], "ok\n", "/workspace")
    eq(probe("write", "/tmp/f")["stdout"], "ok\n", "/tmp")
    eq(probe("write", "/dev/shm/f")["stdout"], "ok\n", "/dev/shm")


@test
def host_files_are_not_visible():
    eq(probe("cat", "/etc/shadow")["stdout"], "ENOENT\n", "/etc/shadow")
    eq(probe("ls", "/root")["stdout"], "ENOENT\n", "/root")
    # /home holds only our user's home, a link to /workspace: nothing
    # of the host's /home
    eq(probe("ls", "/home")["stdout"], "user\n", "/home")
    eq(probe("ls", "/work")["stdout"], "ENOENT\n", "/work")
    want = {"dev", "etc", "home", "proc", "tmp", "usr", "workspace", "probe"}
    for d in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        if os.path.lexists("/" + d):
            want.add(d)
    eq(set(lines(probe("ls", "/"))), want, "root directory")
    # accounts: only the synthetic ones
    names = {ln.split(":")[0] for ln in lines(probe("cat", "/etc/passwd"))}
    eq(names, {"root", "user", "nobody"}, "/etc/passwd users")


@test
def host_processes_are_not_visible():
    pids = {e for e in lines(probe("ls", "/proc")) if e.isdigit()}
    eq(pids, {"1", "2"}, "pids in /proc (init and the probe)")


@test
def readonly_binds_and_system_dirs_refuse_writes():
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o777)
        rec = probe("write", "/data/x", opts=["--ro-bind", f"{d}:/data"])
        eq(rec["stdout"], "EROFS\n", "ro bind")
        check(not os.path.exists(os.path.join(d, "x")), "nothing written")
        eq(probe("write", "/usr/x")["stdout"], "EROFS\n", "/usr")
        eq(probe("write", "/etc/passwd")["stdout"], "EROFS\n", "/etc/passwd")
        eq(probe("write", "/x")["stdout"], "EROFS\n", "/")
        rec = probe("try-syscall", "remount-usr-rw", "mount",
                    opts=["--ro-bind", f"{d}:/data"])
        eq(lines(rec), ["remount-usr-rw=EPERM", "mount=EPERM"], "remount")
        # and a writable bind really is writable (the test can fail)
        rec = probe("write", "/data/y", "hello", opts=["--bind", f"{d}:/data"])
        eq(rec["stdout"], "ok\n", "rw bind")
        with open(os.path.join(d, "y")) as f:
            eq(f.read(), "hello", "content on the host")
        if IS_ROOT:
            eq(os.stat(os.path.join(d, "y")).st_uid, HOST_ID, "host owner")


@test
def host_workspace_dir_is_bound_read_write():
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o777)
        rec = probe("write", "/workspace/out.txt", "data",
                    opts=["--workspace", d])
        eq(rec["stdout"], "ok\n", "write")
        with open(os.path.join(d, "out.txt")) as f:
            eq(f.read(), "data", "content")


@test
def proc_sensitive_entries_are_masked():
    for f in ("kmsg", "timer_list", "keys", "key-users", "kallsyms"):
        if os.path.exists(f"/proc/{f}"):
            rec = probe("cat", f"/proc/{f}")
            eq((rec["stdout"], rec["exit_code"]), ("", 0), f"/proc/{f}")
    for d in ("bus", "irq", "fs", "acpi", "scsi"):
        if os.path.isdir(f"/proc/{d}"):
            eq(probe("ls", f"/proc/{d}")["stdout"], "", f"/proc/{d}")
    eq(probe("write", "/proc/sys/kernel/hostname", "x")["stdout"], "EROFS\n",
       "/proc/sys")
    check(len(lines(probe("ls", "/proc/sys/kernel"))) > 10, "/proc/sys readable")
    eq(probe("ls", "/sys")["stdout"], "ENOENT\n", "/sys")


UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


@test
def proc_host_boot_facts_are_not_shown():
    # The host's kernel command line, boot id and pressure figures: a
    # neutral command line, a boot id of the sandbox's own (the same on
    # every read in it), no pressure files.
    with open("/proc/cmdline") as f:
        host_cmdline = f.read()
    with open("/proc/sys/kernel/random/boot_id") as f:
        host_boot_id = f.read()
    rec = probe("cat", "/proc/cmdline")
    eq(rec["stdout"], "quiet\n", "/proc/cmdline")
    check(host_cmdline.strip() not in rec["stdout"], "not the host's command line")
    ids = []
    for _ in range(2):
        rec = aj([], ["sh", "-c", "/probe cat /proc/sys/kernel/random/boot_id; "
                                  "/probe cat /proc/sys/kernel/random/boot_id"]).rec
        first, second = rec["stdout"].splitlines()
        check(re.fullmatch(UUID_RE, first), f"a random UUID: {first!r}")
        eq(second, first, "the same boot id on every read of one sandbox")
        ids.append(first + "\n")
    check(ids[0] != ids[1], f"two sandboxes, two boot ids: {ids}")
    check(host_boot_id not in ids, "not the host's boot id")
    eq(probe("cat", "/proc/pressure/cpu")["stdout"], "ENOENT\n", "/proc/pressure/cpu")
    check(probe("ls", "/proc/pressure")["stdout"] in ("", "ENOENT\n"), "/proc/pressure empty")
    eq(probe("write", "/proc/sys/kernel/random/boot_id", "x")["stdout"], "EROFS\n",
       "boot id read-only")


# ---- privileges ----------------------------------------------------------------

@test
def no_capabilities_no_new_privs_seccomp_filter():
    st = dict(ln.split(":\t", 1) for ln in lines(probe("cat", "/proc/self/status"))
              if ":\t" in ln)
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        eq(int(st[k].strip(), 16), 0, k)
    eq(st["NoNewPrivs"].strip(), "1", "NoNewPrivs")
    eq(st["Seccomp"].strip(), "2", "Seccomp")


DENIED = {
    # mounts and namespaces
    "mount": "EPERM", "umount2": "EPERM", "pivot_root": "EPERM",
    "chroot": "EPERM", "move_mount": "EPERM", "open_tree": "EPERM",
    "fsopen": "EPERM", "mount_setattr": "EPERM", "unshare-user": "EPERM",
    "unshare-fs": "EPERM", "setns": "EPERM", "clone-newuser": "EPERM",
    "clone-newnet": "EPERM", "clone3": "ENOSYS",
    # keyrings, bpf, perf, userfaultfd, io_uring
    "keyctl": "EPERM", "add_key": "EPERM", "request_key": "EPERM",
    "bpf": "EPERM", "perf_event_open": "EPERM", "userfaultfd": "EPERM",
    "io_uring_setup": "EPERM",
    # the machine
    "kexec_load": "EPERM", "init_module": "EPERM", "finit_module": "EPERM",
    "delete_module": "EPERM", "reboot": "EPERM", "swapon": "EPERM",
    "acct": "EPERM", "quotactl": "EPERM", "sethostname": "EPERM",
    # file handles
    "open_by_handle_at": "EPERM", "name_to_handle_at": "EPERM",
    # personality: default and query only
    "personality-default": "ok", "personality-query": "ok",
    "personality-linux32": "EPERM", "personality-noaslr": "EPERM",
    "personality-highbits": "EPERM",
    # sockets: unix, inet, inet6, netlink route only
    "socket-unix": "ok", "socket-inet": "ok", "socket-inet6": "ok",
    "socket-netlink-route": "ok", "socket-netlink-audit": "EPERM",
    "socket-packet": "EAFNOSUPPORT", "socket-vsock": "EAFNOSUPPORT",
    "socket-inet-highbits": "EAFNOSUPPORT", "socketpair-unix": "ok",
    "socketpair-inet": "EAFNOSUPPORT",
    # newer than the allowlist: looks unimplemented
    "lsm_list_modules": "ENOSYS",
    # control group: ordinary calls work
    "clone-plain": "ok", "getpid": "ok",
}


@test
def denied_syscall_families_return_their_errno():
    want = dict(DENIED)
    if hostfacts.ipv6():  # the kernel's answer, inside or out
        want["socket-inet6"] = "EAFNOSUPPORT"
    rec = probe("try-syscall", *want)
    got = dict(ln.split("=", 1) for ln in lines(rec))
    eq(got, want, "syscall outcomes")


@test
def other_abis_are_killed():
    # x32 numbers reach the filter whether or not the kernel serves them
    # (it checks the number before the ABI does); i386 only where the
    # host kernel has the entry at all.
    no_i386 = hostfacts.i386_abi()
    for abi in ("x32",) if no_i386 else ("x32", "i386"):
        rec = probe(abi)
        eq((rec["signal"], rec["exit_code"], rec["stdout"]),
           (signal.SIGSYS, 128 + signal.SIGSYS, ""), abi)
    if no_i386:
        skip(f"x32 killed; i386 not testable: {no_i386}")


@test
def tiocsti_is_refused():
    eq(lines(probe("tiocsti")),
       ["plain=EPERM", "highbits=EPERM", "tioclinux=EPERM", "tiocgwinsz=ok"],
       "pty ioctls")


@test
def nested_user_namespace_is_refused():
    eq(lines(probe("try-syscall", "unshare-user", "clone-newuser")),
       ["unshare-user=EPERM", "clone-newuser=EPERM"], "userns")


@test
def supervisor_cannot_be_traced_but_own_children_can():
    eq(probe("ptrace-parent")["stdout"], "EPERM\n", "ptrace PID 1")
    eq(probe("vm-read-init")["stdout"], "EPERM\n", "process_vm_readv PID 1")
    eq(probe("cat", "/proc/1/environ")["stdout"], "EACCES\n", "/proc/1/environ")
    eq(probe("ptrace-child")["stdout"], "ok\n", "ptrace own child")


@test
def landlock_fences_writes_outside_the_writable_dirs():
    if landlock_abi() < 1:
        rec = aj([], ["/probe", "write", "/proc/self/comm", "x"])
        check("Landlock unavailable" in rec.err, "warning when absent")
        skip("host kernel has no Landlock (the run warned, as it must)")
    # /proc/self/comm is writable by its owner: only Landlock says no.
    eq(probe("write", "/proc/self/comm", "x")["stdout"], "EACCES\n", "comm")
    eq(probe("write", "/dev/null")["stdout"], "ok\n", "/dev/null")


@test
def abstract_unix_sockets_of_the_host_are_out_of_reach():
    if landlock_abi() < 6:
        skip(f"host Landlock ABI {landlock_abi()} < 6 has no abstract-socket scoping")
    name = f"agentjail-test-{os.getpid()}"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind("\0" + name)
    srv.listen(1)
    try:
        rec = probe("abstract-connect", name, opts=["--net", "host"])
        eq(rec["stdout"], "EPERM\n", "host abstract socket, --net host")
        rec = probe("abstract-connect", name)
        eq(rec["stdout"], "ECONNREFUSED\n", "host abstract socket, --net none")
    finally:
        srv.close()


# ---- limits ---------------------------------------------------------------------

@test
def fork_bomb_stops_at_the_pids_limit():
    if not IS_ROOT:
        skip("cgroup limits need root")
    rec = probe("forkbomb", opts=["--pids", "32"])
    words = rec["stdout"].split()
    eq((words[0], words[2]), ("forked", "EAGAIN"), "fork refused")
    check(0 < int(words[1]) < 32, f"forked {words[1]} < 32")
    eq(rec["exit_code"], 0, "exit code")


@test
def memory_hog_is_oom_killed_and_reported():
    if not IS_ROOT:
        skip("cgroup limits need root")
    rec = probe("memhog", "2048", opts=["--memory", "64M"])
    eq((rec["oom_killed"], rec["signal"], rec["exit_code"]),
       (True, signal.SIGKILL, 137), "oom")
    eq(rec["stdout"], "", "never finished")
    rec = probe("memhog", "16", opts=["--memory", "64M"])
    eq((rec["oom_killed"], rec["stdout"]), (False, "done\n"), "under the limit")


@test
def busy_loop_dies_at_the_timeout():
    rec = probe("busy", opts=["--timeout", "500ms"])
    eq((rec["timed_out"], rec["signal"], rec["exit_code"]),
       (True, signal.SIGKILL, 137), "timeout")


@test
def output_flood_does_not_hold_off_the_timeout():
    # (time enough for yes to start on a loaded machine, even in UML)
    rec = aj(["--timeout", "3s", "--output-limit", "4K"], ["yes"]).rec
    eq((rec["timed_out"], rec["signal"], len(rec["stdout"]),
        rec["stdout_truncated"]), (True, signal.SIGKILL, 4096, True), "yes")


@test
def daemonized_child_dies_at_the_timeout():
    token = f"tok-timeout-{os.getpid()}"
    # (long enough for the host to see both before the timeout, also on
    # a loaded machine or in UML)
    p = subprocess.Popen([AJ, "run", "--json", "--timeout", "4s", "--ro-bind",
                          f"{PROBE}:/probe", "--", "/probe", "daemonize",
                          token, "busy"], stdout=subprocess.PIPE)
    STARTED.append(p.pid)
    pids = wait_for(lambda: len(host_pids_with(token)) >= 2 and host_pids_with(token),
                    "probe and its daemon")
    rec = json.loads(p.communicate(timeout=30)[0])
    eq(rec["timed_out"], True, "timed out")
    eq([q for q in pids if alive(q, token)], [], "survivors")


@test
def daemonized_child_dies_when_the_command_exits():
    token = f"tok-exit-{os.getpid()}"
    p = subprocess.Popen([AJ, "run", "--json", "--ro-bind", f"{PROBE}:/probe",
                          "--", "sh", "-c", f"/probe daemonize {token}; sleep 1"],
                         stdout=subprocess.PIPE)
    STARTED.append(p.pid)
    pids = wait_for(lambda: host_pids_with(token), "the daemon")
    rec = json.loads(p.communicate(timeout=30)[0])
    eq((rec["exit_code"], rec["timed_out"]), (0, False), "clean exit")
    eq([q for q in pids if alive(q, token)], [], "survivors")


@test
def cpu_time_limit_sends_sigxcpu():
    rec = probe("busy", opts=["--cpu-time", "1", "--timeout", "20s"])
    eq((rec["signal"], rec["timed_out"]), (signal.SIGXCPU, False), "SIGXCPU")


@test
def file_size_limit_sends_sigxfsz():
    rec = probe("diskfill", "/tmp/f", opts=["--fsize", "1M"])
    eq(rec["signal"], signal.SIGXFSZ, "SIGXFSZ")


@test
def open_files_limit():
    eq(probe("openmany", opts=["--nofile", "16"])["stdout"],
       "opened 13 EMFILE\n", "16 minus fds 0-2")


@test
def output_flood_is_cut_at_the_limit():
    rec = probe("flood", str(50 << 20), opts=["--output-limit", "64K"])
    eq((len(rec["stdout"]), rec["stdout_truncated"], rec["exit_code"]),
       (65536, True, 0), "collected")
    eq(rec["stderr_truncated"], False, "stderr")
    p = aj(["--output-limit", "64K"], ["/probe", "flood", str(50 << 20)],
           json_mode=False)
    eq((len(p.out), p.returncode), (65536, 0), "passed through")
    rec = probe("flood", "1000", opts=["--output-limit", "1000"])
    eq((len(rec["stdout"]), rec["stdout_truncated"]), (1000, False), "exactly")


@test
def disk_fill_gets_enospc():
    for path in ("/workspace/big", "/tmp/big", "/dev/shm/big"):
        rec = probe("diskfill", path, opts=["--disk", "8M", "--memory", "256M"])
        words = rec["stdout"].split()
        eq((words[0], words[2]), ("wrote", "ENOSPC"), path)
        check(int(words[1]) <= 8 << 20, f"{path}: wrote {words[1]} <= 8M")
    rec = probe("manyfiles", "/tmp", opts=["--disk", "64M:100"])
    words = rec["stdout"].split()
    eq(words[2], "ENOSPC", "inodes")
    check(int(words[1]) < 100, f"created {words[1]} < 100 files")


# ---- network ----------------------------------------------------------------------

@test
def host_loopback_is_unreachable_and_own_loopback_works():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = str(srv.getsockname()[1])
    try:
        eq(probe("net-connect", "127.0.0.1", port)["stdout"], "ECONNREFUSED\n",
           "net none")
        eq(probe("net-connect", "127.0.0.1", port, opts=["--net", "host"])["stdout"],
           "ok\n", "net host")
    finally:
        srv.close()
    code = ("import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); "
            "s.listen(); socket.create_connection(s.getsockname()); print('ok')")
    eq(aj([], ["python3", "-c", code]).rec["stdout"], "ok\n", "own loopback")


# ---- process hygiene ---------------------------------------------------------------

@test
def only_fds_0_to_2_are_open():
    r, w = os.pipe()
    try:
        rec = aj([], ["/probe", "ls-fds"], pass_fds=(r, w)).rec
    finally:
        os.close(r)
        os.close(w)
    eq(rec["stdout"], "0 1 2\n", "fds")


@test
def own_session_and_no_terminal():
    eq(probe("self")["stdout"], "uid=1000 gid=1000 pid=2 ppid=1 sid=2\n", "ids")
    eq(probe("cat", "/dev/tty")["stdout"], "ENXIO\n", "/dev/tty")
    eq(aj([], ["sh", "-c", "cat; echo end"]).rec["stdout"], "end\n", "stdin")


@test
def environment_does_not_leak():
    env = dict(os.environ, AGENTJAIL_TEST_SECRET="hunter2",
               SSH_AUTH_SOCK="/tmp/agent.sock")
    rec = aj(["--env", "FOO=bar", "--env", "LANG=C"], ["/probe", "env"],
             env=env).rec
    got = dict(ln.split("=", 1) for ln in lines(rec))
    eq(sorted(got), sorted(["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM",
                            "LANG", "TZ", "FOO"]), "variables")
    eq((got["HOME"], got["USER"], got["FOO"], got["LANG"]),
       ("/workspace", "user", "bar", "C"), "values")
    check("hunter2" not in rec["stdout"], "secret absent")


@test
def exit_codes_and_signals_pass_through():
    eq(aj([], ["/probe", "exit", "42"], json_mode=False).returncode, 42, "exit")
    rec = probe("kill-self", "15")
    eq((rec["exit_code"], rec["signal"]), (143, 15), "signal")
    eq(aj([], ["/probe", "kill-self", "15"], json_mode=False).returncode, 143,
       "128+signal")
    eq(aj([], ["/nonexistent"], json_mode=False).returncode, 127, "not found")


@test
def json_output_is_valid_utf8():
    rec = aj([], ["sh", "-c", r"printf 'a\377b\000c'; printf 'e\303' >&2"]).rec
    eq(rec["stdout"], "a\ufffdb\x00c", "invalid byte replaced")
    eq(rec["stderr"], "e\ufffd", "cut sequence replaced")


@test
def bad_options_exit_2_with_a_message():
    cases = [
        (["--memory", "lots"], "--memory"), (["--bogus"], "--bogus"),
        (["--net", "maybe"], "--net"), (["--pids"], "--pids"),
        (["--timeout", "-1"], "--timeout"), (["--cpus", "x"], "--cpus"),
        (["--ro-bind", "rel:/x"], "--ro-bind"), (["--cwd", "rel"], "--cwd"),
        (["--disk", "1G:0"], "--disk"), (["--env", "NOEQUALS"], "--env"),
    ]
    for args, word in cases:
        p = subprocess.run([AJ, "run"] + args + ["--", "/bin/true"],
                           capture_output=True, text=True)
        eq(p.returncode, 2, f"{args}")
        check(word in p.stderr, f"{args}: message names {word}: {p.stderr!r}")
    p = subprocess.run([AJ, "run"], capture_output=True, text=True)
    eq(p.returncode, 2, "no command")
    check("no command" in p.stderr, p.stderr)
    p = aj(["--cwd", "/nonexistent"], ["/bin/true"], json_mode=False)
    eq(p.returncode, 2, "missing cwd")
    check("/nonexistent" in p.err, p.err)
    p = subprocess.run([AJ, "run", "--help"], capture_output=True, text=True)
    eq(p.returncode, 0, "--help")
    for opt in ("--memory", "--pids", "--cpus", "--timeout", "--cpu-time",
                "--fsize", "--nofile", "--output-limit", "--workspace",
                "--disk", "--ro-bind", "--bind", "--env", "--cwd", "--net",
                "--json"):
        check(opt in p.stdout, f"--help describes {opt}")


# ---- teardown ----------------------------------------------------------------------

@test
def killing_agentjail_kills_the_tree():
    token = f"tok-outer-{os.getpid()}"
    p = subprocess.Popen([AJ, "run", "--timeout", "60s", "--ro-bind",
                          f"{PROBE}:/probe", "--", "/probe", "daemonize",
                          token, "busy"], stdout=subprocess.DEVNULL)
    STARTED.append(p.pid)
    pids = wait_for(lambda: len(host_pids_with(token)) >= 2 and host_pids_with(token),
                    "probe and its daemon")
    p.kill()
    p.wait()
    wait_for(lambda: not [q for q in pids if alive(q, token)], "the tree to die")
    # its cgroup (which it could not remove) is swept by the next run
    probe("exit", "0")
    eq({c for c in our_cgroup_leaves() if f"run-{p.pid}-" in c}, set(), "swept")


@test
def killing_pid1_kills_the_tree():
    token = f"tok-pid1-{os.getpid()}"
    p = subprocess.Popen([AJ, "run", "--json", "--timeout", "60s", "--ro-bind",
                          f"{PROBE}:/probe", "--", "/probe", "daemonize",
                          token, "busy"], stdout=subprocess.PIPE)
    STARTED.append(p.pid)
    pids = wait_for(lambda: len(host_pids_with(token)) >= 2 and host_pids_with(token),
                    "probe and its daemon")
    init = None
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/status") as f:
                st = f.read()
        except OSError:
            continue
        if f"\nPPid:\t{p.pid}\n" in st:
            init = int(d)
    check(init, "found PID 1 of the sandbox")
    os.kill(init, signal.SIGKILL)
    rec = json.loads(p.communicate(timeout=30)[0])
    eq((rec["exit_code"], rec["signal"], rec["timed_out"]),
       (137, signal.SIGKILL, False), "reported")
    wait_for(lambda: not [q for q in pids if alive(q, token)], "the tree to die")


@test
def nothing_is_left_behind():
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    tmp = set(os.listdir("/tmp"))
    probe("exit", "0")
    probe("busy", opts=["--timeout", "300ms"])
    if IS_ROOT:
        probe("memhog", "1024", opts=["--memory", "32M"])
    probe("daemonize", f"tok-left-{os.getpid()}")
    with open("/proc/self/mountinfo") as f:
        eq(f.read(), mounts, "host mounts unchanged")
    # (other jails may share the parent cgroup: look only at ours)
    ours = [c for c in our_cgroup_leaves()
            if any(f"run-{pid}-" in c for pid in STARTED)]
    eq(ours, [], "cgroups of our runs")
    new = {n for n in set(os.listdir("/tmp")) - tmp
           if "agentjail" in n or "oldroot" in n}
    eq(new, set(), "temp dirs")


# ---- unprivileged callers ----------------------------------------------------------

@test
def works_unprivileged_and_says_what_it_could_not_apply():
    if not IS_ROOT or not os.path.exists("/usr/bin/setpriv"):
        skip("needs root and /usr/bin/setpriv to drop to an ordinary user")
    drop = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
            "--clear-groups", "--"]
    p = aj([], ["/probe", "cat", "/proc/self/status"], prefix=drop)
    eq(p.rec["exit_code"], 0, "exit code")
    st = dict(ln.split(":\t", 1) for ln in lines(p.rec) if ":\t" in ln)
    eq((st["Uid"].split()[0], int(st["CapEff"], 16), st["Seccomp"].strip(),
        st["NoNewPrivs"].strip()), ("1000", 0, "2", "1"), "confined")
    # one warning per cgroup hierarchy: "memory limit not applied: ..."
    # on v1, "memory/pids/cpu limit not applied: ..." on v2
    said = [ln.split(" limit not applied")[0].rsplit(" ", 1)[-1].split("/")
            for ln in p.err.splitlines() if " limit not applied" in ln]
    for lim in ("memory", "pids", "cpu"):
        check(any(lim in names for names in said), f"warns about {lim}: {p.err!r}")
    p = aj([], ["/probe", "try-syscall", "mount", "unshare-user"], prefix=drop)
    eq(lines(p.rec), ["mount=EPERM", "unshare-user=EPERM"], "seccomp")
    eq(aj([], ["/probe", "cat", "/etc/shadow"], prefix=drop).rec["stdout"],
       "ENOENT\n", "host files")
    # a root caller brings the sandbox's loopback up from outside; an
    # unprivileged one cannot enter the namespace and the child does it
    code = ("import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); "
            "s.listen(); socket.create_connection(s.getsockname()); print('ok')")
    eq(aj([], ["python3", "-c", code], prefix=drop).rec["stdout"], "ok\n",
       "own loopback")


if __name__ == "__main__":
    main()
