#!/bin/bash
# chmod through a path the kernel resolved just before another process renamed a new file
# over that name or removed it (leaving a whiteout over the lower file): the chmod must either
# work or fail with ENOENT. Proves the daemon never applies an operation for a removed object
# to whatever took its name next (a new file, or the whiteout: a type change the kernel
# answers with EIO), and that whiteouts keep mode 0 device 0/0.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed (apt-get install python3)"
make_layers
for k in 0 1 2; do echo "lower $k" > "$T/lower1/slot$k"; done
ovl_mount "$T/mnt" "$OVL_OPTS"
cat > "$T/job.py" <<'PY'
import errno, os, sys, time
m, role, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
end, n, bad = time.time() + seconds, 0, []
while time.time() < end:
    n += 1
    slot = f"{m}/slot{n % 3}"
    try:
        if role == "replace":
            tmp = f"{m}/tmp.{os.getpid()}.{n}"
            with open(tmp, "w") as f:
                f.write(f"new {n}\n")
            os.rename(tmp, slot)
        elif role == "unlink":
            os.unlink(slot)
        else:
            os.chmod(slot, 0o600 if n % 2 else 0o644)
    except OSError as e:
        if e.errno != errno.ENOENT:
            bad.append(f"{role} {slot}: {e}")
if bad:
    sys.exit(f"{len(bad)} unexpected errors in {n} operations, e.g. {bad[:3]}")
PY
pids=()
for role in replace chmod unlink chmod replace; do
	python3 "$T/job.py" "$T/mnt" "$role" 4 2>>"$T/err" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
[ ! -s "$T/err" ] || fail "$(cat "$T/err")"
ovl_umount "$T/mnt"
for k in 0 1 2; do
	f="$T/upper/slot$k"
	if [ -c "$f" ]; then
		[ "$(stat -c '%t:%T %a' "$f")" = "0:0 0" ] || fail "whiteout slot$k was changed: $(stat -c '%t:%T %a' "$f")"
	fi
done
