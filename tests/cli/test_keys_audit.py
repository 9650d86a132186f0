"""CLI tests for `agentjail keys` and `agentjail audit`.

Each test gets a fresh state dir.  Tampering is done the way an intruder
with a shell would: python's sqlite3 module or the sqlite3 command.  The
audit hash is recomputed here from the format documented in
src/box/store_audit.c, so the documentation and the code cannot drift.
"""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
from tap import check, eq, test  # noqa: E402

AJ = os.environ.get("AGENTJAIL", "build/agentjail")
GENESIS = "0" * 64


def aj(*args, timeout=30):
    return subprocess.run([AJ, *args], capture_output=True, text=True,
                          timeout=timeout)


class State:
    """A temporary state dir; `with State() as s:` removes it after."""

    def __enter__(self):
        self.root = tempfile.mkdtemp(prefix="aj-cli-")
        self.dir = os.path.join(self.root, "var")
        self.db = os.path.join(self.dir, "agentjail.db")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.root, ignore_errors=True)

    def run(self, *args):
        return aj(*args, "--state", self.dir)

    def create(self, tenant="acme", role="user"):
        r = self.run("keys", "create", "--tenant", tenant, "--role", role,
                     "--json")
        eq(r.returncode, 0, f"keys create: {r.stderr}")
        return json.loads(r.stdout)

    def sql(self, query, params=()):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            rows = con.execute(query, params).fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def verify(self):
        r = self.run("audit", "verify")
        return r.returncode, r.stdout.strip()


def field(v):
    if v is None:
        return b"~"
    b = str(v).encode()
    return str(len(b)).encode() + b":" + b + b","


def record_hash(prev, rec, trace=None):
    """rec: seq, ts_ms, key_id, tenant, action, sandbox_id, outcome, detail;
    trace: the 17 trace fields or None."""
    fields = list(rec) + (list(trace) if trace else [None] * 17)
    canon = b"ajaudit1" + b"".join(field(f) for f in fields)
    return hashlib.sha256(prev.encode() + canon).hexdigest()


def append_records(s, items):
    """Append (action, sandbox_id, detail) records the way the store does,
    with correct hashes: a legitimate writer."""
    con = sqlite3.connect(s.db, timeout=10, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    row = con.execute("SELECT seq, hash FROM audit_head").fetchone()
    seq, prev = row if row else (0, GENESIS)
    for action, sandbox, detail in items:
        seq += 1
        rec = (seq, 1700000000000 + seq, "key_0123456789ab", "acme", action,
               sandbox, "ok", detail)
        h = record_hash(prev, rec)
        con.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?)",
                    rec + (prev, h))
        prev = h
    con.execute("INSERT OR REPLACE INTO audit_head VALUES (1, ?, ?)",
                (seq, prev))
    con.execute("COMMIT")
    con.close()


# ---- help and usage --------------------------------------------------

@test
def help_texts():
    for args in (["keys", "--help"], ["keys", "create", "--help"],
                 ["keys", "list", "-h"], ["audit", "--help"],
                 ["audit", "verify", "--help"], ["audit", "list", "--help"]):
        r = aj(*args)
        eq(r.returncode, 0, f"{args}: {r.stderr}")
        check(r.stdout.startswith("usage: agentjail " + args[0]),
              f"{args}: {r.stdout!r}")
    r = aj("--help")
    check(re.search(r"^  keys ", r.stdout, re.M), "keys in the command list")
    check(re.search(r"^  audit ", r.stdout, re.M), "audit in the list")


