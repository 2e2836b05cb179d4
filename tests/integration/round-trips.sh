#!/bin/bash
# Without the writeback cache (writeback=0, as antares-sandbox mounts) regular files are
# opened by the kernel alone, and new ones are made with MKNOD: creating a file costs no
# CREATE and no RELEASE at close, also before anything was opened (untar into a fresh mount),
# and opening an existing file costs no OPEN after the first. Counted in the daemon's request
# trace. The files must come out as a CREATE would make them: content, mode under the umask,
# O_EXCL, and a read-only file written through the descriptor that created it (git objects).
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
ovl_umount "$M"
[ "$(stat -c %a "$T/upper/obj")" = 444 ] || fail "obj: upper mode $(stat -c %a "$T/upper/obj"), want 444"

# With the writeback cache the kernel needs handles, and CREATE stays.
rm -f "$T/upper/n"*
ovl_mount "$M" "$OVL_OPTS,writeback=1" -d
for i in $(seq 1 5); do printf 'wb %s\n' "$i" >"$M/w$i"; done
[ "$(cat "$M/w5")" = "wb 5" ] || fail "writeback=1: w5 reads $(cat "$M/w5")"
[ "$(ovl_requests CREATE)" -ge 5 ] || fail "writeback=1: 5 new files cost $(ovl_requests CREATE) CREATE requests, want 5"
ovl_umount "$M"
true
