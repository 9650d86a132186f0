"""test_api.py - the REST API of `agentjail serve`, end to end.

One real server on a free loopback port with a temporary state dir, driven
with http.client (and raw sockets where a client must misbehave).  Keys:
the admin key the server writes on first start, then keys made through
the API (and one through the CLI while the server runs) for tenant "a"
(user, viewer), tenant "b" (user) and tenant "q" (user, for the quota).

Waiting is always "poll until the condition holds or a deadline passes";
no sleep stands in for an assertion.  The restart test runs last: it
kills the server with SIGKILL and starts a new one on the same state.
"""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ajserver  # noqa: E402
from ajserver import descendants  # noqa: E402
import tap  # noqa: E402
from tap import check, eq, test, until  # noqa: E402

AJ = os.environ.get("AGENTJAIL", "build/agentjail")
QUOTA = 5
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# ---- the server ---------------------------------------------------------------

def Server(state, *extra):
    """A real server on a free loopback port with its state in state; logs
    beside it (server.log)."""
    return ajserver.Server(os.path.dirname(state), "--tenant-quota", str(QUOTA),
                           *extra, state=state)


Resp = ajserver.Resp


class Ctx:
    pass


def call(ctx, method, path, key=None, body=None, raw=None, headers=None,
         timeout=60):
    h = dict(headers or {})
    if key:
        h["Authorization"] = "Bearer " + ctx.keys.get(key, key)
    return ajserver.request(ctx.srv.port, method, path, h, body, raw, timeout)


def raw_request(ctx, data, timeout=20):
    """Send bytes as they are; return the status line and what followed."""
    s = socket.create_connection(("127.0.0.1", ctx.srv.port), timeout=timeout)
    try:
        s.sendall(data)
        return read_response(s)
    finally:
        s.close()


def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def expect(r, status, what=""):
    eq(r.status, status, f"{what} status ({r.body[:300]!r})")
    return r


def expect_err(r, status, code, what=""):
    expect(r, status, what)
    eq(r.json["error"]["code"], code, f"{what} error code")
    check(r.json["error"]["message"], f"{what}: an error message")
    return r


def create(ctx, key="a", status=201, **body):
    r = call(ctx, "POST", "/v1/sandboxes", key, body)
    expect(r, status, "create")
    return r.json


def destroy(ctx, sid, key="a"):
    expect(call(ctx, "DELETE", f"/v1/sandboxes/{sid}", key), 204, "destroy")


def run(ctx, sid, key="a", status=200, headers=None, **body):
    r = call(ctx, "POST", f"/v1/sandboxes/{sid}/exec", key, body, headers=headers)
    expect(r, status, f"exec {body}")
    return r.json


def sh(ctx, sid, command, **kw):
    return run(ctx, sid, command=command, **kw)


def files_url(sid, path, **q):
    from urllib.parse import urlencode
    return f"/v1/sandboxes/{sid}/files?" + urlencode({"path": path, **q})


# ---- the host's view of a sandbox ----------------------------------------------

def cgroup_dirs(sid):
    found = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        if os.path.basename(root) == "agentjail" and sid in dirs:
            found.append(os.path.join(root, sid))
        dirs[:] = [d for d in dirs if d != sid]
    return found


def host_pids_of(sid):
    pat = re.compile(r"/agentjail/" + re.escape(sid) + r"$", re.M)
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cgroup") as f:
                if pat.search(f.read()):
                    pids.append(int(p))
        except OSError:
            pass
    return pids