@test
def bad_usage_exits_2():
    with State() as s:
        cases = [
            ["keys"], ["keys", "frob"], ["keys", "create"],
            ["keys", "create", "--tenant", "a"],
            ["keys", "create", "--tenant", "a", "--role", "god"],
            ["keys", "create", "--role", "user"],
            ["keys", "create", "--tenant", "a b", "--role", "user"],
            ["keys", "create", "--tenant", "x" * 65, "--role", "user"],
            ["keys", "create", "--tenant", "a", "--role", "user", "extra"],
            ["keys", "list", "--bogus"], ["keys", "list", "extra"],
            ["keys", "revoke"], ["keys", "revoke", "a", "b"],
            ["keys", "list", "--state"],
            ["audit"], ["audit", "frob"], ["audit", "list", "--limit", "x"],
            ["audit", "list", "--limit", "0"],
            ["audit", "list", "--limit", "-5"],
            ["audit", "list", "--after", "1e3"],
            ["audit", "verify", "--sandbox", "x"],
            ["audit", "list", "extra"],
        ]
        for args in cases:
            if args[-1] != "--state" and len(args) > 1:
                args = args + ["--state", s.dir]
            r = aj(*args)
            eq(r.returncode, 2, f"{args}: {r.stdout} {r.stderr}")
            check(r.stderr.strip(), f"{args}: no message")
        # None of them made a key.
        check(not os.path.exists(s.db) or
              s.sql("SELECT count(*) FROM keys")[0][0] == 0, "no keys made")


@test
def missing_state_dir_is_not_created():
    with State() as s:
        for args in (["keys", "list"], ["keys", "revoke", "key_0"],
                     ["audit", "verify"], ["audit", "list"]):
            r = s.run(*args)
            eq(r.returncode, 1, f"{args}: {r.stderr}")
            check("no state directory" in r.stderr, r.stderr)
        check(not os.path.exists(s.dir), "state dir created")


# ---- keys ------------------------------------------------------------

@test
def create_prints_secret_once_and_stores_hash():
    with State() as s:
        r = s.run("keys", "create", "--tenant", "acme", "--role", "admin")
        eq(r.returncode, 0, r.stderr)
        m = re.search(r"^secret: (aj_([0-9a-f]{40}))$", r.stdout, re.M)
        check(m, f"no secret in {r.stdout!r}")
        hexpart = m.group(2)
        check(re.search(r"^e2b form: e2b_" + hexpart + "$", r.stdout, re.M),
              "e2b form printed")
        kid = re.search(r"created key (key_[0-9a-f]{12}) \(tenant acme, "
                        r"role admin\)", r.stdout)
        check(kid, r.stdout)
        eq(os.stat(s.dir).st_mode & 0o777, 0o700, "state dir mode")
        eq(os.stat(s.db).st_mode & 0o777, 0o600, "db mode")
        rows = s.sql("SELECT id, secret_hash FROM keys")
        eq(rows, [(kid.group(1),
                   hashlib.sha256(hexpart.encode()).hexdigest())], "stored")
        for path in (s.db, s.db + "-wal"):
            if os.path.exists(path):
                with open(path, "rb") as f:
                    check(hexpart.encode() not in f.read(),
                          f"secret in {path}")
        listing = s.run("keys", "list")
        check(hexpart not in listing.stdout, "list shows the secret")


@test
def list_and_revoke():
    with State() as s:
        a = s.create("acme", "admin")
        b = s.create("beta", "viewer")
        c = s.create("beta", "user")
        r = s.run("keys", "list", "--json")
        eq(r.returncode, 0, r.stderr)
        keys = json.loads(r.stdout)
        eq([k["id"] for k in keys], [c["id"], b["id"], a["id"]], "order")
        eq([(k["tenant"], k["role"], k["active"]) for k in keys],
           [("beta", "user", True), ("beta", "viewer", True),
            ("acme", "admin", True)], "fields")
        check(all("secret" not in k for k in keys), "no secrets listed")

        r = s.run("keys", "revoke", b["id"])
        eq(r.returncode, 0, r.stderr)
        eq(r.stdout.strip(), f"revoked {b['id']}", "message")
        r = s.run("keys", "revoke", b["id"])
        eq(r.returncode, 1, "second revoke")
        check("already revoked" in r.stderr, r.stderr)
        r = s.run("keys", "revoke", "key_000000000000")
        eq(r.returncode, 1, "unknown key")
        check("no key" in r.stderr, r.stderr)

        keys = {k["id"]: k for k in json.loads(s.run("keys", "list",
                                                     "--json").stdout)}
        eq(keys[b["id"]]["active"], False, "revoked")
        check(keys[b["id"]]["revoked_at"], "revoked_at set")
        eq(keys[a["id"]]["revoked_at"], None, "a active")
        text = s.run("keys", "list").stdout.splitlines()
        eq(len(text), 4, "header + 3 rows")
        check(re.search(re.escape(b["id"]) + r".*\brevoked \d{4}-",
                        "\n".join(text)), "\n".join(text))


