#!/bin/bash
# --fd N: the caller opens /dev/fuse and mounts it itself (as antares-sandbox does inside its
# user namespace), then hands the fd to the daemon, which serves it and exits when the mount
# goes away.
. "$(dirname "$0")/../lib.sh"
make_layers
echo lower > "$T/lower1/f"

exec {fuse_fd}<>/dev/fuse || fail "cannot open /dev/fuse"
# -i: no mount.fuse helper; the kernel gets the fd directly, as the sandbox's mount(2) does.
mount -i -t fuse.antares-overlayd -o "fd=$fuse_fd,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other" \
	antares "$T/mnt" || fail "mount(2) of a FUSE fd failed"
MOUNTS+=("$T/mnt")
"$OVERLAYD" --fd "$fuse_fd" -o "$OVL_OPTS" 2>"$T/daemon.log" &
pid=$!
DAEMON_PIDS+=("$pid")
exec {fuse_fd}>&- # only the daemon holds the connection now

echo more >> "$T/mnt/f" || { cat "$T/daemon.log" >&2; fail "write through the handed-over fd failed"; }
[ "$(cat "$T/upper/f")" = "$(printf 'lower\nmore')" ] || fail "upper copy wrong"
umount "$T/mnt"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "daemon still running after unmount"
wait "$pid" || fail "daemon exited with status $? after unmount"