def proc_identity(pid):
    """(pid, start time) or None: tells a live process from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return (pid, f.read().rsplit(")", 1)[1].split()[19])
    except OSError:
        return None


# ---- setup ---------------------------------------------------------------------

def setup():
    ctx = Ctx()
    ctx.root = tempfile.mkdtemp(prefix="aj-api-")
    ctx.state = os.path.join(ctx.root, "var")
    ctx.srv = Server(ctx.state)
    with open(os.path.join(ctx.state, "admin.key")) as f:
        ctx.keys = {"admin": f.read().strip()}
    mode = os.stat(os.path.join(ctx.state, "admin.key")).st_mode & 0o777
    check(mode == 0o600, f"admin.key mode {oct(mode)}")
    for name, tenant, role in (("a", "a", "user"), ("av", "a", "viewer"),
                               ("b", "b", "user"), ("q", "q", "user")):
        r = call(ctx, "POST", "/v1/keys", "admin", {"tenant": tenant, "role": role})
        expect(r, 201, "key create")
        ctx.keys[name] = r.json["secret"]
    ctx.sb = create(ctx, metadata={"suite": "api"})["id"]
    return ctx


def teardown(ctx):
    if ctx is None:
        return
    try:
        if ctx.srv.proc.poll() is None:
            rc = ctx.srv.stop()
            if rc != 0:
                print(f"# server exited with {rc}:\n# " + ctx.srv.tail().replace("\n", "\n# "))
    finally:
        shutil.rmtree(ctx.root, ignore_errors=True)


# ---- health, auth, routing ----------------------------------------------------------

@test
def healthz_needs_no_key(ctx):
    r = expect(call(ctx, "GET", "/healthz"), 200)
    eq(r.json, {"status": "ok"}, "body")
    eq(r.headers["content-type"], "application/json", "content type")


@test
def missing_bad_and_malformed_keys_are_401(ctx):
    r = expect_err(call(ctx, "GET", "/v1/sandboxes"), 401, "unauthenticated")
    eq(r.headers.get("www-authenticate"), "Bearer", "WWW-Authenticate")
    expect_err(call(ctx, "GET", "/v1/sandboxes", "aj_" + "0" * 40), 401,
               "unauthenticated", "unknown key")
    expect_err(call(ctx, "GET", "/v1/sandboxes", headers={"Authorization": "Basic eDp5"}),
               401, "unauthenticated", "not Bearer")
    expect_err(call(ctx, "GET", "/metrics"), 401, "unauthenticated", "metrics")


@test
def unknown_path_404_wrong_method_405(ctx):
    expect_err(call(ctx, "GET", "/v1/nothing", "a"), 404, "not_found")
    r = expect_err(call(ctx, "PATCH", f"/v1/sandboxes/{ctx.sb}", "a"), 405,
                   "method_not_allowed")
    check("GET" in r.headers["allow"] and "DELETE" in r.headers["allow"],
          f"Allow: {r.headers['allow']}")
    expect(call(ctx, "PUT", "/healthz"), 405)


# ---- sandboxes -------------------------------------------------------------------------

@test
def create_get_list_and_secret_env(ctx):
    s = create(ctx, memory_mb=256, cpus=0.5, pids=64, disk_mb=64, disk_inodes=1000,
               timeout_s=120, env={"TOKEN": "hunter2"}, metadata={"job": "j1"},
               template="py")
    try:
        eq(s["state"], "running", "state")
        eq(s["tenant"], "a", "tenant")
        eq(s["template"], "py", "template")
        eq(s["limits"], {"memory_mb": 256, "cpus": 0.5, "pids": 64, "disk_mb": 64,
                         "disk_inodes": 1000, "network": "none"}, "limits")
        eq(s["metadata"], {"job": "j1"}, "metadata")
        eq(s["env_keys"], ["TOKEN"], "env keys")
        check(RFC3339.match(s["created_at"]) and RFC3339.match(s["expires_at"]),
              f"RFC 3339 times: {s['created_at']} {s['expires_at']}")
        check("hunter2" not in json.dumps(s), "env values are never echoed")
        g = expect(call(ctx, "GET", f"/v1/sandboxes/{s['id']}", "a"), 200).json
        eq(g["id"], s["id"], "get")
        check("hunter2" not in json.dumps(g), "env values are never echoed by get")
        eq(sh(ctx, s["id"], "echo $TOKEN")["stdout"], "hunter2\n", "env applied")
        for q in ("metadata=job=j1", "metadata.job=j1"):
            ids = [x["id"] for x in expect(call(ctx, "GET", "/v1/sandboxes?" + q, "a"),
                                           200).json["sandboxes"]]
            eq(ids, [s["id"]], f"filter {q}")
        none = call(ctx, "GET", "/v1/sandboxes?metadata=job=other", "a").json
        eq(none["sandboxes"], [], "non-matching filter")
        expect_err(call(ctx, "GET", "/v1/sandboxes?metadata=job", "a"), 400,
                   "invalid_argument", "filter without =")
        expect_err(call(ctx, "GET", "/v1/sandboxes?state=weird", "a"), 400,
                   "invalid_argument", "bad state")
    finally:
        destroy(ctx, s["id"])
    t = expect(call(ctx, "GET", "/v1/sandboxes?state=terminated", "a"), 200).json
    ended = [x for x in t["sandboxes"] if x["id"] == s["id"]]
    eq(len(ended), 1, "terminated sandbox listed")
    eq(ended[0]["end_reason"], "destroyed", "end reason")
    check(RFC3339.match(ended[0]["ended_at"]), "ended_at")
    running = call(ctx, "GET", "/v1/sandboxes", "a").json["sandboxes"]
    check(s["id"] not in [x["id"] for x in running], "default list is running only")
    alls = call(ctx, "GET", "/v1/sandboxes?state=all", "a").json["sandboxes"]
    check({s["id"], ctx.sb} <= {x["id"] for x in alls}, "state=all has both")


@test
def create_rejects_wrong_types_naming_the_field(ctx):
    for body, field in (({"memory_mb": "512"}, "memory_mb"),
                        ({"memory_mb": -1}, "memory_mb"),
                        ({"memory_mb": 1.5}, "memory_mb"),
                        ({"cpus": "two"}, "cpus"),
                        ({"pids": True}, "pids"),
                        ({"timeout_s": 0}, "timeout_s"),
                        ({"timeout_s": 2 ** 63 - 1}, "timeout_s"),
                        ({"env": {"A": 1}}, "env"),
                        ({"env": ["A=1"]}, "env"),
                        ({"metadata": "x"}, "metadata"),
                        ({"template": 7}, "template")):
        r = expect_err(call(ctx, "POST", "/v1/sandboxes", "a", body), 400,
                       "invalid_argument", str(body))
        check(field in r.json["error"]["message"], f"message names {field}: {r.json}")
    # range checks of the manager come back as 400 too
    expect_err(call(ctx, "POST", "/v1/sandboxes", "a", {"memory_mb": 1}), 400,
               "invalid_argument", "memory too small")


@test
def sandboxes_see_the_hosts_software_and_config(ctx):
    # the launcher shares one filesystem plan between the jails it builds:
    # /usr and the top-level links, small /etc files copied, others bound,
    # and none of the host's accounts
    r = sh(ctx, ctx.sb, "readlink /bin; cat /etc/timezone; "
           "test -s /etc/ld.so.cache && echo cache; "
           "grep -c . /etc/passwd; python3 -c 'print(6*7)'")
    with open("/etc/timezone") as f:
        tz = f.read()
    want = ("usr/bin\n" if os.path.islink("/bin") else "") + tz + "cache\n3\n42\n"
    eq(r["stdout"], want, "host software and config in the sandbox")


@test
def timeout_endpoint_extends_lifetime(ctx):
    before = call(ctx, "GET", f"/v1/sandboxes/{ctx.sb}", "a").json["expires_at"]
    r = expect(call(ctx, "POST", f"/v1/sandboxes/{ctx.sb}/timeout", "a",
                    {"timeout_s": 3600}), 200).json
    check(r["expires_at"] > before, f"expires_at moved: {before} -> {r['expires_at']}")
    expect_err(call(ctx, "POST", f"/v1/sandboxes/{ctx.sb}/timeout", "a", {}), 400,
               "invalid_argument", "missing timeout_s")
    expect_err(call(ctx, "POST", f"/v1/sandboxes/{ctx.sb}/timeout", "a",
                    {"timeout_s": "1h"}), 400, "invalid_argument", "string timeout_s")


@test
def idempotent_create_makes_one_sandbox(ctx):
    key = str(uuid.uuid4())
    tag = {"idem": key[:8]}
    h = {"Idempotency-Key": key}
    r1 = expect(call(ctx, "POST", "/v1/sandboxes", "a", {"metadata": tag}, headers=h), 201)
    r2 = expect(call(ctx, "POST", "/v1/sandboxes", "a", {"metadata": tag}, headers=h), 201)
    eq(r2.json["id"], r1.json["id"], "same id on retry")
    ids = [x["id"] for x in call(ctx, "GET", "/v1/sandboxes?metadata=idem=" + key[:8],
                                 "a").json["sandboxes"]]
    eq(ids, [r1.json["id"]], "only one sandbox")
    destroy(ctx, r1.json["id"])


@test
def expiry_terminates_within_seconds(ctx):
    s = create(ctx, timeout_s=1)
    t0 = time.monotonic()
    g = until(lambda: (lambda j: j if j["state"] == "terminated" else None)(
        call(ctx, "GET", f"/v1/sandboxes/{s['id']}", "a").json), "expiry", timeout=8)
    eq(g["end_reason"], "expired", "end reason")
    check(time.monotonic() - t0 >= 0.5, "not ended before its time")
    expect_err(call(ctx, "POST", f"/v1/sandboxes/{s['id']}/exec", "a",
                    {"command": "true"}), 404, "not_found", "exec after expiry")
    until(lambda: not host_pids_of(s["id"]) and not cgroup_dirs(s["id"]),
          "expired sandbox gone from the host")


@test
def tenant_quota_is_429(ctx):
    made = []
    try:
        for _ in range(QUOTA):
            made.append(create(ctx, key="q")["id"])
        expect_err(call(ctx, "POST", "/v1/sandboxes", "q", {}), 429, "quota_exceeded")
        create(ctx, key="b")  # other tenants are not affected
    finally:
        for sid in made:
            destroy(ctx, sid, "q")
        for x in call(ctx, "GET", "/v1/sandboxes", "b").json["sandboxes"]:
            destroy(ctx, x["id"], "b")
    destroy(ctx, create(ctx, key="q")["id"], "q")  # room again


# ---- roles and tenants ------------------------------------------------------------------

@test
def viewer_reads_but_cannot_create_or_exec(ctx):
    expect_err(call(ctx, "POST", "/v1/sandboxes", "av", {}), 403, "forbidden", "create")
    expect_err(call(ctx, "POST", f"/v1/sandboxes/{ctx.sb}/exec", "av",
                    {"command": "true"}), 403, "forbidden", "exec")
    expect_err(call(ctx, "DELETE", f"/v1/sandboxes/{ctx.sb}", "av"), 403, "forbidden",
               "delete")
    expect_err(call(ctx, "PUT", files_url(ctx.sb, "v.txt"), "av", raw=b"x"), 403,
               "forbidden", "upload")
    expect(call(ctx, "GET", f"/v1/sandboxes/{ctx.sb}", "av"), 200, "get")
    ids = [x["id"] for x in call(ctx, "GET", "/v1/sandboxes", "av").json["sandboxes"]]
    check(ctx.sb in ids, "viewer lists its tenant's sandboxes")
    expect(call(ctx, "GET", "/v1/audit", "av"), 200, "audit")
    expect(call(ctx, "GET", f"/v1/sandboxes/{ctx.sb}/processes", "av"), 200, "processes")


@test
def user_cannot_manage_keys(ctx):
    expect_err(call(ctx, "POST", "/v1/keys", "a", {"tenant": "a", "role": "admin"}),
               403, "forbidden", "create key")
    expect_err(call(ctx, "GET", "/v1/keys", "a"), 403, "forbidden", "list keys")
    expect_err(call(ctx, "DELETE", "/v1/keys/key_000000000000", "av"), 403, "forbidden",
               "revoke key")


@test
def other_tenant_gets_404_everywhere(ctx):
    sid = ctx.sb
    pid = run(ctx, sid, command="sleep 600", background=True, status=202)["pid"]
    for method, path, body in (
            ("GET", f"/v1/sandboxes/{sid}", None),
            ("POST", f"/v1/sandboxes/{sid}/exec", {"command": "true"}),
            ("POST", f"/v1/sandboxes/{sid}/timeout", {"timeout_s": 10}),
            ("GET", f"/v1/sandboxes/{sid}/processes", None),
            ("GET", f"/v1/sandboxes/{sid}/processes/{pid}", None),
            ("POST", f"/v1/sandboxes/{sid}/processes/{pid}/signal", {"signal": 9}),
            ("POST", f"/v1/sandboxes/{sid}/processes/{pid}/stdin", {"data": "x"}),
            ("GET", files_url(sid, "/etc/passwd"), None),
            ("GET", files_url(sid, "/", list=1), None),
            ("DELETE", files_url(sid, "f"), None),
            ("POST", f"/v1/sandboxes/{sid}/files/mkdir", {"path": "d"}),
            ("DELETE", f"/v1/sandboxes/{sid}", None)):
        expect_err(call(ctx, method, path, "b", body), 404, "not_found", f"{method} {path}")
    expect_err(call(ctx, "PUT", files_url(sid, "x"), "b", raw=b"data"), 404, "not_found",
               "upload")
    ids = [x["id"] for x in call(ctx, "GET", "/v1/sandboxes?state=all", "b").json["sandboxes"]]
    check(sid not in ids, "not in b's list")
    recs = call(ctx, "GET", f"/v1/audit?sandbox={sid}", "b").json["records"]
    check(recs, "b's refused attempts are audited")
    check(all(x["tenant"] == "b" and x["outcome"] == "not_found" for x in recs),
          f"b sees only its own (refused) records: {recs}")
    # still alive and untouched for its owner
    g = call(ctx, "GET", f"/v1/sandboxes/{sid}/processes/{pid}", "a").json
    eq(g["running"], True, "a's process survived b's attempts")
    expect(call(ctx, "POST", f"/v1/sandboxes/{sid}/processes/{pid}/signal", "a",
                {"signal": "KILL"}), 204)


@test
def admin_sees_every_tenant(ctx):
    g = expect(call(ctx, "GET", f"/v1/sandboxes/{ctx.sb}", "admin"), 200).json
    eq(g["tenant"], "a", "admin reads tenant a's sandbox")


# ---- exec --------------------------------------------------------------------------------

@test
def exec_result_fields(ctx):
    r = run(ctx, ctx.sb, command="echo out; echo err >&2; exit 3")
    eq((r["stdout"], r["stderr"], r["exit_code"], r["signal"]), ("out\n", "err\n", 3, 0),
       "output and status")
    for k in ("exec_id", "stdout_truncated", "stderr_truncated", "timed_out",
              "oom_killed", "wall_ms", "cpu_ms", "max_rss_kb"):
        check(k in r, f"field {k}")
    eq(r["timed_out"], False, "timed_out")
    r = run(ctx, ctx.sb, cmd=["sh", "-c", 'echo "$0 $1 $V $(pwd)"', "x", "y z"],
            env={"V": "v1"}, cwd="/tmp")
    eq(r["stdout"], "x y z v1 /tmp\n", "argv, env, cwd")
    r = run(ctx, ctx.sb, command="kill -TERM $$")
    eq((r["signal"], r["exit_code"]), (15, 143), "killed by a signal")
    r = run(ctx, ctx.sb, cmd=["/no/such/program"])
    check(r.get("error"), f"start failure reported: {r}")
    eq(r["exit_code"], 127, "exit code of a missing program")


@test
def exec_stdin_text_and_base64(ctx):
    eq(run(ctx, ctx.sb, cmd=["cat"], stdin="hello\n")["stdout"], "hello\n", "stdin")
    raw = bytes(range(256))
    r = run(ctx, ctx.sb, cmd=["cat"], stdin_b64=base64.b64encode(raw).decode())
    eq(base64.b64decode(r["stdout_b64"]), raw, "binary stdin round trip via stdout_b64")
    check("\ufffd" in r["stdout"], "stdout text has U+FFFD for bad bytes")
    eq(run(ctx, ctx.sb, cmd=["cat"])["stdout"], "", "no stdin: /dev/null")
    expect_err(call(ctx, "POST", f"/v1/sandboxes/{ctx.sb}/exec", "a",
                    {"cmd": ["cat"], "stdin": "a", "stdin_b64": "YQ=="}), 400,
               "invalid_argument", "both stdin forms")
    expect_err(call(ctx, "POST", f"/v1/sandboxes/{ctx.sb}/exec", "a",
                    {"cmd": ["cat"], "stdin_b64": "not base64!"}), 400,
               "invalid_argument", "bad base64")


@test
def exec_rejects_bad_requests(ctx):
    url = f"/v1/sandboxes/{ctx.sb}/exec"
    for body, field in (({"cmd": "ls"}, "cmd"), ({"cmd": ["ls", 1]}, "cmd"),
                        ({"command": ["ls"]}, "command"),
                        ({"command": "true", "timeout_ms": -5}, "timeout_ms"),
                        ({"command": "true", "timeout_ms": "5s"}, "timeout_ms"),
                        ({"command": "true", "env": {"A": None, "B": 2}}, "env"),
                        ({"command": "true", "background": "yes"}, "background"),
                        ({"command": "true", "output_limit": 0}, "output_limit")):
        r = expect_err(call(ctx, "POST", url, "a", body), 400, "invalid_argument", str(body))
        check(field in r.json["error"]["message"], f"names {field}: {r.json}")
    expect_err(call(ctx, "POST", url, "a", {}), 400, "invalid_argument", "no command")
    expect_err(call(ctx, "POST", url, "a", {"cmd": ["a"], "command": "b"}), 400,
               "invalid_argument", "both forms")


@test
def exec_timeout_and_output_limit(ctx):
    # (3 s: time for the shell to start and echo on a loaded machine, or
    # in UML)
    r = run(ctx, ctx.sb, command="echo started; exec sleep 3600", timeout_ms=3000)
    eq(r["timed_out"], True, "timed out")
    eq(r["stdout"], "started\n", "output before the timeout kept")
    # it returned, so it did not wait for the hour; and nothing was left
    eq(run(ctx, ctx.sb, command="pgrep -x sleep || echo none")["stdout"], "none\n",
       "the timed-out command was killed")
    r = run(ctx, ctx.sb, command="head -c 100000 /dev/zero | tr '\\0' a", output_limit=1000)
    eq(r["stdout_truncated"], True, "truncated")
    eq(len(r["stdout"]), 1000, "cut at the limit")
    eq(r["stderr_truncated"], False, "stderr untouched")


@test
def idempotent_exec_runs_once(ctx):
    h = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"command": "echo x >> /workspace/idem.txt; wc -l < /workspace/idem.txt"}
    r1 = run(ctx, ctx.sb, headers=h, **body)
    r2 = run(ctx, ctx.sb, headers=h, **body)
    eq(r2["exec_id"], r1["exec_id"], "same exec_id")
    eq(r2["stdout"], r1["stdout"], "same output")
    eq(sh(ctx, ctx.sb, "wc -l < /workspace/idem.txt")["stdout"].strip(), "1",
       "the side effect happened once")
    # the same key on another sandbox is a different operation
    other = create(ctx)
    try:
        r = call(ctx, "POST", f"/v1/sandboxes/{other['id']}/exec", "a", body, headers=h)
        check(r.status in (200, 409), f"reuse elsewhere: {r}")
        if r.status == 200:
            check(r.json["exec_id"] != r1["exec_id"], "not the other sandbox's result")
    finally:
        destroy(ctx, other["id"])


@test
def idempotent_exec_with_binary_output_runs_once(ctx):
    """Output that is not UTF-8 text, and NUL bytes, must survive the stored
    first answer: the retry gets the same bytes and runs nothing."""
    h = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"command": "echo x >> /workspace/idem-bin.txt; printf 'a\\377\\000b'; printf '\\000' >&2"}
    r1 = run(ctx, ctx.sb, headers=h, **body)
    r2 = run(ctx, ctx.sb, headers=h, **body)
    eq(r2["exec_id"], r1["exec_id"], "same exec_id")
    eq(base64.b64decode(r2["stdout_b64"]), b"a\xff\x00b", "stdout bytes replayed")
    eq(r2["stderr"], "\u0000", "a NUL byte is valid text")
    eq(sh(ctx, ctx.sb, "wc -l < /workspace/idem-bin.txt")["stdout"].strip(), "1",
       "the side effect happened once")


@test
def workspace_files_persist_between_execs(ctx):
    sh(ctx, ctx.sb, "mkdir -p /workspace/p && echo kept > /workspace/p/f")
    eq(sh(ctx, ctx.sb, "cat p/f")["stdout"], "kept\n", "file from a previous exec")
    r = expect(call(ctx, "GET", files_url(ctx.sb, "p/f"), "a"), 200)
    eq(r.body, b"kept\n", "and through the files API")


# ---- background processes -------------------------------------------------------------------

@test
def stdin_never_lands_in_another_process(ctx):
    # A process's stdin is written and closed by the exec that feeds it
    # (a foreground exec with stdin) and, beside it, by POST .../stdin with
    # data and eof; meanwhile processes end and new pipes take their
    # descriptor numbers.  A write or close through a number closed in
    # between hits whatever took it (another process's stdin, a socket,
    # the database).  Each command echoes its stdin; nothing addressed to
    # another may show up in it.
    sid = create(ctx, pids=256)["id"]
    ex = f"/v1/sandboxes/{sid}/exec"
    base = f"/v1/sandboxes/{sid}/processes"
    feeders, rounds = 4, 15
    results, problems = [], []
    done = threading.Event()

    def feeder(k):
        data = (chr(ord("A") + k) * 63 + "\n") * 2048  # 128 KiB: more than a pipe holds
        for _ in range(rounds):
            r = call(ctx, "POST", ex, "a", {"command": "echo me=$$; exec cat",
                                            "stdin": data, "timeout_ms": 60000}, timeout=120)
            if r.status != 200:
                problems.append(f"feeder {k}: {r.status} {r.body[:200]!r}")
            else:
                results.append((data, r.json))

    def poker():  # data and eof for every running process, addressed by pid
        n = 0
        while not done.is_set():
            r = call(ctx, "GET", base, "a")
            if r.status != 200:
                problems.append(f"list: {r.status}")
                continue
            for p in r.json["processes"]:
                if p["running"]:
                    n += 1
                    body = {"data": f"for-pid-{p['pid']}\n"}
                    if n % 3 == 0:
                        body["eof"] = True
                    call(ctx, "POST", f"{base}/{p['pid']}/stdin", "a", body)

    def churn():  # short processes: their pipes come and go
        while not done.is_set():
            r = call(ctx, "POST", ex, "a", {"command": "head -c 1 >/dev/null", "stdin": "x"})
            if r.status != 200:
                problems.append(f"churn: {r.status} {r.body[:200]!r}")

    threads = [threading.Thread(target=feeder, args=(k,)) for k in range(feeders)]
    helpers = [threading.Thread(target=f) for f in (poker, poker, churn, churn)]
    for t in threads + helpers:
        t.start()
    for t in threads:
        t.join()
    done.set()
    for t in helpers:
        t.join()
    eq(problems, [], "every call answered")
    eq(len(results), feeders * rounds, "every exec ran")
    for data, rec in results:
        out = rec["stdout"]
        me = f"me={rec['pid']}\n"
        check(out.startswith(me), f"first line {out[:40]!r}, pid {rec['pid']}")
        # what we sent, with the lines POSTed to this pid anywhere in it (a
        # write of a line is atomic), cut short if an eof came first
        rest = out[len(me):].replace(f"for-pid-{rec['pid']}\n", "")
        foreign = sorted((set(re.findall(r"for-pid-[0-9]+", rest)) |
                          set(re.findall(r"[A-Z]", rest))) - {data[0]})
        check(data.startswith(rest), f"pid {rec['pid']} read what was not its own: "
              f"{foreign[:8]} ({len(rest)} of {len(data)} bytes)")
    expect(call(ctx, "DELETE", f"/v1/sandboxes/{sid}", "a"), 204, "destroy")


@test
def background_process_stdin_status_and_signal(ctx):
    base = f"/v1/sandboxes/{ctx.sb}/processes"
    r = run(ctx, ctx.sb, status=202, background=True,
            command='while read l; do echo "got:$l"; done; echo bye')
    pid = r["pid"]
    check(r["exec_id"], "exec id")
    eq(sh(ctx, ctx.sb, f"kill -0 {pid} && echo alive")["stdout"], "alive\n",
       "still running during a later exec")
    lst = expect(call(ctx, "GET", base, "a"), 200).json["processes"]
    check(pid in [p["pid"] for p in lst], f"listed: {lst}")
    expect(call(ctx, "POST", f"{base}/{pid}/stdin", "a", {"data": "one\n"}), 204)
    expect(call(ctx, "POST", f"{base}/{pid}/stdin", "a",
                {"data_b64": base64.b64encode(b"two\n").decode()}), 204)
    until(lambda: "got:two" in call(ctx, "GET", f"{base}/{pid}", "a").json["stdout"],
          "output so far")
    expect(call(ctx, "POST", f"{base}/{pid}/stdin", "a", {"eof": True}), 204)
    g = until(lambda: (lambda j: j if not j["running"] else None)(
        call(ctx, "GET", f"{base}/{pid}", "a").json), "exit after EOF")
    eq((g["exit_code"], g["stdout"]), (0, "got:one\ngot:two\nbye\n"), "final state")
    expect_err(call(ctx, "POST", f"{base}/{pid}/stdin", "a", {}), 400, "invalid_argument",
               "nothing to do")
    # signals by name and number
    pid = run(ctx, ctx.sb, status=202, background=True, command="sleep 600")["pid"]
    expect(call(ctx, "POST", f"{base}/{pid}/signal", "a", {"signal": "SIGTERM"}), 204)
    g = until(lambda: (lambda j: j if not j["running"] else None)(
        call(ctx, "GET", f"{base}/{pid}", "a").json), "exit after SIGTERM")
    eq(g["signal"], 15, "terminated by SIGTERM")
    expect_err(call(ctx, "POST", f"{base}/{pid}/signal", "a", {"signal": "SIGNOPE"}), 400,
               "invalid_argument", "unknown signal")
    expect_err(call(ctx, "GET", f"{base}/999999", "a"), 404, "not_found", "no such pid")
    expect_err(call(ctx, "GET", f"{base}/abc", "a"), 400, "invalid_argument", "bad pid")


@test
def kill_all_processes(ctx):
    base = f"/v1/sandboxes/{ctx.sb}/processes"
    pids = [run(ctx, ctx.sb, status=202, background=True, command=c)["pid"]
            for c in ("sleep 600", "setsid sleep 700 & wait")]
    expect_err(call(ctx, "DELETE", base, "av"), 403, "forbidden", "a viewer cannot")
    expect_err(call(ctx, "DELETE", base, "b"), 404, "not_found", "another tenant cannot")
    expect(call(ctx, "DELETE", base, "a"), 204)
    until(lambda: not [p for p in call(ctx, "GET", base, "a").json["processes"]
                       if p["running"]], "nothing left running")
    for pid in pids:
        eq(call(ctx, "GET", f"{base}/{pid}", "a").json["signal"], 9, f"{pid} killed")
    eq(sh(ctx, ctx.sb, "ps -e -o comm= | grep -c sleep || true")["stdout"], "0\n",
       "the daemon went too")


# ---- streaming ------------------------------------------------------------------------------

def stream(ctx, sid, accept, body, key="a"):
    conn = http.client.HTTPConnection("127.0.0.1", ctx.srv.port, timeout=30)
    conn.request("POST", f"/v1/sandboxes/{sid}/exec", body=json.dumps(body),
                 headers={"Authorization": "Bearer " + ctx.keys[key], "Accept": accept})
    return conn, conn.getresponse()


@test
def stream_ndjson_events(ctx):
    conn, r = stream(ctx, ctx.sb, "application/x-ndjson",
                     {"command": "echo one; sleep 0.2; echo two >&2; printf '\\377'; exit 4"})
    try:
        eq(r.status, 200, "status")
        eq(r.getheader("Content-Type"), "application/x-ndjson", "content type")
        events = [json.loads(line) for line in r.read().splitlines() if line]
    finally:
        conn.close()
    eq(events[0]["type"], "start", "first event")
    check(events[0]["pid"] > 0, "start pid")
    out = "".join(e.get("data", "") for e in events if e["type"] == "stdout")
    b64 = b"".join(base64.b64decode(e["data_b64"]) for e in events
                   if e["type"] == "stdout" and "data_b64" in e)
    eq(out, "one\n", "stdout text")
    eq(b64, b"\xff", "binary stdout as data_b64")
    eq("".join(e.get("data", "") for e in events if e["type"] == "stderr"), "two\n", "stderr")
    last = events[-1]
    eq((last["type"], last["exit_code"]), ("exit", 4), "final event")
    check("stdout" not in last and "stderr" not in last, "exit event has no output")
    check(last["exec_id"], "exit event has the exec id")


@test
def stream_sse_frames(ctx):
    conn, r = stream(ctx, ctx.sb, "text/event-stream", {"cmd": ["echo", "héllo"]})
    try:
        eq(r.status, 200, "status")
        eq(r.getheader("Content-Type"), "text/event-stream", "content type")
        text = r.read().decode()
    finally:
        conn.close()
    frames = [f for f in text.split("\n\n") if f]
    kinds = [f.split("\n")[0] for f in frames]
    eq(kinds, ["event: start", "event: stdout", "event: exit"], "frames")
    data = json.loads(frames[1].split("\n", 1)[1][len("data: "):])
    eq(data, {"type": "stdout", "data": "héllo\n"}, "stdout frame")


def stream_events(ctx, body, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", ctx.srv.port, timeout=30)
    h = {"Authorization": "Bearer " + ctx.keys["a"], "Accept": "application/x-ndjson"}
    conn.request("POST", f"/v1/sandboxes/{ctx.sb}/exec", body=json.dumps(body),
                 headers={**h, **(headers or {})})
    try:
        r = conn.getresponse()
        eq(r.status, 200, "stream status")
        return [json.loads(x) for x in r.read().splitlines() if x]
    finally:
        conn.close()


@test
def stream_to_a_slow_client_loses_nothing(ctx):
    """8 MB of stderr fill the stream's queue and the socket's buffers
    while the client does not read, so output is handed over slowly; the
    last bytes of stdout come while that goes on, then the command ends.
    Every byte of both must reach the client."""
    conn, r = stream(ctx, ctx.sb, "application/x-ndjson",
                     {"command": "head -c 8000000 /dev/zero | tr '\\0' e >&2; printf END",
                      "output_limit": 10000000})
    try:
        eq(json.loads(r.readline())["type"], "start", "started")
        # the client stalls until the command has certainly finished
        until(lambda: not [p for p in call(ctx, "GET", f"/v1/sandboxes/{ctx.sb}/processes",
                                           "a").json["processes"] if p["running"]],
              "the command finished while the client stalled", timeout=120)
        ev = [json.loads(x) for x in r.read().splitlines() if x]
    finally:
        conn.close()
    eq("".join(e.get("data", "") for e in ev if e["type"] == "stdout"), "END", "stdout")
    eq(sum(len(e.get("data", "")) for e in ev if e["type"] == "stderr"), 8000000, "stderr")
    eq(ev[-1]["type"], "exit", "ends with exit")


@test
def stream_keeps_a_split_utf8_character_as_text(ctx):
    ev = stream_events(ctx, {"command": "printf '\\303'; sleep 0.2; printf '\\251\\n'"})
    out = [e for e in ev if e["type"] == "stdout"]
    check(all("data" in e for e in out), f"no base64 for text cut in two: {out}")
    eq("".join(e["data"] for e in out), "\u00e9\n", "the character whole")


@test
def stream_replay_with_idempotency_key(ctx):
    h = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"command": "echo once >> /workspace/replay.txt; cat /workspace/replay.txt"}
    first = stream_events(ctx, body, h)
    again = stream_events(ctx, body, h)
    for ev in (first, again):
        eq([e["type"] for e in ev], ["start", "stdout", "exit"], "event types")
    eq(again[-1]["exec_id"], first[-1]["exec_id"], "same exec")
    eq(again[1]["data"], "once\n", "output of the first run")
    eq(sh(ctx, ctx.sb, "cat /workspace/replay.txt")["stdout"], "once\n", "ran once")


@test
def stream_errors_before_start_are_plain_statuses(ctx):
    conn, r = stream(ctx, "sb_nope", "application/x-ndjson", {"command": "true"})
    try:
        eq(r.status, 404, "unknown sandbox")
        eq(json.loads(r.read())["error"]["code"], "not_found", "code")
    finally:
        conn.close()
    conn, r = stream(ctx, ctx.sb, "application/x-ndjson", {"command": "true"}, key="av")
    try:
        eq(r.status, 403, "viewer")
    finally:
        conn.close()


@test
def stream_client_disconnect_kills_the_command(ctx):
    conn, r = stream(ctx, ctx.sb, "application/x-ndjson",
                     {"command": "echo ready; exec sleep 120"})
    try:
        start = json.loads(r.readline())
        eq(start["type"], "start", "start event")
        pid = start["pid"]
        first = json.loads(r.readline())
        eq(first.get("data"), "ready\n", "first output")
    finally:
        conn.sock.shutdown(socket.SHUT_RDWR) if conn.sock else None
        conn.close()
    procs = f"/v1/sandboxes/{ctx.sb}/processes"
    until(lambda: pid not in [p["pid"] for p in call(ctx, "GET", procs, "a").json["processes"]],
          "the command killed after the client left", timeout=10)
    eq(sh(ctx, ctx.sb, f"kill -0 {pid} 2>/dev/null || echo gone")["stdout"], "gone\n",
       "no such process in the sandbox")


@test
def long_exec_does_not_block_others(ctx):
    """A command that waits for a gate file: everything else must get
    through while it waits, or the gate would never be opened."""
    sh(ctx, ctx.sb, "rm -f /workspace/gate")
    conn, r = stream(ctx, ctx.sb, "application/x-ndjson",
                     {"command": "while [ ! -e /workspace/gate ]; do sleep 0.02; done; echo done",
                      "timeout_ms": 60000})
    try:
        pid = json.loads(r.readline())["pid"]
        for _ in range(5):
            expect(call(ctx, "GET", "/healthz"), 200)
            eq(sh(ctx, ctx.sb, "echo quick")["stdout"], "quick\n", "another exec")
        procs = call(ctx, "GET", f"/v1/sandboxes/{ctx.sb}/processes", "a").json["processes"]
        check(pid in [p["pid"] for p in procs if p["running"]], "the long one still waits")
        expect(call(ctx, "PUT", files_url(ctx.sb, "gate"), "a", raw=b""), 201)
        rest = [json.loads(x) for x in r.read().splitlines() if x]
        eq([e["type"] for e in rest], ["stdout", "exit"], "then it finished")
        eq(rest[-1]["timed_out"], False, "not by its timeout")
    finally:
        conn.close()


# ---- files ---------------------------------------------------------------------------------

@test
def files_upload_download_stat_list(ctx):
    blob = os.urandom(3 << 20) + b"\0tail"
    r = expect(call(ctx, "PUT", files_url(ctx.sb, "data/blob.bin"), "a", raw=blob), 201)
    e = r.json
    eq((e["name"], e["path"], e["type"], e["size"]),
       ("blob.bin", "/workspace/data/blob.bin", "file", len(blob)), "entry")
    check(isinstance(e["mode"], int) and RFC3339.match(e["mtime"]), f"mode/mtime: {e}")
    r = expect(call(ctx, "GET", files_url(ctx.sb, "/workspace/data/blob.bin"), "a"), 200)
    eq(r.body == blob, True, "download is byte exact")
    eq(r.headers["content-type"], "application/octet-stream", "content type")
    eq(int(r.headers["content-length"]), len(blob), "content length")
    eq(sh(ctx, ctx.sb, "stat -c '%U %s' data/blob.bin")["stdout"], f"user {len(blob)}\n",
       "owned by the sandbox user, seen by commands")
    st = expect(call(ctx, "GET", files_url(ctx.sb, "data/blob.bin", stat=1), "a"), 200).json
    eq(st["size"], len(blob), "stat")
    sh(ctx, ctx.sb, "mkdir -p data/sub && echo x > data/sub/y && ln -sf blob.bin data/ln")
    ents = expect(call(ctx, "GET", files_url(ctx.sb, "data", list=1), "a"), 200).json["entries"]
    by = {x["name"]: x for x in ents}
    eq(sorted(by), ["blob.bin", "ln", "sub"], "depth 1")
    eq((by["sub"]["type"], by["ln"]["type"], by["ln"]["symlink_target"]),
       ("dir", "symlink", "blob.bin"), "types")
    ents = call(ctx, "GET", files_url(ctx.sb, "data", list=1, depth=2), "a").json["entries"]
    check("/workspace/data/sub/y" in [x["path"] for x in ents], "depth 2")
    # chunked upload (no Content-Length)
    def gen():
        yield b"abc"
        yield b"def"
    conn = http.client.HTTPConnection("127.0.0.1", ctx.srv.port, timeout=30)
    conn.request("PUT", files_url(ctx.sb, "chunked.txt"), body=gen(),
                 headers={"Authorization": "Bearer " + ctx.keys["a"]}, encode_chunked=True)
    eq(conn.getresponse().status, 201, "chunked upload")
    conn.close()
    eq(call(ctx, "GET", files_url(ctx.sb, "chunked.txt"), "a").body, b"abcdef", "content")
    expect_err(call(ctx, "GET", f"/v1/sandboxes/{ctx.sb}/files", "a"), 400, "invalid_argument",
               "no path")
    expect_err(call(ctx, "GET", files_url(ctx.sb, "nope"), "a"), 404, "not_found", "missing")
    expect_err(call(ctx, "GET", files_url(ctx.sb, "data"), "a"), 400, "invalid_argument",
               "directory download")


@test
def files_mkdir_rename_delete(ctx):
    base = f"/v1/sandboxes/{ctx.sb}/files"
    e = expect(call(ctx, "POST", base + "/mkdir", "a", {"path": "m/n/o", "parents": True}),
               201).json
    eq((e["path"], e["type"]), ("/workspace/m/n/o", "dir"), "mkdir -p")
    expect_err(call(ctx, "POST", base + "/mkdir", "a", {"path": "m/n/o"}), 409,
               "already_exists", "mkdir existing")
    expect_err(call(ctx, "POST", base + "/mkdir", "a", {"path": "x/y/z"}), 404,
               "not_found", "mkdir without parents")
    expect_err(call(ctx, "POST", base + "/mkdir", "a", {"parents": True}), 400,
               "invalid_argument", "mkdir without path")
    expect(call(ctx, "PUT", files_url(ctx.sb, "m/f.txt"), "a", raw=b"F"), 201)
    e = expect(call(ctx, "POST", base + "/rename", "a", {"from": "m/f.txt", "to": "m/n/g.txt"}),
               200).json
    eq(e["path"], "/workspace/m/n/g.txt", "renamed entry")
    eq(call(ctx, "GET", files_url(ctx.sb, "m/n/g.txt"), "a").body, b"F", "content moved")
    expect_err(call(ctx, "GET", files_url(ctx.sb, "m/f.txt"), "a"), 404, "not_found", "old name")
    expect_err(call(ctx, "POST", base + "/rename", "a", {"from": "m/n/g.txt"}), 400,
               "invalid_argument", "rename without to")
    expect(call(ctx, "DELETE", files_url(ctx.sb, "m"), "a"), 204)
    eq(sh(ctx, ctx.sb, "test -e m || echo gone")["stdout"], "gone\n", "tree removed")
    expect_err(call(ctx, "DELETE", files_url(ctx.sb, "m"), "a"), 404, "not_found", "again")


@test
def paths_never_leave_the_sandbox(ctx):
    # ".." stays inside: this is the sandbox's own /etc/passwd
    inside = sh(ctx, ctx.sb, "cat /etc/passwd")["stdout"].encode()
    r = expect(call(ctx, "GET", files_url(ctx.sb, "../../../../etc/passwd"), "a"), 200)
    eq(r.body, inside, "../../etc/passwd is the sandbox's")
    marker = f"aj-escape-{uuid.uuid4().hex[:12]}"
    expect(call(ctx, "PUT", files_url(ctx.sb, f"../../../../tmp/{marker}"), "a", raw=b"in"), 201)
    check(not os.path.exists(f"/tmp/{marker}"), "nothing written to the host's /tmp")
    eq(sh(ctx, ctx.sb, f"cat /tmp/{marker}")["stdout"], "in", "it landed in the sandbox's /tmp")
    # absolute symlinks planted by a command resolve inside the sandbox
    secret = f"/var/tmp/{marker}"
    with open(secret, "w") as f:
        f.write("host secret")
    try:
        sh(ctx, ctx.sb, f"ln -s / rootlink && ln -s {secret} seclink && ln -s /etc etclink")
        for p in ("seclink", f"rootlink{secret}"):
            r = call(ctx, "GET", files_url(ctx.sb, p), "a")
            check(r.status == 404 and b"host secret" not in r.body, f"{p}: {r}")
        r = call(ctx, "PUT", files_url(ctx.sb, f"etclink/{marker}"), "a", raw=b"x")
        check(r.status >= 400, f"write through /etc link refused: {r}")
        check(not os.path.exists(f"/etc/{marker}"), "nothing written to the host's /etc")
        r = call(ctx, "PUT", files_url(ctx.sb, f"rootlink/var/tmp/{marker}"), "a", raw=b"x")
        with open(secret) as f:
            eq(f.read(), "host secret", "host file untouched")
        r = call(ctx, "GET", files_url(ctx.sb, "rootlink/proc/1/environ"), "a")
        check(r.status in (403, 404), f"kernel files refused: {r}")
    finally:
        os.unlink(secret)


@test
def upload_over_disk_quota_is_507_and_keeps_the_old_file(ctx):
    s = create(ctx, disk_mb=4)
    try:
        expect(call(ctx, "PUT", files_url(s["id"], "f"), "a", raw=b"old"), 201)
        r = call(ctx, "PUT", files_url(s["id"], "f"), "a", raw=b"z" * (8 << 20))
        expect_err(r, 507, "no_space", "over quota")
        eq(call(ctx, "GET", files_url(s["id"], "f"), "a").body, b"old", "old file intact")
        left = sh(ctx, s["id"], "ls -A /workspace")["stdout"].split()
        eq(left, ["f"], "no temporary file left behind")
        r = sh(ctx, s["id"], "head -c 3000000 /dev/zero > big && echo ok")
        eq(r["stdout"], "ok\n", "the space was given back")
    finally:
        destroy(ctx, s["id"])


@test
def upload_cut_short_leaves_no_temporary_file(ctx):
    s = socket.create_connection(("127.0.0.1", ctx.srv.port), timeout=30)
    s.sendall((f"PUT {files_url(ctx.sb, 'cut/short.bin')} HTTP/1.1\r\nHost: t\r\n"
               f"Authorization: Bearer {ctx.keys['a']}\r\nContent-Length: 1000000\r\n\r\n"
               ).encode() + b"x" * 300000)
    until(lambda: any(n.startswith(".aj-upload-") for n in
                      sh(ctx, ctx.sb, "ls -A cut 2>/dev/null")["stdout"].split()),
          "the upload's temporary file")
    s.close()
    until(lambda: sh(ctx, ctx.sb, "ls -A cut")["stdout"] == "", "temporary file removed")
    expect_err(call(ctx, "GET", files_url(ctx.sb, "cut/short.bin"), "a"), 404, "not_found",
               "nothing committed")


@test
def early_errors_are_answered_before_the_body(ctx):
    # Expect: 100-continue and an upload the server refuses: the answer
    # comes without the body ever being sent.
    hdr = (f"PUT {files_url('sb_nope', 'x')} HTTP/1.1\r\nHost: t\r\n"
           f"Authorization: Bearer {ctx.keys['a']}\r\nContent-Length: 1000000\r\n"
           "Expect: 100-continue\r\n\r\n").encode()
    resp = raw_request(ctx, hdr)
    check(resp.startswith(b"HTTP/1.1 404"), f"refused before the body: {resp[:80]!r}")
    for extra in ("Content-Length: 9000000\r\nExpect: 100-continue\r\n",
                  "Content-Length: 100000000\r\n"):
        hdr = ("POST /v1/sandboxes HTTP/1.1\r\nHost: t\r\n"
               f"Authorization: Bearer {ctx.keys['a']}\r\n{extra}\r\n").encode()
        resp = raw_request(ctx, hdr)
        check(resp.startswith(b"HTTP/1.1 413"), f"declared body too big: {resp[:80]!r}")
        check(b'"too_large"' in resp, "error code")


# ---- malformed input -----------------------------------------------------------------------

@test
def malformed_input_is_4xx_and_harmless(ctx):
    url = "/v1/sandboxes"
    r = expect_err(call(ctx, "POST", url, "a", raw=b"{not json"), 400, "invalid_argument")
    check("JSON" in r.json["error"]["message"], "jansson's message")
    expect_err(call(ctx, "POST", url, "a", raw=b"[1,2]"), 400, "invalid_argument", "array")
    expect_err(call(ctx, "POST", url, "a", raw=b'{"a":1,"a":2}'), 400, "invalid_argument",
               "duplicate keys")
    expect_err(call(ctx, "POST", url, "a", raw=b'{"template":"a\\u0000b"}'), 400,
               "invalid_argument", "NUL in a string")
    expect_err(call(ctx, "POST", url, "a", raw=b'{"memory_mb":1e400}'), 400,
               "invalid_argument", "huge real")
    expect_err(call(ctx, "POST", url, "a", raw=b'{"memory_mb":123456789012345678901234567890}'),
               400, "invalid_argument", "huge integer")
    expect_err(call(ctx, "POST", url, "a", raw=b"[" * 100000), 400, "invalid_argument",
               "deep nesting")
    expect_err(call(ctx, "POST", url, "a", raw=b"\xff\xfe{}"), 400, "invalid_argument",
               "not UTF-8")
    expect_err(call(ctx, "GET", files_url(ctx.sb, "a\0b"), "a"), 400, "invalid_argument",
               "NUL in a query path")
    expect_err(call(ctx, "GET", f"/v1/sandboxes/{ctx.sb}%00/files?path=x", "a"), 400,
               "invalid_argument", "NUL in the URL path")
    expect_err(call(ctx, "GET", f"/v1/sandboxes/{ctx.sb}/files?path=%zz", "a"), 400,
               "invalid_argument", "bad escape")
    expect_err(call(ctx, "POST", f"/v1/sandboxes/{ctx.sb}/exec", "a",
                    raw=b'{"command":"echo \\u0000"}'), 400, "invalid_argument", "NUL command")
    big = b'{"template":"' + b"x" * (9 << 20) + b'"}'
    r = call(ctx, "POST", url, "a", raw=big)
    expect_err(r, 413, "too_large", "9 MiB body")
    # the same without Content-Length: chunked
    s = socket.create_connection(("127.0.0.1", ctx.srv.port), timeout=30)
    try:
        s.sendall(("POST /v1/sandboxes HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                   f"Authorization: Bearer {ctx.keys['a']}\r\n\r\n").encode())
        chunk = b"x" * (1 << 20)
        for _ in range(9):
            s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        resp = read_response(s)
    finally:
        s.close()
    check(resp.startswith(b"HTTP/1.1 413"), f"chunked over the limit: {resp[:80]!r}")
    resp = raw_request(ctx, b"GARBAGE\r\n\r\n")
    check(resp == b"" or resp.startswith(b"HTTP/1.1 4"), f"garbage: {resp[:60]!r}")
    expect(call(ctx, "GET", "/healthz"), 200, "still serving")


# ---- keys, audit, metrics ---------------------------------------------------------------------

@test
def keys_create_list_revoke(ctx):
    r = expect(call(ctx, "POST", "/v1/keys", "admin", {"tenant": "t2", "role": "viewer"}),
               201).json
    check(r["secret"].startswith("aj_") and r["id"].startswith("key_"), f"key: {r}")
    eq((r["tenant"], r["role"]), ("t2", "viewer"), "tenant and role")
    expect(call(ctx, "GET", "/v1/sandboxes", r["secret"]), 200, "new key works")
    lst = expect(call(ctx, "GET", "/v1/keys", "admin"), 200).json["keys"]
    mine = [k for k in lst if k["id"] == r["id"]]
    eq(len(mine), 1, "listed")
    check("secret" not in mine[0], "list never shows secrets")
    expect(call(ctx, "DELETE", f"/v1/keys/{r['id']}", "admin"), 204)
    expect_err(call(ctx, "GET", "/v1/sandboxes", r["secret"]), 401, "unauthenticated",
               "revoked key")
    expect_err(call(ctx, "DELETE", "/v1/keys/key_ffffffffffff", "admin"), 404, "not_found",
               "unknown key")
    expect_err(call(ctx, "POST", "/v1/keys", "admin", {"tenant": "t2", "role": "root"}), 400,
               "invalid_argument", "bad role")
    expect_err(call(ctx, "POST", "/v1/keys", "admin", {"tenant": "bad tenant!"}), 400,
               "invalid_argument", "bad tenant")
    # a key made with the CLI while the server runs works at once
    out = subprocess.run([AJ, "keys", "create", "--tenant", "cli", "--role", "user",
                          "--state", ctx.state, "--json"], capture_output=True, text=True,
                         timeout=30)
    eq(out.returncode, 0, f"keys create: {out.stderr}")
    expect(call(ctx, "GET", "/v1/sandboxes", json.loads(out.stdout)["secret"]), 200,
           "CLI key")


@test
def audit_records_and_chain(ctx):
    s = create(ctx)
    ex = sh(ctx, s["id"], "true")
    destroy(ctx, s["id"])
    r = expect(call(ctx, "GET", f"/v1/audit?sandbox={s['id']}", "a"), 200).json["records"]
    actions = [x["action"] for x in r]
    for a in ("sandbox.create", "sandbox.exec", "sandbox.destroy"):
        check(a in actions, f"{a} in {actions}")
    e = [x for x in r if x["action"] == "sandbox.exec"][0]
    eq(e["detail"]["exec_id"], ex["exec_id"], "exec record names the exec")
    check(all(x["tenant"] == "a" and x["outcome"] == "ok" for x in r), "tenant and outcome")
    check(all(RFC3339.match(x["time"]) and len(x["hash"]) == 64 for x in r), "time, hash")
    seqs = [x["seq"] for x in r]
    eq(seqs, sorted(seqs), "oldest first")
    after = call(ctx, "GET", f"/v1/audit?sandbox={s['id']}&after={seqs[0]}", "a").json["records"]
    eq([x["seq"] for x in after], seqs[1:], "after=")
    one = call(ctx, "GET", f"/v1/audit?sandbox={s['id']}&limit=1", "a").json["records"]
    eq(len(one), 1, "limit=")
    since = r[-1]["time"]
    later = call(ctx, "GET", f"/v1/audit?sandbox={s['id']}&since={since}", "a").json["records"]
    check(later and all(x["ts_ms"] >= r[-1]["ts_ms"] for x in later), "since= (RFC 3339)")
    later = call(ctx, "GET", f"/v1/audit?sandbox={s['id']}&since={r[-1]['ts_ms']}",
                 "a").json["records"]
    check(later and all(x["ts_ms"] >= r[-1]["ts_ms"] for x in later), "since= (ms)")
    expect_err(call(ctx, "GET", "/v1/audit?since=yesterday", "a"), 400, "invalid_argument")
    expect_err(call(ctx, "GET", "/v1/audit?limit=0", "a"), 400, "invalid_argument")
    others = call(ctx, "GET", "/v1/audit?limit=1000", "av").json["records"]
    check(others and all(x["tenant"] == "a" for x in others), "viewer: own tenant only")
    v = subprocess.run([AJ, "audit", "verify", "--state", ctx.state], capture_output=True,
                       text=True, timeout=60)
    eq(v.returncode, 0, f"audit verify: {v.stdout} {v.stderr}")


# ---- access tokens (E2B routes) and revocation ---------------------------------------------

def e2b(ctx, method, path, key, body=None):
    """A call on the E2B control plane: X-API-KEY in E2B form."""
    secret = ctx.keys.get(key, key)
    return ajserver.request(ctx.srv.port, method, path,
                            {"X-API-KEY": "e2b_" + secret[3:]}, body)


def envd(ctx, sid, token, path, body=None, raw=None, headers=None):
    """A sandbox-scoped call with an envd access token (None: no token)."""
    h = {"E2b-Sandbox-Id": sid, "Content-Type": "application/json"}
    if token is not None:
        h["X-Access-Token"] = token
    h.update(headers or {})
    return ajserver.request(ctx.srv.port, "POST", path, h, body, raw)


def envd_write(ctx, sid, token, path, data):
    from urllib.parse import quote
    return envd(ctx, sid, token, "/files?path=" + quote(path), raw=data,
                headers={"Content-Type": "application/octet-stream"})


def envd_start(ctx, sid, token, cmd):
    """process.Process/Start (a Connect stream): (status, [(flag, msg)])."""
    msg = json.dumps({"process": {"cmd": "/bin/sh", "args": ["-c", cmd]}}).encode()
    r = envd(ctx, sid, token, "/process.Process/Start",
             raw=b"\0" + len(msg).to_bytes(4, "big") + msg,
             headers={"Content-Type": "application/connect+json",
                      "Connect-Protocol-Version": "1"})
    frames, b = [], r.body
    while r.status == 200 and b:
        n = int.from_bytes(b[1:5], "big")
        frames.append((b[0], json.loads(b[5:5 + n])))
        b = b[5 + n:]
    return r.status, frames


def started(res):
    """The process ran: a start event and exit code 0."""
    status, frames = res
    ends = [m["event"]["end"] for f, m in frames if f == 0 and "end" in m.get("event", {})]
    return status == 200 and any("start" in m.get("event", {}) for _, m in frames) and \
        ends and ends[0].get("exitCode", 0) == 0


def refused(res):
    """Start failed before anything ran: an end-stream frame 'unauthenticated'
    (a stream's error rides in its end frame) or a 401."""
    status, frames = res
    if status == 401:
        return True
    return status == 200 and len(frames) == 1 and frames[0][0] == 2 and \
        frames[0][1].get("error", {}).get("code") == "unauthenticated"


def e2b_sandbox(ctx, key="a"):
    r = e2b(ctx, "POST", "/sandboxes", key, {"templateID": "base"})
    expect(r, 201, "e2b create")
    return r.json


def new_key(ctx, tenant="a", role="user"):
    r = expect(call(ctx, "POST", "/v1/keys", "admin", {"tenant": tenant, "role": role}), 201,
               "key create").json
    return r["id"], r["secret"]


def audit_of(ctx, sid, action):
    recs = expect(call(ctx, "GET", f"/v1/audit?sandbox={sid}&limit=1000", "admin"),
                  200).json["records"]
    return [x for x in recs if x["action"] == action]


@test
def e2b_tokens_only_for_user_keys_of_the_tenant(ctx):
    sb = e2b_sandbox(ctx)
    sid = sb["sandboxID"]
    check(sb["envdAccessToken"] and sb["trafficAccessToken"], f"creator gets tokens: {sb}")
    mine = expect(e2b(ctx, "GET", f"/sandboxes/{sid}", "a"), 200).json
    eq(mine.get("envdAccessToken"), sb["envdAccessToken"], "the same key gets the same token")
    # a viewer of the tenant sees the sandbox, never a token
    seen = expect(e2b(ctx, "GET", f"/sandboxes/{sid}", "av"), 200, "viewer GET").json
    eq(seen["sandboxID"], sid, "viewer sees it")
    check("envdAccessToken" not in seen and "trafficAccessToken" not in seen,
          f"viewer GET has no token: {seen}")
    expect(e2b(ctx, "POST", f"/sandboxes/{sid}/connect", "av", {"timeout": 60}), 403,
           "viewer connect")
    expect(e2b(ctx, "POST", f"/v2/sandboxes/{sid}/connect", "av", {}), 403, "viewer connect v2")
    lst = expect(e2b(ctx, "GET", "/v2/sandboxes", "av"), 200).json
    check(all("envdAccessToken" not in x for x in lst), "no tokens in lists")
    expect(e2b(ctx, "POST", "/sandboxes", "av", {}), 403, "viewer create")
    # an admin of another tenant sees it (admins see every tenant), gets no token
    adm = expect(e2b(ctx, "GET", f"/sandboxes/{sid}", "admin"), 200, "admin GET").json
    check("envdAccessToken" not in adm, f"admin of another tenant: no token: {adm}")
    expect(e2b(ctx, "POST", f"/sandboxes/{sid}/connect", "admin", {}), 403, "admin connect")
    # a user of another tenant does not even see it
    expect(e2b(ctx, "GET", f"/sandboxes/{sid}", "b"), 404, "other tenant GET")
    expect(e2b(ctx, "POST", f"/sandboxes/{sid}/connect", "b", {}), 404, "other tenant connect")
    # what a viewer could try without a token of its own, on every token route
    vid = [k for k in expect(call(ctx, "GET", "/v1/keys", "admin"), 200).json["keys"]
           if k["tenant"] == "a" and k["role"] == "viewer"][0]["id"]
    mac = sb["envdAccessToken"].rsplit(".", 1)[-1]
    for tok in (None, "", f"{vid}.{mac}", sb["envdAccessToken"][:-1] + "0",
                sb["trafficAccessToken"], "f" * 32):
        if tok == sb["envdAccessToken"]:
            continue
        check(refused(envd_start(ctx, sid, tok, "echo x > /workspace/viewer")),
              f"process start with {tok!r}")
        expect(envd_write(ctx, sid, tok, "/workspace/viewer", b"x"), 401, f"write {tok!r}")
        expect(envd(ctx, sid, tok, "/process.Process/List", body={}), 401, f"list {tok!r}")
        if tok == sb["trafficAccessToken"]:
            continue  # the creator's, where it belongs; as an envd token it failed
        r = ajserver.request(ctx.srv.port, "POST", "/execute",
                             {"E2b-Sandbox-Id": sid, "E2B-Traffic-Access-Token": tok or "x",
                              "Content-Type": "application/json"}, {"code": "1"})
        expect(r, 401, f"execute with traffic token {tok!r}")
    # the token of one sandbox does not open another
    other = e2b_sandbox(ctx)
    expect(envd_write(ctx, sid, other["envdAccessToken"], "/workspace/x", b"x"), 401, "cross")
    check(started(envd_start(ctx, sid, sb["envdAccessToken"], "test ! -e /workspace/viewer")),
          "nothing a refused call tried happened")
    expect(e2b(ctx, "DELETE", f"/sandboxes/{other['sandboxID']}", "a"), 204)
    expect(e2b(ctx, "DELETE", f"/sandboxes/{sid}", "a"), 204)


def revoked_token_dies(ctx, revoke):
    """A token obtained by user key U acts as U (audit) and dies the moment
    U is revoked (revoke(U's id)); the sandbox and other keys' tokens live."""
    uid, usecret = new_key(ctx)
    ctx.keys[uid] = usecret
    sb = e2b_sandbox(ctx)  # made by key "a"
    sid = sb["sandboxID"]
    tok = expect(e2b(ctx, "GET", f"/sandboxes/{sid}", uid), 200).json["envdAccessToken"]
    check(tok != sb["envdAccessToken"], "each key its own token")
    check(tok.startswith(uid + "."), f"the token names its key: {tok}")
    traffic = expect(e2b(ctx, "POST", f"/sandboxes/{sid}/connect", uid, {}),
                     200).json["trafficAccessToken"]
    expect(envd_write(ctx, sid, tok, "/workspace/by-u", b"u"), 200, "write with U's token")
    check(started(envd_start(ctx, sid, tok, "true")), "start with U's token")
    writes = audit_of(ctx, sid, "file.write")
    eq([w["key_id"] for w in writes], [uid], "the write is recorded under U's key")
    execs = audit_of(ctx, sid, "sandbox.exec_background") + audit_of(ctx, sid, "sandbox.exec")
    check(execs and all(x["key_id"] == uid for x in execs), f"exec recorded under U: {execs}")
    grants = audit_of(ctx, sid, "sandbox.token")
    eq([g["key_id"] for g in grants], [uid], "U's first token is recorded")

    revoke(uid)
    # at once: no waiting, the very next request
    expect(envd_write(ctx, sid, tok, "/workspace/after", b"x"), 401, "write after revoke")
    check(refused(envd_start(ctx, sid, tok, "echo x > /workspace/after")), "start after revoke")
    expect(envd(ctx, sid, tok, "/process.Process/List", body={}), 401, "list after revoke")
    r = ajserver.request(ctx.srv.port, "POST", "/execute",
                         {"E2b-Sandbox-Id": sid, "E2B-Traffic-Access-Token": traffic,
                          "Content-Type": "application/json"}, {"code": "1"})
    expect(r, 401, "interpreter after revoke")
    expect(e2b(ctx, "GET", f"/sandboxes/{sid}", uid), 401, "the key itself")
    # the sandbox runs on for the tenant's other keys
    check(started(envd_start(ctx, sid, sb["envdAccessToken"], "test ! -e /workspace/after")),
          "creator's token still works; nothing happened after the revocation")
    eq(expect(call(ctx, "GET", f"/v1/sandboxes/{sid}", "a"), 200).json["state"], "running",
       "the sandbox keeps running")
    expect(e2b(ctx, "DELETE", f"/sandboxes/{sid}", "a"), 204)


@test
def revoked_key_tokens_die_rest(ctx):
    revoked_token_dies(ctx, lambda uid: expect(call(ctx, "DELETE", f"/v1/keys/{uid}", "admin"),
                                               204, "revoke"))


@test
def revoked_key_tokens_die_cli_while_serving(ctx):
    def revoke(uid):
        r = subprocess.run([AJ, "keys", "revoke", uid, "--state", ctx.state],
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, f"keys revoke: {r.stderr}")
    revoked_token_dies(ctx, revoke)


def mcp_post(ctx, key, msg, sid=None, timeout=60):
    h = {"Authorization": "Bearer " + ctx.keys.get(key, key),
         "Content-Type": "application/json", "Accept": "application/json",
         "MCP-Protocol-Version": "2025-11-25"}
    if sid:
        h["Mcp-Session-Id"] = sid
    return ajserver.request(ctx.srv.port, "POST", "/mcp", h, msg, timeout=timeout)


def mcp_session(ctx, key):
    r = mcp_post(ctx, key, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}})
    expect(r, 200, "initialize")
    sid = r.headers["mcp-session-id"]
    expect(mcp_post(ctx, key, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid),
           202, "initialized")
    return sid


