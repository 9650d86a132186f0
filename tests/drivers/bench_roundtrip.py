"""bench_roundtrip.py - round trip of a trivial cell through each driver.

Not part of the test run (run.sh only picks test_*.py):

    /usr/bin/python3 tests/drivers/bench_roundtrip.py [N]

Starts each driver as the manager does, then N times: write one request on
its fd 0, block reading fd 3 up to the end event.  Prints p50/p99 per
language, and a fresh `python3 -c 1` for scale.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVERS = os.path.join(HERE, "..", "..", "src", "box", "drivers")
LANGS = {
    "python": (["/usr/bin/python3", "-u", "-c"], "python_driver.py", "1+1"),
    "javascript": (["/usr/bin/node", "-e"], "node_driver.js", "1+1"),
    "bash": (["/bin/bash", "--noprofile", "--norc", "-c"], "bash_driver.sh", "x=$((1+1))"),
}


def start(argv, source):
    r, w = os.pipe()
    saved = os.dup(3) if _fd_open(3) else None
    os.dup2(w, 3)
    try:
        proc = subprocess.Popen(argv + [source], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                pass_fds=(3,), start_new_session=True,
                                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                                     "HOME": "/tmp", "MPLBACKEND": "Agg"})
    finally:
        if saved is None:
            os.close(3)
        else:
            os.dup2(saved, 3)
            os.close(saved)
        os.close(w)
    events = os.fdopen(r, "rb")
    assert json.loads(events.readline())["type"] == "ready"
    return proc, events


def _fd_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def request(lang, rid, code):
    if lang == "bash":
        return f"{rid}\0000\0{code}\0".encode()
    return json.dumps({"id": rid, "code": code}).encode() + b"\n"


def bench(lang, n):
    argv, name, code = LANGS[lang]
    with open(os.path.join(DRIVERS, name)) as f:
        proc, events = start(argv, f.read())
    times = []
    for rid in range(1, n + 1):
        data = request(lang, rid, code)
        t0 = time.perf_counter()
        proc.stdin.write(data)
        proc.stdin.flush()
        while True:
            e = json.loads(events.readline())
            if e["type"] == "end":
                break
        times.append(time.perf_counter() - t0)
        assert e["id"] == rid and e["status"] == "ok", e
    proc.stdin.close()
    proc.wait()
    times.sort()
    return times[n // 2], times[int(n * 0.99)]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for lang in LANGS:
        p50, p99 = bench(lang, n)
        print(f"{lang:10} cell round trip: p50 {p50 * 1e6:6.0f} us  p99 {p99 * 1e6:6.0f} us  (n={n})")
    fresh = []
    for _ in range(20):
        t0 = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", "1"], check=True)
        fresh.append(time.perf_counter() - t0)
    fresh.sort()
    print(f"fresh `python3 -c 1`: p50 {fresh[10] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
