#!/bin/bash
# Open files, in both modes of the daemon: with writeback=1 every open is an OPEN request and
# owns a handle; with writeback=0 the kernel opens regular files without asking (no_open) and
# each request finds the data through the inode (both mount with metacopy=on, as the sandbox
# does). Either way: a file stays readable, writable, fstat()-able and ftruncate()-able after
# its last name is removed or replaced while open, and its mode, owner, times and xattrs can
# be read and changed through the fd, also for a lower file whose private copy is made only
# then and for a metadata-only copy (a chmod'ed lower file); a
# reader follows the data when another fd copies the file up; O_TRUNC of a lower file copies
# its metadata but no data; a shared writable mmap of a lower file copies it up; more files
# open at once than the daemon keeps fds for all read correctly; files created and removed
# leave no fd behind in the daemon, and a few seconds after the last write none is open for
# writing. With writeback=0 an open for writing alone copies nothing up (the first write
# does). Stopped by SIGTERM with files open, the daemon exits cleanly. The lower layers never
# change.
. "$(dirname "$0")/../lib.sh"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null || skip "python3 is needed to drive open files"
make_layers
L=$T/lower1 U=$T/upper M=$T/mnt

mkdir -p "$L/many"
for i in $(seq 1 300); do echo "file $i" >"$L/many/f$i"; done
seq 1 20000 >"$L/big"
echo lower >"$L/opened"
chmod 0651 "$L/opened"
setfattr -n user.keep -v opened "$L/opened" 2>/dev/null
echo lower >"$L/changed"
chmod 0640 "$L/changed"
echo lower >"$L/capped"
if is_root_mode && command -v setcap >/dev/null; then
	setcap cap_net_raw+ep "$L/capped" || fail "setcap on the lower layer failed"
else
	note "file capabilities of a removed file not checked: needs root mode and setcap (libcap2-bin)"
fi
echo lower >"$L/trunc"
chmod 0640 "$L/trunc"
touch -d '2001-02-03 04:05:06.123456789' "$L/trunc"
setfattr -n user.keep -v yes "$L/trunc" 2>/dev/null || note "no user xattrs on $L: not checked"
echo lower >"$L/follow"
printf 'abcdefgh' >"$L/mapped"
before=$(layer_fingerprint "$L")

