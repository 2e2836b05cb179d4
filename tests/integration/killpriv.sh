#!/bin/bash
# Setuid and setgid bits die as the VFS kills them: on a write or truncation by a caller
# without CAP_FSETID, and on any change of owner; setgid only when the group may execute. The
# daemon does it itself (FUSE_HANDLE_KILLPRIV_V2, negotiated around libfuse in devio.c), which
# spares the kernel's question for security.capability before every write: checked by
# counting those requests in the daemon's trace.
. "$(dirname "$0")/../lib.sh"
command -v setpriv >/dev/null || fail "setpriv is not installed (util-linux)"
make_layers
L=$T/lower1
# A caller like an ordinary user: the same uid, without CAP_FSETID.
nofsetid() { setpriv --bounding-set=-fsetid --inh-caps=-all -- "$@"; }

for f in w t o c r; do printf 'data\n' >"$L/$f"; chmod 4755 "$L/$f"; done
printf 'data\n' >"$L/g"; chmod 2775 "$L/g"    # setgid, group may execute: killed
printf 'data\n' >"$L/k"; chmod 2765 "$L/k"    # setgid for mandatory locking: kept
printf 'data\n' >"$L/plain"; chmod 0644 "$L/plain"
ovl_mount "$T/mnt" "$OVL_OPTS" -d
M=$T/mnt

mode() { stat -c %a "$1"; }
expect() { # expect FILE MODE WHAT
	[ "$(mode "$M/$1")" = "$2" ] || fail "$3: the mount shows mode $(mode "$M/$1"), want $2"
}

nofsetid sh -c "echo more >>'$M/w'"
expect w 755 "append without CAP_FSETID"
nofsetid truncate -s 2 "$M/t"
expect t 755 "truncate without CAP_FSETID"
nofsetid sh -c ": >'$M/o'"
expect o 755 "truncating open without CAP_FSETID"
chown "$(id -u):$(id -g)" "$M/c"
expect c 755 "chown"
nofsetid sh -c "echo more >>'$M/g'"
expect g 775 "append to a setgid, group-executable file"
nofsetid sh -c "echo more >>'$M/k'"
expect k 2765 "append to a setgid file the group may not execute"
# A caller with CAP_FSETID keeps the bits, as on any file system. (In a user namespace the
# FUSE kernel code asks for CAP_FSETID in the initial one, which nobody there has.)
r_mode=755
if is_root_mode; then r_mode=4755; fi
sh -c "echo more >>'$M/r'"
expect r $r_mode "append with CAP_FSETID"

# The kernel asks for security.capability at most once per file now, not once per write.
before=$(ovl_requests GETXATTR)
for i in $(seq 1 20); do echo "line $i" >>"$M/plain"; done
sync "$M/plain"
after=$(ovl_requests GETXATTR)
[ $((after - before)) -le 1 ] ||
	fail "20 appends cost $((after - before)) GETXATTR requests (the kernel still checks capabilities per write)"

ovl_umount "$T/mnt"
# The upper copies carry the same modes (nothing was only cached in the kernel).
for f in w:755 t:755 o:755 c:755 g:775 k:2765 r:$r_mode; do
	[ "$(mode "$T/upper/${f%%:*}")" = "${f#*:}" ] ||
		fail "upper ${f%%:*}: mode $(mode "$T/upper/${f%%:*}"), want ${f#*:}"
done
[ "$(mode "$L/w")" = 4755 ] || fail "the lower file's mode changed"

# The capability attribute goes on a write too (root mode: setting one needs CAP_SETFCAP on
# the host); the host kernel drops it from the upper copy when the daemon writes there.
if is_root_mode && command -v setcap >/dev/null; then
	printf 'data\n' >"$L/cap"
	ovl_mount "$T/mnt" "$OVL_OPTS"
	setcap cap_net_raw+ep "$M/cap" || fail "setcap through the mount failed"
	[ -n "$(getcap "$M/cap")" ] || fail "the capability did not stick"
	echo more >>"$M/cap"
	sync "$M/cap"
	[ -z "$(getcap "$M/cap")" ] || fail "a write left the capability: $(getcap "$M/cap")"
	ovl_umount "$T/mnt"
	[ -z "$(getcap "$T/upper/cap")" ] || fail "the upper copy kept its capability"
else
	note "capability part skipped: needs root mode and setcap (libcap2-bin)"
fi
true