def mcp_tool(ctx, key, sid, n, name, args, timeout=60):
    return mcp_post(ctx, key, {"jsonrpc": "2.0", "id": n, "method": "tools/call",
                               "params": {"name": name, "arguments": args}}, sid, timeout)


def mcp_session_of_a_revoked_key_ends(ctx, revoke):
    uid, usecret = new_key(ctx)
    ctx.keys[uid] = usecret
    sid = mcp_session(ctx, uid)
    r = expect(mcp_tool(ctx, uid, sid, 2, "run_command", {"command": "echo hi"}), 200).json
    out = r["result"]["structuredContent"]
    eq(out["stdout"], "hi\n", f"tool works: {r}")
    box = out["sandbox_id"]
    # a call in flight when the key is revoked
    done = {}

    def long_call():
        done["r"] = mcp_tool(ctx, uid, sid, 3, "run_command",
                             {"command": "sleep 300", "timeout_ms": 600000}, timeout=600)
    t = threading.Thread(target=long_call)
    t.start()
    until(lambda: any(p["cmd"].endswith("sleep 300") for p in
                      call(ctx, "GET", f"/v1/sandboxes/{box}/processes", "a").json["processes"]),
          "the long command runs")
    revoke(uid)
    r = mcp_tool(ctx, uid, sid, 4, "run_command", {"command": "echo again"})
    expect(r, 401, f"the session's next request ({r.body[:200]!r})")
    t.join(60)
    check(not t.is_alive(), "the call in flight ended (its session closed)")
    until(lambda: not any(p["cmd"].endswith("sleep 300") for p in
                          call(ctx, "GET", f"/v1/sandboxes/{box}/processes",
                               "a").json["processes"]),
          "its command was killed")
    eq(expect(call(ctx, "GET", f"/v1/sandboxes/{box}", "a"), 200).json["state"], "running",
       "the session's sandbox keeps running (to its expiry)")
    destroy(ctx, box)