# The probe: one Python run per mount, every case a function; the first failure is reported
# with the case's name and the mount's mode.
probe() {
	"$PY" - "$M" "$U" "$1" <<'PY'
import mmap, os, sys
M, U, wb = sys.argv[1], sys.argv[2], sys.argv[3]
def check(cond, what):
    if not cond:
        sys.exit(f"writeback={wb}: {what}")

# The last name goes while the file is open: unlink of an upper file, of a lower file (a
# whiteout then hides it), and a rename over it.
def open_then_remove(name, remove):
    p = os.path.join(M, name)
    fd = os.open(p, os.O_RDWR)
    orig = os.pread(fd, 100, 0)
    check(orig in (b"lower\n", b"upper\n"), f"{name}: first read gave {orig!r}")
    st0 = os.fstat(fd)
    try:
        xattrs = {k: os.getxattr(fd, k) for k in os.listxattr(fd)}
    except OSError:
        xattrs = None  # no user xattrs on this filesystem: not checked
    remove(p)
    check(not os.path.exists(p) or name == "upper2", f"{name}: still there after removal")
    st = os.fstat(fd)
    check(st.st_size == 6, f"{name}: fstat after removal says size {st.st_size}")
    check(st.st_mode == st0.st_mode, f"{name}: fstat after removal says mode {st.st_mode:o}, was {st0.st_mode:o}")
    os.pwrite(fd, b"XY", 0)
    want = b"XY" + orig[2:]
    check(os.pread(fd, 100, 0) == want, f"{name}: a write after removal does not read back")
    # A removed lower file written gets a private copy: with the metadata it had.
    st = os.fstat(fd)
    check((st.st_mode, st.st_uid, st.st_gid) == (st0.st_mode, st0.st_uid, st0.st_gid),
          f"{name}: mode or owner changed by a write after removal: {st.st_mode:o} {st.st_uid}:{st.st_gid}"
          f" (was {st0.st_mode:o} {st0.st_uid}:{st0.st_gid})")
    if xattrs is not None:
        got = {k: os.getxattr(fd, k) for k in os.listxattr(fd)}
        check(got == xattrs, f"{name}: xattrs after removal are {got}, were {xattrs}")
        os.setxattr(fd, "user.after", b"removal")
        check(os.getxattr(fd, "user.after") == b"removal", f"{name}: setxattr after removal")
        os.removexattr(fd, "user.after")
    os.ftruncate(fd, 3)
    check(os.fstat(fd).st_size == 3 and os.pread(fd, 100, 0) == want[:3],
          f"{name}: ftruncate after removal")
    # fchmod, fchown and futimens reach the daemon without a handle in either mode.
    os.fchmod(fd, 0o604)
    check(os.fstat(fd).st_mode & 0o7777 == 0o604, f"{name}: fchmod after removal")
    os.fchown(fd, -1, os.getgid())
    os.utime(fd, ns=(1_000_000_123, 2_000_000_456))
    st = os.fstat(fd)
    check((st.st_atime_ns, st.st_mtime_ns) == (1_000_000_123, 2_000_000_456),
          f"{name}: futimens after removal gave {st.st_atime_ns}, {st.st_mtime_ns}")
    os.close(fd)

with open(os.path.join(M, "upper1"), "w") as f:
    f.write("upper\n")
open_then_remove("upper1", os.unlink)
open_then_remove("opened", os.unlink)
# A lower file whose mode and xattrs changed through the mount: metacopy=on keeps its data
# lower and its metadata in the upper file, which goes with the name.
os.chmod(os.path.join(M, "changed"), 0o705)
try:
    os.setxattr(os.path.join(M, "changed"), "user.changed", b"yes")
except OSError:
    pass  # no user xattrs here
check(os.path.getsize(os.path.join(U, "changed")) == 6 and
      os.stat(os.path.join(U, "changed")).st_blocks == 0, "changed: not a metadata-only copy")
open_then_remove("changed", os.unlink)

# File capabilities survive the private copy of a removed lower file that fchmod makes (a
# write would drop them, chmod does not). Set on the lower layer in root mode only.
p = os.path.join(M, "capped")
try:
    caps = os.getxattr(p, "security.capability")
except OSError:
    caps = None
if caps is not None:
    fd = os.open(p, os.O_RDWR)
    os.unlink(p)
    os.fchmod(fd, 0o750)
    check(os.getxattr(fd, "security.capability") == caps,
          "capped: the capabilities of a removed file were lost by its private copy")
    os.close(fd)
with open(os.path.join(M, "upper2"), "w") as f:
    f.write("upper\n")
with open(os.path.join(M, "other"), "w") as f:
    f.write("other\n")
open_then_remove("upper2", lambda p: os.rename(os.path.join(M, "other"), p))
with open(os.path.join(M, "upper2")) as f:
    check(f.read() == "other\n", "the file renamed over an open one has the wrong content")

# Files created, written, closed and removed, 1,000 of them: nothing of them stays open in
# the daemon (after the first OPEN got ENOSYS the kernel sends no RELEASE for created files
# either, and 512 fds would run out). One is created read-only, as git creates its objects.
for i in range(1000):
    p = os.path.join(M, f"tmp{i}")
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o444 if i == 0 else 0o644)
    os.write(fd, b"x" * i)
    os.close(fd)
    check(os.stat(p).st_size == i, f"tmp{i}: size after writing")
    if i == 0:
        check(open(p, "rb").read() == b"", "a read-only new file")
    os.unlink(p)

# A reader whose fd was on the lower data sees the copy-up done through another fd.
r = os.open(os.path.join(M, "follow"), os.O_RDONLY)
check(os.pread(r, 100, 0) == b"lower\n", "follow: first read")
w = os.open(os.path.join(M, "follow"), os.O_WRONLY)
if wb == "0":
    check(not os.path.exists(os.path.join(U, "follow")), "follow: an open for writing copied up")
os.pwrite(w, b"UPPER\n", 0)
os.close(w)
check(os.path.exists(os.path.join(U, "follow")), "follow: the write did not copy up")
check(os.pread(r, 100, 0) == b"UPPER\n", "follow: the reader still sees the lower data")
os.close(r)

# O_TRUNC of a lower file: nothing of its data is copied, all of its metadata is.
fd = os.open(os.path.join(M, "trunc"), os.O_WRONLY | os.O_TRUNC)
os.close(fd)
st = os.stat(os.path.join(U, "trunc"))
check(st.st_size == 0 and (st.st_mode & 0o7777) == 0o640, "trunc: upper copy size/mode")
try:
    check(os.getxattr(os.path.join(M, "trunc"), "user.keep") == b"yes", "trunc: xattr lost")
