#!/bin/bash
# Without the writeback cache (writeback=0, as antares-sandbox mounts) regular files are
# opened by the kernel alone, and new ones are made with MKNOD: creating a file costs no
# CREATE and no RELEASE at close, also before anything was opened (untar into a fresh mount),
# and opening an existing file costs no OPEN after the first. Counted in the daemon's request
# trace. The files must come out as a CREATE would make them: content, mode under the umask,
# O_EXCL, and a read-only file written through the descriptor that created it (git objects).
# And every file reports a 128 KiB preferred I/O size (blksize=), so buffered writers ask for
# big writes.
. "$(dirname "$0")/../lib.sh"
make_layers
M=$T/mnt
for i in $(seq 1 20); do printf 'lower %s\n' "$i" >"$T/lower1/l$i"; done

ovl_mount "$M" "$OVL_OPTS,writeback=0" -d
(umask 027 && for i in $(seq 1 20); do printf 'new %s\n' "$i" >"$M/n$i"; done)
creates=$(ovl_requests CREATE) releases=$(ovl_requests RELEASE)
[ "$releases" -eq 0 ] || fail "20 new files cost $releases RELEASE requests"
[ "$creates" -le 1 ] || fail "20 new files cost $creates CREATE requests (at most the first, answered ENOSYS)"
for i in 1 20; do
	[ "$(cat "$T/upper/n$i")" = "new $i" ] || fail "n$i: the upper copy holds $(cat "$T/upper/n$i")"
	[ "$(stat -c %a "$M/n$i")" = 640 ] || fail "n$i: mode $(stat -c %a "$M/n$i") under umask 027, want 640"
done
for i in $(seq 1 20); do cat "$M/l$i" >/dev/null; done
opens=$(ovl_requests OPEN) releases=$(ovl_requests RELEASE)
[ "$opens" -le 1 ] || fail "reading 20 files cost $opens OPEN requests"
[ "$releases" -eq 0 ] || fail "reading 20 files cost $releases RELEASE requests"
python3 - "$M" <<'EOF' || fail "creating files through the mount went wrong (see above)"
import errno, os, sys
m = sys.argv[1]
try:
    os.open(os.path.join(m, "n1"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    sys.exit("O_EXCL opened an existing file")
except FileExistsError:
    pass
fd = os.open(os.path.join(m, "obj"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
os.write(fd, b"object data\n")
os.close(fd)
if open(os.path.join(m, "obj")).read() != "object data\n":
    sys.exit("a file created read-only lost what was written through its creating fd")
EOF
# Every file reports a 128 KiB preferred I/O size, whatever its layer's: a writer that buffers
# by it (Python's open(); C stdio up to 8 KiB) writes 200 KiB in two requests, not fifty.
[ "$(stat -c %o "$M/l1")" = 131072 ] || fail "a lower file reports st_blksize $(stat -c %o "$M/l1"), want 131072"
[ "$(stat -c %o "$M/n1")" = 131072 ] || fail "a new file reports st_blksize $(stat -c %o "$M/n1"), want 131072"
before=$(ovl_requests WRITE)
python3 -c 'import sys
with open(sys.argv[1], "w") as f:
    for i in range(20000): f.write("line %05d\n" % i)' "$M/buffered.txt"
writes=$(( $(ovl_requests WRITE) - before ))
[ "$(wc -c <"$T/upper/buffered.txt")" = 220000 ] || fail "buffered.txt: $(wc -c <"$T/upper/buffered.txt") bytes in the upper, want 220000"
[ "$writes" -le 3 ] || fail "220,000 bytes written through a buffered Python file cost $writes WRITE requests, want 2 (one per 128 KiB)"
ovl_umount "$M"
[ "$(stat -c %a "$T/upper/obj")" = 444 ] || fail "obj: upper mode $(stat -c %a "$T/upper/obj"), want 444"

# blksize=0: the layer's own size shows through.
ovl_mount "$M" "$OVL_OPTS,writeback=0,blksize=0"
[ "$(stat -c %o "$M/l1")" = "$(stat -c %o "$T/lower1/l1")" ] ||
	fail "blksize=0: st_blksize $(stat -c %o "$M/l1"), the layer's is $(stat -c %o "$T/lower1/l1")"
ovl_umount "$M"

# With the writeback cache the kernel needs handles, and CREATE stays.
rm -f "$T/upper/n"*
ovl_mount "$M" "$OVL_OPTS,writeback=1" -d
for i in $(seq 1 5); do printf 'wb %s\n' "$i" >"$M/w$i"; done
[ "$(cat "$M/w5")" = "wb 5" ] || fail "writeback=1: w5 reads $(cat "$M/w5")"
[ "$(ovl_requests CREATE)" -ge 5 ] || fail "writeback=1: 5 new files cost $(ovl_requests CREATE) CREATE requests, want 5"
ovl_umount "$M"
true