@test
def revoked_key_mcp_session_ends_rest(ctx):
    mcp_session_of_a_revoked_key_ends(
        ctx, lambda uid: expect(call(ctx, "DELETE", f"/v1/keys/{uid}", "admin"), 204))


@test
def revoked_key_mcp_session_ends_cli(ctx):
    def revoke(uid):
        r = subprocess.run([AJ, "keys", "revoke", uid, "--state", ctx.state],
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, f"keys revoke: {r.stderr}")
    mcp_session_of_a_revoked_key_ends(ctx, revoke)


@test
def audit_details_are_json_whatever_the_input(ctx):
    """Ids from the URL with quotes, backslashes, control characters and
    bytes that are not UTF-8 land in the hash-chained log as one JSON value
    each: no caller can add a field to a record."""
    import sqlite3
    from urllib.parse import quote
    crafted = ['x","role":"admin', 'a\\"}, {"b', "tab\there\nnl\x01\x1f", 'back\\slash\\',
               "\u00e9\u2603", b"bad\xff\xfeutf8".decode("latin-1")]
    for cid in crafted:
        raw = cid.encode("latin-1") if "\xff" in cid else cid.encode()
        r = call(ctx, "DELETE", "/v1/keys/" + quote(raw, safe=""), "admin")
        expect_err(r, 404, "not_found", f"revoke {cid!r}")
    # processes: a signal to a pid that is not there, and one that is
    bg = run(ctx, ctx.sb, status=202, background=True, command="sleep 60")
    expect(call(ctx, "POST", f"/v1/sandboxes/{ctx.sb}/processes/{bg['pid']}/signal", "a",
                {"signal": "SIGKILL"}), 204, "signal")
    # a template id and a command line that are not plain ASCII
    s = create(ctx, template='t"\\\x07\u00e9')
    sh(ctx, s["id"], 'echo "\\" \x01 \u00e9" > /dev/null')
    destroy(ctx, s["id"])
    db = sqlite3.connect(os.path.join(ctx.state, "agentjail.db"), timeout=10)
    try:
        rows = db.execute("SELECT action, detail FROM audit WHERE detail IS NOT NULL"
                          " ORDER BY seq").fetchall()
    finally:
        db.close()
    details = {}
    for action, detail in rows:
        d = json.loads(detail)  # exactly one JSON value, or this raises
        check(isinstance(d, dict), f"{action}: an object: {detail!r}")
        details.setdefault(action, []).append(d)
    want = {cid.encode("latin-1").decode("utf-8", "replace") if "\xff" in cid else cid
            for cid in crafted}
    revokes = [d for d in details["key.revoke"] if d.get("key_id") in want]
    eq(len(revokes), len(crafted), f"one record per crafted id: {details['key.revoke']}")
    check(all(list(d) == ["key_id"] for d in revokes), f"key_id only: {revokes}")
    eq({d["key_id"] for d in revokes}, want, "each id exactly as sent")
    sig = [d for d in details["process.signal"] if d.get("pid") == bg["pid"]]
    eq(sig, [{"pid": bg["pid"], "signal": 9}], "signal detail")
    mk = [d for d in details["sandbox.create"] if d["template"].startswith("t")]
    check(any(d["template"] == 't"\\\x07\u00e9' for d in mk), f"template as given: {mk}")
    check(any(d["command"] == 'echo "\\" \x01 \u00e9" > /dev/null'
              for d in details["sandbox.exec"]), "command as given")
    v = subprocess.run([AJ, "audit", "verify", "--state", ctx.state], capture_output=True,
                       text=True, timeout=60)
    eq(v.returncode, 0, f"audit verify: {v.stdout} {v.stderr}")