except OSError:
    pass  # no user xattrs on this file system (noted by the script)
check(open(os.path.join(M, "trunc")).read() == "", "trunc: not empty through the mount")

# A shared writable mapping of a lower file: its pages reach the upper copy.
fd = os.open(os.path.join(M, "mapped"), os.O_RDWR)
mm = mmap.mmap(fd, 8)
mm[0:4] = b"MMAP"
mm.flush()
mm.close()
os.close(fd)
check(open(os.path.join(U, "mapped"), "rb").read() == b"MMAPefgh", "mapped: upper copy")

# Many files open at once (more than the daemon keeps fds for under the small limit the
# script gives it), read interleaved.
fds = [os.open(os.path.join(M, "many", f"f{i}"), os.O_RDONLY) for i in range(1, 301)]
for rnd in range(2):
    for i, fd in enumerate(fds, 1):
        check(os.pread(fd, 100, 0) == f"file {i}\n".encode(), f"many/f{i}: wrong content")
for fd in fds:
    os.close(fd)
big = open(os.path.join(M, "big")).read()
check(big == "".join(f"{i}\n" for i in range(1, 20001)), "big: wrong content")
PY
}

# writers PID: the upper files the daemon has open for writing.
writers() {
	local f l flags
	for f in /proc/"$1"/fd/*; do
		l=$(readlink "$f") || continue
		case $l in "$U"/*) ;; *) continue ;; esac
		flags=$(awk '/^flags:/ { print $2 }' "/proc/$1/fdinfo/${f##*/}" 2>/dev/null) || continue
		[ -n "$flags" ] && [ $((8#$flags & 3)) != 0 ] && echo "$l"
	done
	return 0
}

# Reset the upper layer and the lower files the cases change between the two mounts.
for wb in 0 1; do
	rm -rf "$U" "$T/work" && mkdir -p "$U" "$T/work"
	# 512 fds: the daemon keeps at most 128 on file data, fewer than the 300 files opened
	# (with writeback=1 each of the 300 has a handle and an fd of its own).
	OVERLAYD_WRAPPER="prlimit --nofile=512:512" ovl_mount "$M" "$OVL_OPTS,metacopy=on,writeback=$wb"
	probe "$wb" || fail "writeback=$wb: a case failed (above)"
	# Nothing stays open for writing in the daemon for long once the writes are over: with
	# writeback=0 an fd for writing is closed after WRITE_FD_IDLE_SECONDS unused.
	for i in $(seq 1 100); do
		held=$(writers "$LAST_DAEMON_PID")
		[ -z "$held" ] && break
		sleep 0.1
	done
	[ -z "$held" ] || fail "writeback=$wb: after 10 s the daemon still writes to: $held"
	ovl_umount "$M"
	grep -E 'error|warning' "$T/daemon.mnt.log" >&2 && fail "writeback=$wb: the daemon logged problems (above)"
done
# Stopped by SIGTERM while files are open (writeback=1, so each has a handle that no RELEASE
# will free now): the daemon still exits 0, and frees them (the sanitizer run reports a leak
# of each one it does not).
rm -rf "$U" "$T/work" && mkdir -p "$U" "$T/work"
ovl_mount "$M" "$OVL_OPTS,metacopy=on,writeback=1"
"$PY" -c 'import sys, time
held = [open(sys.argv[1] + "/many/f%d" % i) for i in (1, 2, 3)] + [open(sys.argv[1] + "/held", "w")]
print("open", flush=True)
time.sleep(60)' "$M" >"$T/holder.out" &
holder=$!
for i in $(seq 1 100); do [ -s "$T/holder.out" ] && break; sleep 0.05; done
[ -s "$T/holder.out" ] || fail "could not hold files open on the mount"
kill -TERM "$LAST_DAEMON_PID"
rc=0
wait "$LAST_DAEMON_PID" || rc=$?
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
umount -l "$M" 2>/dev/null || true
[ "$rc" = 0 ] || fail "stopped by SIGTERM with 4 files open, the daemon exited with status $rc"
after=$(layer_fingerprint "$L")
[ "$before" = "$after" ] || fail "the lower layer changed"
echo "ok"
