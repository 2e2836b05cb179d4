#!/usr/bin/env python3
"""Workload and checker for tests/integration/crash-daemon.sh (kill -9 of antares-overlayd).

  crash-workload.py setup LOWER            fill a lower layer: big files, many small ones, trees
  crash-workload.py fingerprint DIR        one line per object: type, mode, owner, size, mtime,
                                           sha256, xattrs (atime and ctime left out)
  crash-workload.py run MNT LOG SEED       change the tree through the mount until the daemon
                                           dies; LOG gets "B <op>" before and "E" after each
                                           operation, "K" when the mount went away ("K EIO
                                           NS" when the operation failed with EIO at
                                           CLOCK_REALTIME NS and the mount was dead then)
  crash-workload.py check LOWER UPPER MNT LOG [writeback]
                                           the remounted tree must be the lower layer with the
                                           completed operations applied, plus either none or
                                           all of the operation in flight (a new file may hold
                                           a prefix of what was being written, as on any
                                           filesystem; with "writeback", the mount's writeback
                                           cache, any of its pages, the rest holes: the kernel
                                           flushes pages in parallel requests); every upper
                                           regular file must equal what the mount shows at
                                           its path (never a partial copy); no copy-up
                                           temporary names in the upper

The operations are sequential, so at most one is in flight when the daemon is killed. Exit
status: 0 fine, 1 a broken invariant (explained on stderr), 2 bad usage.
"""
import errno
import hashlib
import json
import os
import random
import stat
import sys
import time

BIG_FILES = 4
BIG_SIZE = 16 << 20
SMALL_DIRS = 12
SMALL_FILES = 24
TREES = 6
DEAD_MOUNT = (errno.ENOTCONN, errno.ECONNABORTED)


