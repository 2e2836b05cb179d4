#!/usr/bin/env python3
"""Workload and checker for tests/integration/stress.sh: parallel jobs on one mount.

  stress-workload.py setup LOWER JOBS          lower layer: a private directory per job, shared
                                               files (append log, SQLite WAL database, an mmap
                                               file with a page per job, ten slots)
  stress-workload.py job MNT J SECONDS OUT     job J works for SECONDS: create/rename/unlink/
                                               append/chmod/mmap/SQLite in its private directory
                                               (kept as an exact model) and on the shared files
                                               (every success logged); OUT/progress.J counts
                                               operations, OUT/job.J.json is its record
  stress-workload.py check MNT JOBS OUT        the tree must match the records: private
                                               directories exactly, shared files one of the
                                               outcomes the logged successes allow

Errors other than the expected ones (ENOENT where another job may have removed a shared name,
SQLite busy) end the job with status 1 and the error on stderr.
"""
import errno
import hashlib
import json
import mmap
import os
import random
import sqlite3
import stat
import sys
import time

SLOTS = 10
PAGE = 4096
PRIVATE_FILES = 20


def die(msg):
    print("stress-workload: " + msg, file=sys.stderr)
    sys.exit(1)


def h(data):
    return hashlib.sha256(data).hexdigest()


def setup(lower, jobs):
    rng = random.Random(1)
    for j in range(jobs):
        d = f"{lower}/priv/j{j}"
        os.makedirs(d)
        for i in range(PRIVATE_FILES):
            with open(f"{d}/p{i}", "wb") as f:
                f.write(rng.randbytes(rng.randint(0, 20000)))
        with open(f"{d}/mm", "wb") as f:
            f.write(bytes(16 * PAGE))
        db = sqlite3.connect(f"{d}/db")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)")
        db.commit()
        db.close()
    s = f"{lower}/shared"
    os.makedirs(s)
    with open(f"{s}/log.txt", "w") as f:
        f.write("lower line\n")
    with open(f"{s}/mm", "wb") as f:
        f.write(bytes(jobs * PAGE))
    for k in range(SLOTS):
        with open(f"{s}/slot{k}", "w") as f:
            f.write(f"lower slot {k}\n")
    db = sqlite3.connect(f"{s}/db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t(job INTEGER, seq INTEGER, PRIMARY KEY(job, seq))")
    db.commit()
    db.close()


# ---------------------------------------------------------------------------- job