@test
def metrics_prometheus_text(ctx):
    sh(ctx, ctx.sb, "true")
    r = expect(call(ctx, "GET", "/metrics", "av"), 200)
    check(r.headers["content-type"].startswith("text/plain"), "content type")
    text = r.body.decode()
    vals = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, v = line.rsplit(" ", 1)
            vals[name] = float(v)
    check(vals["agentjail_sandboxes_active"] >= 1, "active gauge")
    check(vals["agentjail_sandboxes_created_total"] >= 5, "created")
    check(vals["agentjail_sandboxes_destroyed_total"] >= 3, "destroyed")
    check(vals["agentjail_sandboxes_expired_total"] >= 1, "expired")
    check(vals['agentjail_execs_total{outcome="ok"}'] >= 5, "ok execs")
    check(vals['agentjail_execs_total{outcome="failed"}'] >= 1, "failed execs")
    check(vals['agentjail_execs_total{outcome="timeout"}'] >= 1, "timed out execs")
    check(vals['agentjail_execs_total{outcome="error"}'] >= 1, "start failures")
    for o in ("oom",):
        check(f'agentjail_execs_total{{outcome="{o}"}}' in vals, o)
    check(vals["agentjail_pool_ready"] >= 0, "pool gauge")
    for h in ("agentjail_create_seconds", "agentjail_exec_seconds"):
        n = vals[h + "_count"]
        check(n >= 1, f"{h} count")
        eq(vals[h + '_bucket{le="+Inf"}'], n, f"{h} +Inf bucket")
        check(vals[h + "_sum"] > 0, f"{h} sum")
        buckets = [v for k, v in vals.items() if k.startswith(h + "_bucket")]
        eq(buckets, sorted(buckets), f"{h} buckets are cumulative")
    check("agentjail_pool_hits_total" in vals and "agentjail_pool_misses_total" in vals, "pool")