@test
def key_changes_are_audited():
    with State() as s:
        a = s.create("acme", "admin")
        s.run("keys", "revoke", a["id"])
        r = s.run("audit", "list", "--json")
        eq(r.returncode, 0, r.stderr)
        recs = json.loads(r.stdout)
        eq([(x["seq"], x["action"], x["tenant"], x["outcome"]) for x in recs],
           [(1, "key.create", "acme", "ok"), (2, "key.revoke", "acme", "ok")],
           "records")
        eq(recs[0]["detail"], {"key": a["id"], "role": "admin", "via": "cli"},
           "detail")


# ---- audit -----------------------------------------------------------

@test
def hashes_follow_documented_format():
    with State() as s:
        for i in range(3):
            s.create(f"t{i}")
        rows = s.sql("SELECT seq, ts_ms, key_id, tenant, action, sandbox_id,"
                     " outcome, detail, prev_hash, hash FROM audit"
                     " ORDER BY seq")
        eq(len(rows), 3, "records")
        prev = GENESIS
        for row in rows:
            eq(row[8], prev, f"prev_hash of {row[0]}")
            eq(row[9], record_hash(prev, row[:8]), f"hash of {row[0]}")
            prev = row[9]
        eq(s.sql("SELECT seq, hash FROM audit_head"), [(3, prev)], "head")


@test
def verify_intact():
    with State() as s:
        s.create()
        append_records(s, [("sandbox.create", f"sb_{i}", '{"n":%d}' % i)
                           for i in range(20)])
        eq(s.verify(), (0, "audit chain intact: 21 records"), "verify")


@test
def verify_detects_altered_record():
    with State() as s:
        s.create()
        append_records(s, [("sandbox.exec", "sb_1", '{"cmd":"ls"}')] * 9)
        s.sql("UPDATE audit SET detail = '{\"cmd\":\"rm\"}' WHERE seq = 6")
        code, out = s.verify()
        eq(code, 1, out)
        check(out.startswith("audit chain broken at record 6: "), out)


@test
def verify_detects_deleted_record_with_sqlite3_cli():
    sqlite_cli = shutil.which("sqlite3")
    with State() as s:
        s.create()
        append_records(s, [("sandbox.exec", "sb_1", None)] * 9)
        if sqlite_cli:
            r = subprocess.run([sqlite_cli, s.db,
                                "DELETE FROM audit WHERE seq = 4"],
                               capture_output=True, text=True)
            eq(r.returncode, 0, r.stderr)
        else:
            s.sql("DELETE FROM audit WHERE seq = 4")
        code, out = s.verify()
        eq(code, 1, out)
        check(out.startswith("audit chain broken at record 4: "), out)
        check("missing" in out, out)


@test
def verify_detects_deleted_tail():
    with State() as s:
        s.create()
        append_records(s, [("sandbox.exec", "sb_1", None)] * 5)
        s.sql("DELETE FROM audit WHERE seq >= 5")
        code, out = s.verify()
        eq(code, 1, out)
        check(out.startswith("audit chain broken at record 5: "), out)


@test
def verify_detects_rehashed_record():
    """Recomputing the altered record's own hash is not enough: the next
    record's link breaks."""
    with State() as s:
        s.create()
        append_records(s, [("sandbox.exec", "sb_1", None)] * 5)
        row = s.sql("SELECT seq, ts_ms, key_id, tenant, action, sandbox_id,"
                    " outcome, detail, prev_hash FROM audit WHERE seq = 3")[0]
        forged = row[:6] + ("denied",) + row[7:8]
        s.sql("UPDATE audit SET outcome = 'denied', hash = ? WHERE seq = 3",
              (record_hash(row[8], forged),))
        code, out = s.verify()
        eq(code, 1, out)
        check(out.startswith("audit chain broken at record 4: link broken"),
              out)


