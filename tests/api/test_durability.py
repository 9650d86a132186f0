"""test_durability.py - what an acknowledged write survives.

`serve --durability process` (the default) and `--durability power` both
promise that an exec the client saw acknowledged has its audit record and
exec trace in the database even if the server is killed with SIGKILL the
next instant.  Several clients exec as fast as they can; the server is
killed while they do; a new server on the same state must show every
acknowledged exec in the audit log, and the hash chain must verify.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
from ajserver import AJ, Server  # noqa: E402
from tap import check, eq, test  # noqa: E402

CLIENTS = 4
ACKED_BEFORE_KILL = 60


def audited_exec_ids(srv, sandbox):
    """Every exec_id in the sandbox's audit records (paged)."""
    ids, since_seq = set(), 0
    while True:
        r = srv.call("GET", f"/v1/audit?sandbox={sandbox}&limit=1000"
                     f"&after={since_seq}")
        eq(r.status, 200, f"audit list: {r}")
        recs = r.json["records"]
        for rec in recs:
            d = rec.get("detail") or {}
            if rec["action"] == "sandbox.exec" and "exec_id" in d:
                ids.add(d["exec_id"])
        if len(recs) < 1000:
            return ids
        since_seq = recs[-1]["seq"]


def kill_while_busy(durability):
    work = tempfile.mkdtemp(prefix="aj-dur-")
    try:
        extra = ["--quiet"] + (["--durability", durability] if durability else [])
        srv = Server(work, *extra)
        r = srv.call("POST", "/v1/sandboxes", body={})
        eq(r.status, 201, f"create: {r}")
        sb = r.json["id"]
        acked, lock, stop = [], threading.Lock(), threading.Event()

        def client():
            while not stop.is_set():
                try:
                    r = srv.call("POST", f"/v1/sandboxes/{sb}/exec",
                                 body={"cmd": ["/bin/true"]}, timeout=10)
                except OSError:
                    return  # the server is gone
                if r.status == 200:
                    with lock:
                        acked.append(r.json["exec_id"])

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= ACKED_BEFORE_KILL:
                    break
            time.sleep(0.01)
        # Kill mid-stream: clients are waiting for answers right now.
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        srv.log.close()
        with lock:
            seen = list(acked)
        check(len(seen) >= ACKED_BEFORE_KILL, f"{len(seen)} execs acknowledged")

        srv2 = Server(work, "--quiet")
        try:
            found = audited_exec_ids(srv2, sb)
            missing = [x for x in seen if x not in found]
            eq(missing, [], "acknowledged execs missing from the audit log")
        finally:
            srv2.stop()
        v = subprocess.run([AJ, "audit", "verify", "--state", srv.state],
                           capture_output=True, text=True)
        eq(v.returncode, 0, f"audit verify: {v.stdout} {v.stderr}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


@test
def process_durability_is_the_default_and_survives_kill_9():
    kill_while_busy(None)


@test
def power_durability_survives_kill_9():
    kill_while_busy("power")


@test
def durability_rejects_unknown_values():
    r = subprocess.run([AJ, "serve", "--durability", "sometimes"],
                       capture_output=True, text=True)
    eq(r.returncode, 2, "exit status")
    check("process or power" in r.stderr, f"message: {r.stderr}")


if __name__ == "__main__":
    tap.main()