# ---- the host --------------------------------------------------------------------------------

@test
def destroy_leaves_nothing_on_the_host(ctx):
    s = create(ctx)
    sh(ctx, s["id"], "sleep 600 & sleep 600 & echo started")
    run(ctx, s["id"], status=202, background=True, command="sleep 600")
    pids = host_pids_of(s["id"])
    check(len(pids) >= 3, f"host sees the sandbox's processes: {pids}")
    dirs = cgroup_dirs(s["id"])
    check(dirs, "the sandbox has cgroup dirs")
    ids = [proc_identity(p) for p in pids]
    destroy(ctx, s["id"])
    until(lambda: not any(proc_identity(p) == i for p, i in zip(pids, ids)),
          "every process of the sandbox gone")
    until(lambda: not any(os.path.exists(d) for d in dirs), "cgroup dirs removed")
    expect_err(call(ctx, "GET", files_url(s["id"], "x"), "a"), 404, "not_found", "files")


@test
def restart_ends_live_sandboxes_and_orphans_nothing(ctx):
    s = create(ctx)
    run(ctx, s["id"], status=202, background=True, command="sleep 600")
    family = descendants(ctx.srv.proc.pid)
    check(len(family) >= 3, f"launcher, supervisor, command: {family}")
    ids = [proc_identity(p) for p in family]
    dirs = cgroup_dirs(s["id"]) + cgroup_dirs(ctx.sb)
    check(dirs, "cgroup dirs exist")
    ctx.srv.stop(signal.SIGKILL)
    until(lambda: not any(proc_identity(p) == i for p, i in zip(family, ids)),
          "no process of the old server left", timeout=10)
    for d in dirs:
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                eq(f.read(), "", f"no process left in {d}")
        except FileNotFoundError:
            pass
    # The sweep at start spares empty cgroups younger than 10 s (they may
    # be a concurrent server's jail being born); wait until ours are older.
    def aged(d):
        try:
            return time.time() - os.stat(d).st_ctime > 10.5
        except FileNotFoundError:
            return True  # another server's sweep on this host got it first
    until(lambda: all(aged(d) for d in dirs), "cgroups older than the sweep's grace",
          timeout=15, step=0.2)
    ctx.srv = Server(ctx.state)
    for sid in (s["id"], ctx.sb):
        g = expect(call(ctx, "GET", f"/v1/sandboxes/{sid}", "a"), 200).json
        eq((g["state"], g["end_reason"]), ("terminated", "server restarted"), sid)
    until(lambda: not any(os.path.exists(d) for d in dirs), "stale cgroups swept", timeout=10)
    eq(call(ctx, "GET", "/v1/sandboxes", "a").json["sandboxes"], [], "nothing running")
    new = create(ctx)
    eq(sh(ctx, new["id"], "echo back")["stdout"], "back\n", "the new server works")
    # A clean stop ends sandboxes with a reason too, and exits 0, also
    # while a plain exec and a stream wait for commands that would run for
    # minutes (stop() gives up after 20 s).
    long = {"command": "sleep 300", "timeout_ms": 300000}
    def plain_exec():
        try:
            call(ctx, "POST", f"/v1/sandboxes/{new['id']}/exec", "a", long)
        except OSError:
            pass  # the server went away under it: expected
    plain = threading.Thread(target=plain_exec, daemon=True)
    plain.start()
    conn, r = stream(ctx, new["id"], "application/x-ndjson", long)
    eq(json.loads(r.readline())["type"], "start", "stream started")
    procs = f"/v1/sandboxes/{new['id']}/processes"
    until(lambda: len([p for p in call(ctx, "GET", procs, "a").json["processes"]
                       if p["running"]]) == 2, "both commands running")
    family = descendants(ctx.srv.proc.pid)
    ids = [proc_identity(p) for p in family]
    eq(ctx.srv.stop(signal.SIGTERM), 0, "exit status after SIGTERM")
    conn.close()
    plain.join(10)
    check(not any(proc_identity(p) == i for p, i in zip(family, ids)), "nothing left")
    ctx.srv = Server(ctx.state)
    g = call(ctx, "GET", f"/v1/sandboxes/{new['id']}", "a").json
    eq((g["state"], g["end_reason"]), ("terminated", "server stopped"), "clean stop")
    check(not os.path.exists(os.path.join(ctx.state, "admin.key.tmp")), "no temp key file")
    with open(os.path.join(ctx.state, "admin.key")) as f:
        eq(f.read().strip(), ctx.keys["admin"], "admin key not replaced on restart")


