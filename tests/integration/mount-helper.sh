#!/bin/bash
# `mount -t fuse.antares-overlayd` works the way admins and fstab use it: mount(8) runs
# mount.fuse3, which starts the daemon; the mount is listed with our fstype, writes land in
# the upper layer, and `umount` ends the daemon. Also fstab options, a read-only mount, a refusal.
#
# mount(8) clears PATH before it runs a helper (util-linux sanitize_env() drops PATH=), so
# mount.fuse3's `sh -c 'antares-overlayd ...'` only searches sh's default path. We therefore
# "install" the build over /usr/local/sbin (first in that path) with a bind mount, in a
# private mount namespace so nothing leaks to the host. Rootless mode already has its own one.
if [ "${MODE:-root}" = root ] && [ -z "${ANTARES_PRIVATE_MNTNS:-}" ] && [ "$(id -u)" = 0 ]; then
	exec env ANTARES_PRIVATE_MNTNS=1 unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"
[ -x /sbin/mount.fuse3 ] || [ -x /usr/sbin/mount.fuse3 ] || fail "mount.fuse3 is missing (apt-get install fuse3)"
make_layers
M=$T/mnt

mkdir "$T/sbin"
ln -s "$OVERLAYD" "$T/sbin/antares-overlayd"
mount --bind "$T/sbin" /usr/local/sbin || fail "cannot bind the build over /usr/local/sbin"
MOUNTS+=(/usr/local/sbin)
# libmount records userspace options in /run/mount/utab: keep that private to the test too.
if [ -d /run/mount ]; then
	mkdir "$T/utab"
	mount --bind "$T/utab" /run/mount || fail "cannot bind a private /run/mount"
	MOUNTS+=(/run/mount)
fi

echo "from lower" > "$T/lower1/file"
echo "bottom" > "$T/lower2/bottom"
before=$(layer_fingerprint "$T/lower1"; layer_fingerprint "$T/lower2")

# Field 5 of /proc/self/mountinfo is the mountpoint, after " - " come fstype and source.
mount_line() { awk -v m="$1" '$5 == m' /proc/self/mountinfo; }
fstype_of() { mount_line "$1" | sed 's/.* - \([^ ]*\) .*/\1/'; }

# The live daemon serving MNT (detached, so not our child; a zombie counts as gone).
daemon_pids() {
	local p
	for p in $(pgrep -x antares-overlay || true); do
		tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF " $1 " || continue
		[ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
		echo "$p"
	done
}

# unmount_and_check MNT WHAT: umount must succeed and the daemon must be gone within 10 s.
unmount_and_check() {
	local mnt=$1 what=$2 pids
	pids=$(daemon_pids "$mnt")
	[ -n "$pids" ] || fail "$what: no antares-overlayd process serves $mnt"
	umount "$mnt" || fail "$what: umount $mnt failed"
	! mountpoint -q "$mnt" || fail "$what: $mnt still mounted after umount"
	for _ in $(seq 1 200); do
		[ -z "$(daemon_pids "$mnt")" ] && return 0
		sleep 0.05
	done
	fail "$what: antares-overlayd (pid $pids) still running 10 s after umount"
}

# --- 1. The plain form. ------------------------------------------------------------------------
mount -t fuse.antares-overlayd overlay "$M" -o "$OVL_OPTS" 2>"$T/mount1.err" ||
	{ cat "$T/mount1.err" >&2; fail "mount -t fuse.antares-overlayd failed"; }
MOUNTS+=("$M")
note "mountinfo: $(mount_line "$M")"
[ "$(fstype_of "$M")" = fuse.antares-overlayd ] || fail "fstype is '$(fstype_of "$M")', want fuse.antares-overlayd"
mount_line "$M" | grep -q ' - fuse.antares-overlayd overlay ' || fail "source is not 'overlay': $(mount_line "$M")"
[ "$(cat "$M/file")" = "from lower" ] && [ "$(cat "$M/bottom")" = bottom ] || fail "lower files not visible"
echo "written through mount(8)" > "$M/new" || fail "cannot create a file on the mount"
echo "appended" >> "$M/file" || fail "cannot append to a lower file"
[ "$(cat "$T/upper/new")" = "written through mount(8)" ] || fail "new file is not in the upper layer"
[ "$(cat "$T/upper/file")" = "$(printf 'from lower\nappended')" ] || fail "appended file not copied up correctly"
unmount_and_check "$M" "plain mount"

# --- 2. An fstab line with the options fstab entries usually carry. -----------------------------
# mount(8) drops the userspace ones (defaults, x-*, _netdev, nofail, comment=) or turns them
# into mount flags (nodev, nosuid, noatime); whatever reaches the daemon must be accepted.
fstab_opts="$OVL_OPTS,defaults,nodev,nosuid,noatime,x-systemd.automount,_netdev,nofail,comment=antares"
printf 'overlay %s fuse.antares-overlayd %s 0 0\n' "$M" "$fstab_opts" > "$T/fstab"
mount --fstab "$T/fstab" "$M" 2>"$T/mount2.err" ||
	{ cat "$T/mount2.err" >&2; fail "mount of the fstab entry failed ($fstab_opts)"; }
note "mountinfo: $(mount_line "$M")"
[ "$(fstype_of "$M")" = fuse.antares-overlayd ] || fail "fstab mount: fstype is '$(fstype_of "$M")'"
vfs_opts=$(mount_line "$M" | awk '{print $6}')
for o in nodev nosuid noatime; do
	case ",$vfs_opts," in *",$o,"*) ;; *) fail "fstab mount: '$o' not in the mount flags '$vfs_opts'" ;; esac
done
echo again > "$M/second" && [ "$(cat "$T/upper/second")" = again ] || fail "fstab mount: write did not reach the upper layer"
[ "$(cat "$M/new")" = "written through mount(8)" ] || fail "fstab mount: the first mount's file is gone"
unmount_and_check "$M" "fstab mount"

# --- 3. Read-only (mount -r, no upper layer). ---------------------------------------------------
mount -r -t fuse.antares-overlayd overlay "$M" -o "lowerdir=$T/lower1:$T/lower2" 2>"$T/mount3.err" ||
	{ cat "$T/mount3.err" >&2; fail "read-only mount failed"; }
mount_line "$M" | awk '{print $6}' | grep -q '^ro' || fail "mount -r: not read-only: $(mount_line "$M")"
[ "$(cat "$M/file")" = "from lower" ] || fail "mount -r: lower file not visible"
err=$( { echo x > "$M/ro-test"; } 2>&1 ) && fail "mount -r: writing succeeded"
case "$err" in *"Read-only file system"*) ;; *) fail "mount -r: write failed with '$err', want EROFS" ;; esac
unmount_and_check "$M" "read-only mount"

# --- 4. A refusal through the helper reaches the user, and nothing stays behind. ------------------
rc=0
mount -t fuse.antares-overlayd overlay "$M" -o "lowerdir=$T/missing,upperdir=$T/upper,workdir=$T/work" \
	2>"$T/mount4.err" || rc=$?
note "refused mount: exit $rc: $(cat "$T/mount4.err")"
[ "$rc" != 0 ] || fail "mount with a missing lowerdir succeeded"
grep -q "^antares-overlayd: lowerdir $T/missing: " "$T/mount4.err" || fail "the daemon's error line did not reach mount's stderr"
! mountpoint -q "$M" || fail "something is mounted after the refused mount"
[ -z "$(daemon_pids "$M")" ] || fail "a daemon is left after the refused mount"

after=$(layer_fingerprint "$T/lower1"; layer_fingerprint "$T/lower2")
[ "$before" = "$after" ] || fail "a lower layer changed"