class Job:
    def __init__(self, mnt, j, out, seed):
        os.umask(0o022)
        self.mnt, self.j, self.out = mnt, j, out
        self.rng = random.Random(seed)
        self.priv = f"{mnt}/priv/j{j}"
        self.shared = f"{mnt}/shared"
        self.ops = 0
        self.seq = 0
        # private model: name -> [bytes, mode]; read from the lower copy through the mount
        self.files = {}
        for name in os.listdir(self.priv):
            if name.startswith("p"):
                with open(f"{self.priv}/{name}", "rb") as f:
                    self.files[name] = [f.read(), 0o644]
        with open(f"{self.priv}/mm", "rb") as f:
            self.mm = bytearray(f.read())
        self.rows = 0
        self.next_name = PRIVATE_FILES
        # shared record
        self.appends, self.inserts, self.pages = [], [], []
        self.slot_last = {}  # slot -> ("content", text) | ("gone",) of this job's last success
        self.slot_modes = {}
        self.db = sqlite3.connect(f"{self.priv}/db", timeout=60)
        self.sdb = sqlite3.connect(f"{self.shared}/db", timeout=60)
        self.progress = open(f"{out}/progress.{j}", "w")

    # private operations -----------------------------------------------------------
    def p_create(self):
        name = f"n{self.next_name}"
        self.next_name += 1
        data = self.rng.randbytes(self.rng.randint(0, 30000))
        with open(f"{self.priv}/{name}", "xb") as f:
            f.write(data)
        self.files[name] = [data, 0o644]

    def pick(self):
        return self.rng.choice(sorted(self.files)) if self.files else None

    def p_append(self):
        name = self.pick()
        if name:
            data = self.rng.randbytes(self.rng.randint(1, 5000))
            with open(f"{self.priv}/{name}", "ab") as f:
                f.write(data)
            self.files[name][0] += data

    def p_rename(self):
        a, b = self.pick(), self.pick()
        if not a:
            return
        if self.rng.random() < 0.5 or a == b:
            b = f"n{self.next_name}"
            self.next_name += 1
        os.rename(f"{self.priv}/{a}", f"{self.priv}/{b}")
        self.files[b] = self.files.pop(a)

    def p_unlink(self):
        name = self.pick()
        if name and len(self.files) > 5:
            os.unlink(f"{self.priv}/{name}")
            del self.files[name]

    def p_chmod(self):
        name = self.pick()
        if name:
            mode = self.rng.choice([0o600, 0o644, 0o640, 0o755])
            os.chmod(f"{self.priv}/{name}", mode)
            self.files[name][1] = mode

    def p_mmap(self):
        fd = os.open(f"{self.priv}/mm", os.O_RDWR)
        try:
            with mmap.mmap(fd, len(self.mm), mmap.MAP_SHARED) as m:
                off = self.rng.randrange(len(self.mm) - 64)
                data = self.rng.randbytes(64)
                m[off:off + 64] = data
                m.flush()
                self.mm[off:off + 64] = data
        finally:
            os.close(fd)

    def p_sqlite(self):
        self.rows += 1
        with self.db:
            self.db.execute("INSERT INTO t VALUES (?, ?)", (self.rows, f"row {self.rows}"))

    # shared operations --------------------------------------------------------------
    def s_append(self):
        self.seq += 1
        fd = os.open(f"{self.shared}/log.txt", os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, f"job {self.j} seq {self.seq}\n".encode())
        finally:
            os.close(fd)
        self.appends.append(self.seq)

    def s_sqlite(self):
        self.seq += 1
        with self.sdb:
            self.sdb.execute("INSERT INTO t VALUES (?, ?)", (self.j, self.seq))
        self.inserts.append(self.seq)

    def s_mmap(self):
        self.seq += 1
        fd = os.open(f"{self.shared}/mm", os.O_RDWR)
        try:
            with mmap.mmap(fd, PAGE, mmap.MAP_SHARED, offset=self.j * PAGE) as m:
                text = f"job {self.j} seq {self.seq}".encode().ljust(64, b".")
                m[0:64] = text
                m.flush()
        finally:
            os.close(fd)
        self.pages.append(self.seq)

    def s_slot_write(self):
        self.seq += 1
        k = self.rng.randrange(SLOTS)
        tmp = f"{self.shared}/tmp.{self.j}.{self.seq}"
        text = f"job {self.j} seq {self.seq}\n"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, f"{self.shared}/slot{k}")
        self.slot_last[k] = ("content", text)

    def s_slot_unlink(self):
        k = self.rng.randrange(SLOTS)
        try:
            os.unlink(f"{self.shared}/slot{k}")
            self.slot_last[k] = ("gone",)
        except FileNotFoundError:
            pass  # another job removed or is replacing it: expected

    def s_slot_chmod(self):
        k = self.rng.randrange(SLOTS)
        mode = self.rng.choice([0o600, 0o644])
        try:
            os.chmod(f"{self.shared}/slot{k}", mode)
            self.slot_modes.setdefault(k, set()).add(mode)
        except FileNotFoundError:
            pass

    OPS = [(p_create, 8), (p_append, 10), (p_rename, 5), (p_unlink, 4), (p_chmod, 4),
           (p_mmap, 4), (p_sqlite, 4), (s_append, 6), (s_sqlite, 3), (s_mmap, 3),
           (s_slot_write, 4), (s_slot_unlink, 2), (s_slot_chmod, 2)]

    def run(self, seconds):
        fns = [f for f, w in self.OPS for _ in range(w)]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            fn = self.rng.choice(fns)
            try:
                fn(self)
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    die(f"job {self.j}: {fn.__name__}: sqlite: {e}")
                if fn.__name__ == "p_sqlite":
                    self.rows -= 1
            except OSError as e:
                die(f"job {self.j}: {fn.__name__}: unexpected error {e}")
            self.ops += 1
            if self.ops % 20 == 0:
                self.progress.seek(0)
                self.progress.write(f"{self.ops}\n")
                self.progress.flush()
        self.db.close()
        self.sdb.close()
        rec = {
            "ops": self.ops,
            "files": {n: [h(bytes(c)), m] for n, (c, m) in self.files.items()},
            "mm": h(bytes(self.mm)), "rows": self.rows,
            "appends": self.appends, "inserts": self.inserts, "pages": self.pages,
            "slot_last": {str(k): v for k, v in self.slot_last.items()},
            "slot_modes": {str(k): sorted(v) for k, v in self.slot_modes.items()},
        }
        with open(f"{self.out}/job.{self.j}.json", "w") as f:
            json.dump(rec, f)


# ---------------------------------------------------------------------------- check

