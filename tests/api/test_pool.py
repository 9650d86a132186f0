"""test_pool.py - the warm pool as `agentjail serve` configures it.

serve keeps 2 pooled sandboxes by default, so a plain create is a pool
hit; --pool 0 turns the pool off; --pool-python starts the python
interpreter of each pooled sandbox, so its first cell finds the default
python context already there.  (That a pooled sandbox is new to its user
is tested in tests/unit/test_pool.c.)
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
from ajserver import Server  # noqa: E402
from tap import check, eq, test  # noqa: E402


def metrics(srv):
    r = srv.call("GET", "/metrics")
    eq(r.status, 200, "metrics")
    vals = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            name, v = line.rsplit(" ", 1)
            vals[name] = float(v)
    return vals


def wait_ready(srv, n, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if metrics(srv)["agentjail_pool_ready"] >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"pool never had {n} ready: {metrics(srv)}")


def with_server(*args):
    def wrap(fn):
        def run():
            work = tempfile.mkdtemp(prefix="aj-pool-")
            srv = Server(work, "--quiet", *args)
            try:
                fn(srv)
            finally:
                srv.stop()
                shutil.rmtree(work, ignore_errors=True)
        run.__name__ = fn.__name__
        return run
    return wrap


@test
@with_server()
def default_pool_serves_creates(srv):
    wait_ready(srv, 2)
    r = srv.call("POST", "/v1/sandboxes", body={})
    eq(r.status, 201, f"create: {r}")
    m = metrics(srv)
    eq((m["agentjail_pool_hits_total"], m["agentjail_pool_misses_total"]), (1, 0),
       "hits, misses")
    r = srv.call("POST", f"/v1/sandboxes/{r.json['id']}/exec", body={"cmd": ["true"]})
    eq((r.status, r.json["exit_code"]), (200, 0), "exec in a pooled sandbox")
    wait_ready(srv, 2)  # refilled


@test
@with_server("--pool", "0")
def pool_zero_builds_every_sandbox(srv):
    r = srv.call("POST", "/v1/sandboxes", body={})
    eq(r.status, 201, f"create: {r}")
    m = metrics(srv)
    eq((m["agentjail_pool_ready"], m["agentjail_pool_hits_total"],
        m["agentjail_pool_misses_total"]), (0, 0, 1), "ready, hits, misses")


@test
@with_server("--pool", "1", "--pool-python")
def pool_python_has_the_interpreter_ready(srv):
    wait_ready(srv, 1)
    r = srv.call("POST", "/v1/sandboxes", body={})
    eq(r.status, 201, f"create: {r}")
    sid = r.json["id"]
    ctxs = srv.call("GET", f"/v1/sandboxes/{sid}/contexts")
    eq(ctxs.status, 200, f"contexts: {ctxs}")
    langs = [c["language"] for c in ctxs.json["contexts"]]
    eq(langs, ["python"], "the default python context exists before any cell")
    r = srv.call("POST", f"/v1/sandboxes/{sid}/code", body={"code": "6 * 7"})
    eq(r.status, 200, f"cell: {r}")
    eq(r.json["execution_count"], 1, "first cell of that interpreter")
    check(r.json["results"][0]["text"] == "42", f"result: {r.json}")


if __name__ == "__main__":
    tap.main()
