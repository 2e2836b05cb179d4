#!/bin/bash
# Inode numbers freed by unlink or rename-over are reused at once by the upper filesystem,
# possibly for a file another process creates in another directory at that moment. Four
# processes create, rename (also over existing names), unlink, chmod and append in their own
# directories in parallel; every operation on a name that exists must succeed. Proves the
# daemon never hands a new file the inode of a file being removed (which left the new file
# reachable under the old name only: ENOENT on chmod/append, EIO on a type change).
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed (apt-get install python3)"
make_layers
ovl_mount "$T/mnt" "$OVL_OPTS"
cat > "$T/job.py" <<'PY'
import os, random, sys
mnt, j, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng, d, files, nxt, last = random.Random(j), f"{mnt}/d{j}", set(), 0, []
os.mkdir(d)
for step in range(steps):
    op, names = rng.choice(["create", "create", "rename", "unlink", "chmod", "append"]), sorted(files)
    try:
        if op == "create" or not names:
            nm, nxt = f"n{nxt}", nxt + 1
            with open(f"{d}/{nm}", "xb") as f:
                f.write(b"x")
            files.add(nm)
            last.append(("create", nm))
        elif op == "rename":
            a = rng.choice(names)
            b = rng.choice(names) if rng.random() < 0.5 else a
            if b == a:
                b, nxt = f"n{nxt}", nxt + 1
            os.rename(f"{d}/{a}", f"{d}/{b}")
            files.discard(a)
            files.add(b)
            last.append(("rename", a, b))
        elif op == "unlink" and len(names) > 3:
            a = rng.choice(names)
            os.unlink(f"{d}/{a}")
            files.discard(a)
            last.append(("unlink", a))
        elif op == "chmod":
            a = rng.choice(names)
            os.chmod(f"{d}/{a}", rng.choice([0o600, 0o644]))
            last.append(("chmod", a))
        elif op == "append":
            a = rng.choice(names)
            with open(f"{d}/{a}", "ab") as f:
                f.write(b"y")
            last.append(("append", a))
    except OSError as e:
        sys.exit(f"job {j} step {step}: {op}: {e}; last operations: {last[-6:]}")
PY
pids=()
for j in 0 1 2 3; do
	python3 "$T/job.py" "$T/mnt" "$j" 6000 2>"$T/err.$j" &
	pids+=($!)
done
bad=""
for j in 0 1 2 3; do
	wait "${pids[$j]}" || bad="$bad
$(cat "$T/err.$j")"
done
[ -z "$bad" ] || fail "operations on existing names failed:$bad"
ovl_umount "$T/mnt"