@test
def no_auth_only_on_loopback_and_loud(ctx):
    r = subprocess.run([AJ, "serve", "--no-auth", "--listen", "0.0.0.0:0", "--state",
                        os.path.join(ctx.root, "noauth-bad")], capture_output=True,
                       text=True, timeout=30)
    eq(r.returncode, 2, f"refused off loopback: {r.stderr}")
    check("loopback" in r.stderr, f"says why: {r.stderr}")
    check(not os.path.exists(os.path.join(ctx.root, "noauth-bad")), "refused before any state")
    r = subprocess.run([AJ, "serve", "--help"], capture_output=True, text=True, timeout=30)
    eq(r.returncode, 0, "--help")
    check("--no-auth" in r.stdout and "--tenant-quota" in r.stdout, "--help text")
    srv = Server(os.path.join(ctx.root, "noauth", "var"), "--no-auth")
    try:
        check("WARNING: --no-auth" in srv.tail(), "warns on stderr")
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        conn.request("POST", "/v1/sandboxes", body="{}")
        r = conn.getresponse()
        body = json.loads(r.read())
        eq((r.status, body["tenant"]), (201, "default"), "acts as tenant default")
        conn.request("GET", "/v1/keys")
        r = conn.getresponse()
        eq(r.status, 200, "as an admin")
        r.read()
        conn.close()
        # E2B: the no-auth caller is no stored key; its tokens still work
        sb = ajserver.request(srv.port, "POST", "/sandboxes", {"X-API-KEY": "e2b_00"}, {})
        eq(sb.status, 201, f"e2b create: {sb.body[:200]!r}")
        h = {"E2b-Sandbox-Id": sb.json["sandboxID"], "X-Access-Token": sb.json["envdAccessToken"],
             "Content-Type": "application/json"}
        r = ajserver.request(srv.port, "POST", "/process.Process/List", h, {})
        eq(r.status, 200, f"envd call with a no-auth token: {r.body[:200]!r}")
    finally:
        eq(srv.stop(), 0, "no-auth server stops cleanly")


@test
def server_log_is_clean(ctx):
    """Last: stop the server and look for sanitizer reports (UBSan does not
    change the exit status) in everything every server of the suite wrote."""
    eq(ctx.srv.stop(), 0, "exit status")
    with open(ctx.srv.log.name, "rb") as f:
        log = f.read().decode(errors="replace")
    for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer", "Assertion"):
        check(bad not in log, f"{bad} in the server log:\n{log[-2000:]}")
    check("GET /healthz 200" in log, "one log line per request")


if __name__ == "__main__":
    tap.main(setup, teardown)
