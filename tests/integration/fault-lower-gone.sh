#!/bin/bash
# Lower directories removed or replaced behind the daemon's back while mounted (the man page
# says not to; a build may do it anyway): every access through the mount either works, with
# old or new content, or fails with ENOENT or ESTALE: never EIO, never a crash or a hang. The
# untouched parts keep working, nothing is written into a lower layer, and a new mount shows
# the new state. Run with the default cache timeout and with timeout=0 (every access reaches
# the daemon).
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed (apt-get install python3)"

# probe MNT: touch every kind of operation on the changed directories; print one line per
# operation that failed otherwise than allowed.
probe() {
	python3 - "$1" <<'EOF'
import errno, os, sys
m = sys.argv[1]
ALLOWED = (errno.ENOENT, errno.ESTALE)
def append(p):
    with open(p, "a") as f:
        f.write("x\n")
def read(p):
    with open(p) as f:
        f.read()
ops = []
for d in ("gone", "replaced", "lower2only", "merged"):
    ops += [
        (f"list {d}", lambda d=d: os.listdir(f"{m}/{d}")),
        (f"stat {d}/f1", lambda d=d: os.stat(f"{m}/{d}/f1")),
        (f"read {d}/f1", lambda d=d: read(f"{m}/{d}/f1")),
        (f"read {d}/sub/f3", lambda d=d: read(f"{m}/{d}/sub/f3")),
        (f"append {d}/f2", lambda d=d: append(f"{m}/{d}/f2")),
        (f"create {d}/new", lambda d=d: open(f"{m}/{d}/new", "w").close()),
        (f"mkdir {d}/newdir", lambda d=d: os.mkdir(f"{m}/{d}/newdir")),
        (f"chmod {d}/f1", lambda d=d: os.chmod(f"{m}/{d}/f1", 0o600)),
        (f"rename {d}/sub", lambda d=d: os.rename(f"{m}/{d}/sub", f"{m}/{d}/sub2")),
        (f"unlink {d}/f1", lambda d=d: os.unlink(f"{m}/{d}/f1")),
        (f"rename {d}", lambda d=d: os.rename(f"{m}/{d}", f"{m}/{d}.moved")),
    ]
ops.append(("list /", lambda: os.listdir(m)))
ok = err = 0
for what, fn in ops:
    try:
        fn()
        ok += 1
    except OSError as e:
        if e.errno in ALLOWED:
            err += 1
        else:
            print(f"{what}: {e}")
print(f"# {ok} operations worked, {err} failed with ENOENT/ESTALE", file=sys.stderr)
EOF
}

# fill DIR: the same small tree in a lower directory.
fill() {
	mkdir -p "$1/sub"
	echo one > "$1/f1"
	echo two > "$1/f2"
	echo three > "$1/sub/f3"
}

for opts in "" ",timeout=0"; do
	rm -rf "$T/lower1" "$T/lower2" "$T/upper" "$T/work"
	make_layers
	for d in gone replaced merged; do fill "$T/lower1/$d"; done
	fill "$T/lower2/lower2only"
	fill "$T/lower2/merged"
	echo keep > "$T/lower1/keep"
	ovl_mount "$T/mnt" "$OVL_OPTS$opts"
	# The kernel and the daemon know every object before the change.
	ls -lR "$T/mnt" >/dev/null
	cat "$T/mnt"/*/f1 "$T/mnt"/*/sub/f3 >/dev/null

	rm -rf "$T/lower1/gone" "$T/lower2/lower2only" "$T/lower2/merged"
	mv "$T/lower1/replaced" "$T/lower1/replaced.old"
	mkdir "$T/lower1/replaced" && echo new > "$T/lower1/replaced/f1"
	layer_fingerprint "$T/lower1" > "$T/lower1.fp"
	layer_fingerprint "$T/lower2" > "$T/lower2.fp"

	bad=$(probe "$T/mnt") || fail "the probe itself failed (opts '$opts')"
	[ -z "$bad" ] || fail "unexpected errors after lower directories changed (opts '$opts'):
$bad"
	kill -0 "$LAST_DAEMON_PID" 2>/dev/null || fail "the daemon died (opts '$opts')"
	[ "$(cat "$T/mnt/keep")" = keep ] || fail "an untouched file is unreadable (opts '$opts')"
	echo more >> "$T/mnt/keep" || fail "an untouched file is not writable (opts '$opts')"
	ls -la "$T/mnt" >/dev/null || fail "the root cannot be listed (opts '$opts')"
	ovl_umount "$T/mnt"
	layer_fingerprint "$T/lower1" | diff -q "$T/lower1.fp" - >/dev/null ||
		fail "the daemon wrote into lower layer 1 (opts '$opts')"
	layer_fingerprint "$T/lower2" | diff -q "$T/lower2.fp" - >/dev/null ||
		fail "the daemon wrote into lower layer 2 (opts '$opts')"

	# A new mount over the changed layers (the upper now holds what the probe made).
	ovl_mount "$T/mnt" "$OVL_OPTS$opts"
	ls -lR "$T/mnt" >/dev/null || fail "the remount cannot be listed (opts '$opts')"
	[ ! -e "$T/mnt/lower2only/f1" ] || fail "a removed lower file is still visible after remount"
	ovl_umount "$T/mnt"
done
