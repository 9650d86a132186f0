"""ajserver.py - start a real `agentjail serve` for a test suite and talk
to it over HTTP.

    srv = Server(tmpdir, "--pool", "1")   # waits until it listens
    r = srv.call("POST", "/v1/sandboxes", body={})
    r.status, r.json
    srv.stop()

The admin key the server writes on first start is srv.key.  Waiting is
always polling against a deadline.
"""
import http.client
import json
import os
import re
import signal
import subprocess
import time

AJ = os.environ.get("AGENTJAIL", "build/agentjail")


def descendants(pid):
    """Every process below pid (children, grandchildren...), from /proc."""
    children = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def lines(self):
        return [json.loads(x) for x in self.body.decode().splitlines() if x]

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def request(port, method, path, headers=None, body=None, raw=None, timeout=60):
    """One HTTP request to 127.0.0.1:port on a fresh connection; body is
    sent as JSON, raw as it is."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return Resp(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


class Server:
    def __init__(self, workdir, *extra, state=None, prefix=()):
        """prefix: argv put before the agentjail command (a wrapper that
        places the server somewhere first, then execs it)."""
        self.state = state or os.path.join(workdir, "state")
        os.makedirs(workdir, exist_ok=True)
        self.logpath = os.path.join(workdir, "server.log")
        self.log = open(self.logpath, "ab")
        start = self.log.tell()
        self.proc = subprocess.Popen(
            [*prefix, AJ, "serve", "--listen", "127.0.0.1:0", "--state", self.state,
             *extra],
            stdout=subprocess.DEVNULL, stderr=self.log)
        self.port = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.port is None:
            with open(self.logpath, "rb") as f:
                f.seek(start)
                m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.02)
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("server did not start:\n" + self.tail())
        try:
            with open(os.path.join(self.state, "admin.key")) as f:
                self.key = f.read().strip()
        except FileNotFoundError:
            self.key = None  # --no-auth

    def tail(self):
        with open(self.logpath, "rb") as f:
            return f.read()[-3000:].decode(errors="replace")

    def call(self, method, path, body=None, raw=None, key=None, headers=None,
             timeout=60):
        h = {"Authorization": "Bearer " + (key or self.key)}
        h.update(headers or {})
        return request(self.port, method, path, h, body, raw, timeout)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop in time")
        finally:
            self.log.close()