@test
def list_filters_and_pages():
    with State() as s:
        s.create()
        append_records(s, [("sandbox.exec", "sb_a" if i % 3 == 0 else "sb_b",
                            None) for i in range(1500)])
        r = s.run("audit", "list", "--json", "--limit", "1200")
        eq(r.returncode, 0, r.stderr)
        recs = json.loads(r.stdout)
        eq([x["seq"] for x in recs], list(range(1, 1201)), "paged in order")
        r = s.run("audit", "list", "--json", "--sandbox", "sb_a",
                  "--after", "1400", "--limit", "5000")
        recs = json.loads(r.stdout)
        check(recs and all(x["sandbox_id"] == "sb_a" for x in recs), "filter")
        eq([x["seq"] for x in recs],
           [q for q in range(1401, 1502) if (q - 2) % 3 == 0], "seqs")
        r = s.run("audit", "list", "--tenant", "nobody", "--json")
        eq(json.loads(r.stdout), [], "empty list")
        r = s.run("audit", "list", "--limit", "3")
        lines = r.stdout.splitlines()
        eq(len(lines), 4, "header + 3")
        check(lines[0].startswith("SEQ"), lines[0])
        check(lines[1].startswith("1 ") and "key.create" in lines[1],
              lines[1])


# ---- concurrency with a running server -------------------------------

@test
def works_while_database_is_busy():
    """A reader with an open transaction (as a server between requests)
    and a writer holding the lock for a moment do not make the commands
    fail: WAL lets them read, the busy timeout makes them wait."""
    with State() as s:
        s.create()
        reader = sqlite3.connect(s.db, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM audit").fetchone()

        writer = sqlite3.connect(s.db, isolation_level=None,
                                 check_same_thread=False)
        writer.execute("BEGIN IMMEDIATE")
        release = threading.Timer(1.0, lambda: writer.execute("COMMIT"))
        release.start()
        try:
            t0 = time.monotonic()
            r = s.run("keys", "create", "--tenant", "late", "--role", "user")
            waited = time.monotonic() - t0
            eq(r.returncode, 0, r.stderr)
            check(waited >= 0.5, f"did not wait for the lock ({waited:.2f}s)")
            eq(s.run("keys", "list", "--json").returncode, 0, "list")
            eq(s.verify(), (0, "audit chain intact: 2 records"), "verify")
        finally:
            release.join()
            writer.close()
            reader.execute("COMMIT")
            reader.close()


@test
def concurrent_key_creation_keeps_chain():
    with State() as s:
        s.create()
        procs = [subprocess.Popen([AJ, "keys", "create", "--tenant", f"t{i}",
                                   "--role", "user", "--state", s.dir],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
                 for i in range(8)]
        for p in procs:
            eq(p.wait(timeout=30), 0, p.stderr.read())
            p.stderr.close()
        eq(s.verify(), (0, "audit chain intact: 9 records"), "verify")
        eq(len(json.loads(s.run("keys", "list", "--json").stdout)), 9, "keys")


@test
def concurrent_first_use_of_a_new_state_dir():
    """Several commands creating the same new database at once: switching
    it to WAL can be refused without a busy wait, so the store retries.
    Without the retry about 1 process in 150 failed here, so this catches
    a regression only now and then; it always checks the outcome."""
    for _ in range(6):
        with State() as s:
            procs = [subprocess.Popen([AJ, "keys", "create", "--tenant",
                                       f"t{i}", "--role", "user", "--state",
                                       s.dir], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)
                     for i in range(6)]
            errors = [p.communicate(timeout=30)[1] for p in procs]
            eq([p.returncode for p in procs], [0] * 6, "".join(errors))
            eq(s.verify(), (0, "audit chain intact: 6 records"), "verify")


if __name__ == "__main__":
    tap.main()