def check(mnt, jobs, out):
    recs = []
    for j in range(jobs):
        with open(f"{out}/job.{j}.json") as f:
            recs.append(json.load(f))
    problems = []
    for j, r in enumerate(recs):
        d = f"{mnt}/priv/j{j}"
        names = {n for n in os.listdir(d) if n not in ("mm", "db", "db-wal", "db-shm")}
        if names != set(r["files"]):
            problems.append(f"priv/j{j}: names differ: extra {sorted(names - set(r['files']))[:5]}, "
                            f"missing {sorted(set(r['files']) - names)[:5]}")
            continue
        for n, (digest, mode) in r["files"].items():
            with open(f"{d}/{n}", "rb") as f:
                if h(f.read()) != digest:
                    problems.append(f"priv/j{j}/{n}: content differs from the job's record")
            m = stat.S_IMODE(os.stat(f"{d}/{n}").st_mode)
            if m != mode:
                problems.append(f"priv/j{j}/{n}: mode {m:o}, want {mode:o}")
        with open(f"{d}/mm", "rb") as f:
            if h(f.read()) != r["mm"]:
                problems.append(f"priv/j{j}/mm: mmap writes lost")
        db = sqlite3.connect(f"{d}/db")
        if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append(f"priv/j{j}/db: integrity_check failed")
        n = db.execute("SELECT count(*) FROM t").fetchone()[0]
        if n != r["rows"]:
            problems.append(f"priv/j{j}/db: {n} rows, want {r['rows']}")
        db.close()
    s = f"{mnt}/shared"
    with open(f"{s}/log.txt") as f:
        lines = f.read().split("\n")
    if lines[-1] != "" or lines[0] != "lower line":
        problems.append("shared/log.txt: lower line or final newline lost")
    want = sorted(f"job {j} seq {q}" for j, r in enumerate(recs) for q in r["appends"])
    if sorted(lines[1:-1]) != want:
        problems.append(f"shared/log.txt: {len(lines) - 2} appended lines, want {len(want)} "
                        f"(lost or torn lines)")
    db = sqlite3.connect(f"{s}/db")
    if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
        problems.append("shared/db: integrity_check failed")
    rows = sorted(db.execute("SELECT job, seq FROM t").fetchall())
    want = sorted((j, q) for j, r in enumerate(recs) for q in r["inserts"])
    if rows != want:
        problems.append(f"shared/db: {len(rows)} rows, want {len(want)}")
    db.close()
    with open(f"{s}/mm", "rb") as f:
        mm = f.read()
    for j, r in enumerate(recs):
        page = mm[j * PAGE:j * PAGE + 64]
        exp = (f"job {j} seq {r['pages'][-1]}".encode().ljust(64, b".") if r["pages"]
               else bytes(64))
        if page != exp:
            problems.append(f"shared/mm page {j}: {page[:30]!r}, want {exp[:30]!r}")
    leftovers = [n for n in os.listdir(s) if n.startswith("tmp.")]
    if leftovers:
        problems.append(f"shared: temporary files left: {leftovers[:5]}")
    for k in range(SLOTS):
        p = f"{s}/slot{k}"
        lasts = [tuple(r["slot_last"][str(k)]) for r in recs if str(k) in r["slot_last"]]
        outcomes = set(lasts) if lasts else {("content", f"lower slot {k}\n")}
        try:
            with open(p) as f:
                got = ("content", f.read())
            mode = stat.S_IMODE(os.stat(p).st_mode)
            modes = {0o644}.union(*[set(r["slot_modes"].get(str(k), [])) for r in recs])
            if mode not in modes:
                problems.append(f"shared/slot{k}: mode {mode:o} was never set")
        except FileNotFoundError:
            got = ("gone",)
        if got not in outcomes:
            problems.append(f"shared/slot{k}: {got} is none of the possible outcomes {sorted(outcomes)[:4]}")
    if problems:
        die("the final state does not match the records:\n  " + "\n  ".join(problems[:20]))
    total = sum(r["ops"] for r in recs)
    print(f"{total} operations by {jobs} jobs checked: private trees exact, "
          f"{sum(len(r['appends']) for r in recs)} shared appends, "
          f"{sum(len(r['inserts']) for r in recs)} shared SQLite rows")


def main(argv):
    if len(argv) == 4 and argv[1] == "setup":
        setup(argv[2], int(argv[3]))
    elif len(argv) == 6 and argv[1] == "job":
        j = int(argv[3])
        Job(argv[2], j, argv[5], 1000 + j + int(time.time())).run(float(argv[4]))
    elif len(argv) == 5 and argv[1] == "check":
        check(argv[2], int(argv[3]), argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
