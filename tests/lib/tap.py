"""tap.py - the smallest test harness that tells the truth.

Register tests with @test, call main().  Each test prints "ok N - name" or
"not ok N - name" followed by the failure indented as TAP diagnostics.
A test that cannot run here calls skip("reason"): it is reported as
"ok N - name # SKIP reason", which the runner counts as skipped, never as
passed.  TEST_FILTER (a substring) selects tests by name.
"""
import os
import sys
import time
import traceback

_tests = []


class Skip(Exception):
    """Raised by skip(): the test cannot run on this machine."""


def skip(reason):
    raise Skip(reason)


def test(fn):
    _tests.append(fn)
    return fn


def main(setup=None, teardown=None):
    flt = os.environ.get("TEST_FILTER", "")
    chosen = [t for t in _tests if flt in t.__name__]
    print(f"1..{len(chosen)}", flush=True)
    failed = 0
    ctx = setup() if setup else None
    try:
        for n, fn in enumerate(chosen, 1):
            t0 = time.monotonic()
            try:
                fn(ctx) if setup else fn()
                ms = (time.monotonic() - t0) * 1000
                print(f"ok {n} - {fn.__name__} # {ms:.0f} ms", flush=True)
            except Skip as why:
                print(f"ok {n} - {fn.__name__} # SKIP {why}", flush=True)
            except Exception:
                failed += 1
                print(f"not ok {n} - {fn.__name__}", flush=True)
                for line in traceback.format_exc().splitlines():
                    print(f"#   {line}", flush=True)
    finally:
        if teardown:
            teardown(ctx)
    sys.exit(1 if failed else 0)


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def until(cond, what, timeout=10.0, step=0.05):
    """Poll cond() until it returns something true, and return that; fail
    after timeout seconds saying what was awaited (what may be a function
    giving the text, for a message that shows the state at the end)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        time.sleep(step)
