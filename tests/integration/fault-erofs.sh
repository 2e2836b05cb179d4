#!/bin/bash
# The upper filesystem is remounted read-only under a running daemon: every change through
# the mount (copy-up by write or chmod, writes to upper files, create, mkdir, unlink, rename,
# symlink, xattrs) fails with EROFS, reads and listings keep working, the daemon neither
# crashes nor leaves debris, and after a remount read-write everything works again.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed (apt-get install python3)"
make_layers
S="$T/small"
mkdir -p "$S"
mount -t tmpfs -o size=64m,mode=0755 tmpfs "$S" || skip "cannot mount a tmpfs here"
mkdir "$S/upper" "$S/work"
echo lower > "$T/lower1/lowerfile"
echo other > "$T/lower1/other"
mkdir "$T/lower1/ldir" && echo deep > "$T/lower1/ldir/deep"
ovl_mount "$T/mnt" "lowerdir=$T/lower1,upperdir=$S/upper,workdir=$S/work"
MOUNTS+=("$S")
echo upper > "$T/mnt/upperfile" || fail "cannot create a file before the fault"
mkdir "$T/mnt/udir" || fail "cannot mkdir before the fault"

# The filesystem read-only; where a user namespace may not remount the superblock, the mount
# (MS_BIND|MS_REMOUNT|MS_RDONLY): the daemon's fds come through it, so both mean EROFS. With
# writeback=0 the daemon keeps the fd it wrote upperfile through for a while
# (WRITE_FD_IDLE_SECONDS, daemon/writefds.h), and the remount is refused (EBUSY) until it is
# closed: retry for up to 10 s.
how=
for i in $(seq 1 100); do
	if mount -o remount,ro "$S" 2>/dev/null; then
		how=filesystem
	elif mount -o remount,bind,ro "$S" 2>/dev/null; then
		how=mount
	fi
	[ -n "$how" ] && break
	sleep 0.1
done
[ -n "$how" ] || fail "cannot remount the upper tmpfs read-only: $(mount -o remount,bind,ro "$S" 2>&1)"
note "upper made read-only: the $how"

# Each change must fail with EROFS; anything else (success, EIO, a dead mount) is a failure.
python3 - "$T/mnt" <<'EOF' || fail "changes on a read-only upper did not all fail with EROFS"
import errno, os, sys
m = sys.argv[1]
def append(p):
    with open(p, "a") as f:
        f.write("x\n")
changes = [
    ("append to a lower file (copy-up)", lambda: append(f"{m}/lowerfile")),
    ("chmod a lower file (copy-up)", lambda: os.chmod(f"{m}/other", 0o600)),
    ("append to an upper file", lambda: append(f"{m}/upperfile")),
    ("truncate an upper file", lambda: os.truncate(f"{m}/upperfile", 0)),
    ("create", lambda: open(f"{m}/newfile", "w").close()),
    ("mkdir", lambda: os.mkdir(f"{m}/newdir")),
    ("mkdir in a lower dir", lambda: os.mkdir(f"{m}/ldir/newdir")),
    ("symlink", lambda: os.symlink("target", f"{m}/newlink")),
    ("unlink a lower file", lambda: os.unlink(f"{m}/other")),
    ("unlink an upper file", lambda: os.unlink(f"{m}/upperfile")),
    ("rmdir an upper dir", lambda: os.rmdir(f"{m}/udir")),
    ("rename a lower file", lambda: os.rename(f"{m}/lowerfile", f"{m}/moved")),
    ("rename a lower dir", lambda: os.rename(f"{m}/ldir", f"{m}/ldir2")),
    ("setxattr", lambda: os.setxattr(f"{m}/upperfile", "user.k", b"v")),
]
bad = 0
for what, fn in changes:
    try:
        fn()
        print(f"{what}: succeeded on a read-only upper", file=sys.stderr)
        bad = 1
    except OSError as e:
        if e.errno != errno.EROFS:
            print(f"{what}: {e}, want EROFS", file=sys.stderr)
            bad = 1
        else:
            print(f"# {what}: EROFS", file=sys.stderr)
sys.exit(bad)
EOF
[ "$(cat "$T/mnt/lowerfile")" = lower ] || fail "reading a lower file failed on a read-only upper"
[ "$(cat "$T/mnt/upperfile")" = upper ] || fail "reading an upper file failed on a read-only upper"
[ "$(cat "$T/mnt/ldir/deep")" = deep ] || fail "reading a lower directory failed"
ls -laR "$T/mnt" >/dev/null || fail "listing failed on a read-only upper"
kill -0 "$LAST_DAEMON_PID" || fail "the daemon died when its upper became read-only"
[ -z "$(ls -A "$S/work/work")" ] || fail "debris in WORKDIR/work: $(ls -A "$S/work/work")"

if [ "$how" = filesystem ]; then
	mount -o remount,rw "$S" || fail "cannot remount the upper read-write again"
else
	mount -o remount,bind,rw "$S" || fail "cannot remount the upper read-write again"
fi
echo more >> "$T/mnt/lowerfile" || fail "copy-up after the upper became writable again failed"
[ "$(cat "$T/mnt/lowerfile")" = "$(printf 'lower\nmore')" ] || fail "content after append wrong"
echo more >> "$T/mnt/upperfile" || fail "writing an upper file again failed"
mkdir "$T/mnt/ldir/sub" && mv "$T/mnt/ldir" "$T/mnt/ldir2" || fail "mkdir/rename after recovery failed"
[ "$(cat "$T/mnt/ldir2/deep")" = deep ] || fail "renamed lower dir lost its content"
ovl_umount "$T/mnt"
[ "$(cat "$T/lower1/lowerfile")" = lower ] || fail "the lower layer changed"