def die(msg):
    print("crash-workload: " + msg, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------------------- setup

def setup(lower):
    rng = random.Random(7)
    os.makedirs(lower + "/big", exist_ok=True)
    for i in range(BIG_FILES):
        with open(f"{lower}/big/b{i}", "wb") as f:
            f.write(rng.randbytes(BIG_SIZE))
    for d in range(SMALL_DIRS):
        os.makedirs(f"{lower}/small/d{d}", exist_ok=True)
        for i in range(SMALL_FILES):
            with open(f"{lower}/small/d{d}/f{i}", "wb") as f:
                f.write((f"small {d} {i}\n" * rng.randint(1, 200)).encode())
    for t in range(TREES):
        for s in range(3):
            os.makedirs(f"{lower}/tree/t{t}/s{s}", exist_ok=True)
            for i in range(10):
                with open(f"{lower}/tree/t{t}/s{s}/g{i}", "wb") as f:
                    f.write(rng.randbytes(rng.randint(0, 64 << 10)))
    os.makedirs(lower + "/new", exist_ok=True)


# ---------------------------------------------------------------------------- fingerprint

def fingerprint(top):
    out = []
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            st = os.lstat(p)
            h = "-"
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()[:16]
            try:
                xs = sorted(f"{x}={os.getxattr(p, x, follow_symlinks=False).hex()}"
                            for x in os.listxattr(p, follow_symlinks=False))
            except OSError:
                xs = ["?"]
            out.append(f"{os.path.relpath(p, top)}|{st.st_mode:o}|{st.st_uid}:{st.st_gid}|"
                       f"{st.st_size}|{st.st_mtime_ns}|{h}|{','.join(xs)}")
    print("\n".join(out))


# ---------------------------------------------------------------------------- workload

def make_ops(rng):
    """A shuffled list of operations on disjoint-enough objects; every kind recurs."""
    smalls = [f"small/d{d}/f{i}" for d in range(SMALL_DIRS) for i in range(SMALL_FILES)]
    bigs = [f"big/b{i}" for i in range(BIG_FILES)]
    ops = []
    for b in bigs:  # each big file: a copy-up by append, then more appends
        ops += [["append", b] for _ in range(3)]
    ops += [["chmod", b, 0o600] for b in rng.sample(bigs, 2)]
    for p in rng.sample(smalls, 60):
        ops.append(["append", p])
    for p in rng.sample(smalls, 20):
        ops.append(["chmod", p, rng.choice([0o600, 0o640, 0o755])])
    for p in rng.sample(smalls, 15):
        ops.append(["trunc", p, rng.randint(0, 3000)])
    for p in rng.sample(smalls, 15):
        ops.append(["unlink", p])
    for p in rng.sample(smalls, 15):
        ops.append(["rename", p, p + ".ren"])
    for t in rng.sample(range(TREES), 3):
        ops.append(["rentree", f"tree/t{t}", f"tree/t{t}.moved"])
    for i in range(30):
        ops.append(["create", f"new/c{i}", rng.choice([10, 4000, 200000, 2 << 20])])
    ops += [["mkdir", f"new/dir{i}"] for i in range(5)]
    rng.shuffle(ops)
    # an op must not touch a name an earlier op removed: drop the later ones
    gone, kept = set(), []
    for op in ops:
        if op[1] in gone:
            continue
        if op[0] in ("unlink", "rename", "rentree"):
            gone.add(op[1])
        kept.append(op)
    # Then more of the same until the kill comes: appends (copy-ups of files not copied yet,
    # or plain writes) and new files.
    alive = [p for p in bigs + smalls if p not in gone]
    for i in range(3000):
        kept.append(["append", rng.choice(alive)] if i % 2 else
                    ["create", f"new/e{i}", rng.choice([100, 70000])])
    return kept


def payload(op, n):
    """Deterministic bytes for append/trunc/create number N of OP."""
    kind, path = op[0], op[1]
    if kind == "append":
        return f"append {path} {n}\n".encode()
    size = op[2]
    seed = hashlib.sha256(f"{kind} {path} {n}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def do_op(mnt, op, n):
    kind, p = op[0], os.path.join(mnt, op[1])
    if kind == "append":
        fd = os.open(p, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, payload(op, n))
        finally:
            os.close(fd)
    elif kind == "chmod":
        os.chmod(p, op[2])
    elif kind in ("trunc", "create"):
        flags = os.O_WRONLY | os.O_TRUNC | (os.O_CREAT | os.O_EXCL if kind == "create" else 0)
        fd = os.open(p, flags, 0o644)
        try:
            data = payload(op, n)
            done = 0
            while done < len(data):
                done += os.write(fd, data[done:])
        finally:
            os.close(fd)
    elif kind == "unlink":
        os.unlink(p)
    elif kind in ("rename", "rentree"):
        os.rename(p, os.path.join(mnt, op[2]))
    elif kind == "mkdir":
        os.mkdir(p, 0o755)


def mount_dead(mnt):
    """True when MNT's daemon is gone (statfs is never answered from the kernel's caches).
    A daemon killed while it served requests over io_uring has its rings cancelled before
    its /dev/fuse descriptors close: meanwhile a request may end with ECANCELED (or EIO)
    while the connection is not yet aborted. So any other error means "ask again", for up
    to 5 s; a statfs that succeeds means the daemon is alive."""
    deadline = time.monotonic() + 5
    while True:
        try:
            os.statvfs(mnt)
        except OSError as e:
            if e.errno in DEAD_MOUNT:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
            continue
        return False


def run(mnt, log, seed):
    os.umask(0o022)
    rng = random.Random(seed)
    ops = make_ops(rng)
    counts = {}
    with open(log, "w", buffering=1) as lg:
        for op in ops:
            n = counts.get(op[1], 0)
            counts[op[1]] = n + 1
            lg.write("B " + json.dumps(op + [n]) + "\n")
            try:
                do_op(mnt, op, n)
            except OSError as e:
                when = time.time_ns()
                if e.errno in DEAD_MOUNT:
                    lg.write("K\n")
                    return 0
                # With the writeback cache, close() flushes the page cache; when the daemon
                # dies meanwhile, the kernel ends the unanswered WRITEs with ECONNABORTED and
                # turns that into EIO (a mapping error, as for any lost write-back data).
                # Without it, a WRITE whose data the kernel was copying into the dying
                # daemon's buffer ends with EIO (crash-daemon.sh says why). Over io_uring
                # (daemon/uring.c), a request the kernel was handing to the dying daemon's
                # queue ends with ECANCELED instead. Either is the kill only if the mount is
                # dead now and the error came after the kill: the time lets crash-daemon.sh
                # check the second part.
                if e.errno in (errno.EIO, errno.ECANCELED) and mount_dead(mnt):
                    # Which call: an EIO from close() replaces the write's error, which
                    # Python keeps as the context.
                    before = e.__context__
                    how = ("from close(), after the write got "
                           f"{errno.errorcode.get(before.errno, before.errno)}"
                           if isinstance(before, OSError) else "from the call itself")
                    lg.write(f"K {errno.errorcode[e.errno]} {when} {how}\n")
                    return 0
                lg.write(f"X {errno.errorcode.get(e.errno, e.errno)}\n")
                die(f"{op}: unexpected error {e}")
            lg.write("E\n")
        lg.write("D\n")  # every operation done before the kill
    return 0


# ---------------------------------------------------------------------------- check

class Prefix(bytes):
    """A new file being written when the daemon died: any prefix of these bytes is fine."""


class Scattered(bytes):
    """A new file being written through the writeback cache when the daemon died: close()
    was flushing its pages, which the kernel sends in requests the daemon serves in parallel,
    so any of them may have landed: every byte is the new data or a hole (zero)."""


def scattered_ok(data, want):
    """DATA is WANT with any pages (or their ends, for a write cut short) left as holes."""
    page, zero = 4096, bytes(4096)
    for i in range(0, len(data), page):
        got, exp = data[i:i + page], want[i:i + page]
        if got != exp and got != zero[:len(got)] and any(a != b and a != 0 for a, b in zip(got, exp)):
            return False
    return True


def lower_model(lower):
    model, lsize, lhash = {}, {}, {}
    for root, dirs, files in os.walk(lower):
        for name in dirs + files:
            p = os.path.join(root, name)
            rel = os.path.relpath(p, lower)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                model[rel] = ("d", stat.S_IMODE(st.st_mode))
            else:
                with open(p, "rb") as f:
                    data = f.read()
                lsize[rel], lhash[rel] = len(data), hashlib.sha256(data).digest()
                model[rel] = ("f", stat.S_IMODE(st.st_mode), rel, b"")
    return model, lsize, lhash


def apply(model, op, n, partial=None):
    """Apply OP (the N-th on its path) to MODEL in place; PARTIAL (Prefix or Scattered) makes
    the new data of a create or trunc only partly written."""
    kind, p = op[0], op[1]
    if kind == "append":
        t, mode, origin, suffix = model[p]
        model[p] = (t, mode, origin, suffix + payload(op, n))
    elif kind == "chmod":
        e = model[p]
        model[p] = (e[0], op[2]) + e[2:]
    elif kind == "trunc":
        data = payload(op, n)
        model[p] = ("f", model[p][1], None, partial(data) if partial else data)
    elif kind == "create":
        data = payload(op, n)
        model[p] = ("f", 0o644, None, partial(data) if partial else data)
    elif kind == "unlink":
        del model[p]
    elif kind in ("rename", "rentree"):
        for k in [k for k in model if k == p or k.startswith(p + "/")]:
            model[op[2] + k[len(p):]] = model.pop(k)
    elif kind == "mkdir":
        model[p] = ("d", 0o755)


def read_log(log):
    done, inflight, state = [], None, "running"
    with open(log) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("B "):
                inflight = json.loads(line[2:])
            elif line == "E":
                done.append(inflight)
                inflight = None
            elif line == "K" or line.startswith("K "):
                state = "killed"
            elif line == "D":
                state = "done"
            elif line.startswith("X "):
                die(f"the workload saw an unexpected error: {line[2:]} on {inflight}")
    return done, inflight, state


class Tree:
    """The merged view, read lazily: metadata up front, file contents on demand (cached)."""

    def __init__(self, top):
        self.top, self.meta, self.data = top, {}, {}
        for root, dirs, files in os.walk(top, onerror=self._walk_error):
            for name in dirs + files:
                p = os.path.join(root, name)
                st = os.lstat(p)
                t = "d" if stat.S_ISDIR(st.st_mode) else "f" if stat.S_ISREG(st.st_mode) else "?"
                self.meta[os.path.relpath(p, top)] = (t, stat.S_IMODE(st.st_mode), st.st_size)

    @staticmethod
    def _walk_error(e):
        die(f"listing the remounted tree failed: {e}")

    def content(self, rel):
        if rel not in self.data:
            try:
                with open(os.path.join(self.top, rel), "rb") as f:
                    self.data[rel] = f.read()
            except OSError as e:
                die(f"reading {rel} from the remounted tree failed: {e}")
        return self.data[rel]


def mismatch(tree, model, lsize, lhash):
    """None when TREE matches MODEL, else the first difference."""
    if set(tree.meta) != set(model):
        extra = sorted(set(tree.meta) - set(model))[:5]
        missing = sorted(set(model) - set(tree.meta))[:5]
        return f"names differ: unexpected {extra}, missing {missing}"
    for rel in sorted(model):
        want, (t, mode, size) = model[rel], tree.meta[rel]
        if t != want[0] or mode != want[1]:
            return f"{rel}: type/mode {t} {mode:o}, want {want[0]} {want[1]:o}"
        if t != "f":
            continue
        _, _, origin, suffix = want
        base = lsize[origin] if origin else 0
        if isinstance(suffix, Prefix):
            if size > len(suffix) or tree.content(rel) != suffix[:size]:
                return f"{rel}: not a prefix of the data being written ({size} bytes)"
            continue
        if isinstance(suffix, Scattered):
            if size > len(suffix) or not scattered_ok(tree.content(rel), suffix):
                return f"{rel}: not the data being written with holes ({size} bytes)"
            continue
        if size != base + len(suffix):
            return f"{rel}: {size} bytes, want {base} + {len(suffix)}"
        data = tree.content(rel)
        if origin and hashlib.sha256(data[:base]).digest() != lhash[origin]:
            return f"{rel}: the first {base} bytes are not the lower original {origin}"
        if data[base:] != suffix:
            return f"{rel}: the bytes after the original are not the completed writes"
    return None


def check(lower, upper, mnt, log, writeback):
    done, inflight, state = read_log(log)
    base, lsize, lhash = lower_model(lower)
    for op in done:
        apply(base, op[:-1], op[-1])
    candidates = [("the completed operations", base)]
    if inflight:
        after = dict(base)
        apply(after, inflight[:-1], inflight[-1])
        candidates.append(("the completed operations and the one in flight", after))
        if inflight[0] in ("create", "trunc"):
            part = dict(base)
            apply(part, inflight[:-1], inflight[-1], partial=Scattered if writeback else Prefix)
            candidates.append(("a partial write of the new data", part))
    tree = Tree(mnt)
    reasons = []
    for what, model in candidates:
        why = mismatch(tree, model, lsize, lhash)
        if why is None:
            break
        reasons.append(f"  against {what}: {why}")
    else:
        die(f"the remounted tree is no consistent state ({len(done)} operations done, in "
            f"flight: {inflight}):\n" + "\n".join(reasons))
    # The upper layer itself: no temporary copy-up names, and every regular file in it is
    # exactly what the mount shows at that path (a partial copy would differ).
    for root, dirs, files in os.walk(upper):
        for name in dirs + files:
            p = os.path.join(root, name)
            rel = os.path.relpath(p, upper)
            if name.startswith(("#cu-", "#wh-")):
                die(f"copy-up temporary {rel} left in the upper layer")
            st = os.lstat(p)
            if not stat.S_ISREG(st.st_mode) or name.startswith(".wh."):
                continue
            if rel not in tree.meta:
                die(f"upper file {rel} is not visible in the mount")
            with open(p, "rb") as f:
                if f.read() != tree.content(rel):
                    die(f"upper file {rel} differs from what the mount shows (partial copy?)")
    print(f"{len(done)} done, in flight: {inflight[0] if inflight else '-'}, state {state}")


def main(argv):
    if len(argv) >= 3 and argv[1] == "setup":
        setup(argv[2])
    elif len(argv) >= 3 and argv[1] == "fingerprint":
        fingerprint(argv[2])
    elif len(argv) >= 5 and argv[1] == "run":
        return run(argv[2], argv[3], int(argv[4]))
    elif len(argv) >= 6 and argv[1] == "check":
        check(argv[2], argv[3], argv[4], argv[5], argv[6:7] == ["writeback"])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
