#!/bin/bash
# Stat propagation: lower objects with odd modes, several owners, nanosecond times, xattrs, an
# ACL, a sparse 1 GiB file, a symlink and a fifo keep every field but ctime through a copy-up
# that changes nothing, both right away and after a remount; the sparse copy stays sparse.
. "$(dirname "$0")/../lib.sh"
make_layers
L=$T/lower2 M=$T/mnt

# Owners: real ids in root mode. Rootless, only uid/gid 0 (our own) can be given inside the
# namespace, so there the "other owner" is a host file bind-mounted into the lower: it shows
# as 65534 and its copy-up must keep that owner in the override xattr.
if is_root_mode; then A=1234:5678 B=4321:5678 C=4321:4321 AU=1234 AG=5678; else
	A=0:0 B=0:0 C=0:0 AU=0 AG=0; fi
# chown before chmod: chown clears the setuid bit.
printf 'setuid\n' >"$L/suid"; chown "$A" "$L/suid"; chmod 4755 "$L/suid"
printf 'nothing\n' >"$L/nothing"; chmod 0000 "$L/nothing"
printf 'acl\n' >"$L/acl"; chown "$B" "$L/acl"; chmod 0640 "$L/acl"
setfacl -m "u:$AU:rwx,g:$AG:r" "$L/acl"
mkdir "$L/sticky"; echo child >"$L/sticky/child"; chown "$A" "$L/sticky"; chmod 1777 "$L/sticky"
truncate -s 1G "$L/sparse"; chown "$C" "$L/sparse"
for off in 0 $((512 << 20)) $(((1 << 30) - 4096)); do
	printf 'data@%s' "$off" | dd of="$L/sparse" bs=1 seek="$off" conv=notrunc status=none
done
ln -s suid "$L/link"; chown -h "$C" "$L/link"
mkfifo -m 0620 "$L/fifo"; chown "$B" "$L/fifo"
for o in suid nothing acl sticky sparse; do setfattr -n user.note -v "lower $o" "$L/$o"; done
OBJS="suid nothing acl sticky sparse link fifo"
if ! is_root_mode; then
	mkdir "$L/wrap"; touch "$L/wrap/foreign"
	mount --bind "$TESTS_DIR/lib.sh" "$L/wrap/foreign"; MOUNTS+=("$L/wrap/foreign")
	OBJS+=" wrap/foreign"
fi
modes=$(stat -c %a "$L/suid" "$L/sticky" "$L/nothing" | tr '\n' ' ')
[ "$modes" = "4755 1777 0 " ] || fail "fixture: modes are $modes, want 4755 1777 0"
sparse_sum=$(sha256sum <"$L/sparse")
# Times last (every step above moves them), each with its own nanoseconds. atime lies in the
# future: relatime then never updates it, so reads (the daemon's copy-up reads included)
# leave it as set and an exact comparison is fair.
i=0
for o in $OBJS; do
	[ "$o" = wrap/foreign ] && continue # a host file: its times are whatever they are
	i=$((i + 1))
	touch -h -m -d "@$((1000000000 + i * 86400)).12345678$i" "$L/$o"
	touch -h -a -d "@$((4070000000 + i)).98765432$i" "$L/$o"
done

# fields PATH: one "key value" line per compared field; ctime is listed but compared only
# where nothing may have changed. Blocks (%b) are an allocation detail (the copy carries
# extra overlay xattrs, which may take an xattr block) and are checked for the sparse file
# alone; birth time cannot be copied; device and inode numbers belong to the overlay.
fields() {
	stat -c $'type %F\nmode %a\nuid %u\ngid %g\nsize %s\nnlink %h\nrdev %t:%T\natime %.9X\nmtime %.9Y\nctime %.9Z' -- "$1"
	if [ -L "$1" ]; then echo "target $(readlink -- "$1")"; else
		getfacl -c -n -p -- "$1" | sed -n 's/^\(.*\):\([^:]*\)$/acl:\1 \2/p'; fi
	getfattr -h -d -m - -e hex --absolute-names -- "$1" 2>/dev/null |
		sed -n 's/^\([^#][^=]*\)=\(.*\)$/xattr:\1 \2/p' | grep -v '^xattr:user\.touch ' || true
}

# check WHAT OBJ WANT GOT [SKIP-KEY]: fail naming every differing field with both values.
check() {
	local -A w=() g=()
	local k v msg=""
	while read -r k v; do w[$k]=$v; done <<<"$3"
	while read -r k v; do g[$k]=$v; done <<<"$4"
	for k in $(printf '%s\n' "${!w[@]}" "${!g[@]}" | sort -u); do
		[ "$k" = "${5:-}" ] && continue
		[ "${w[$k]-(absent)}" = "${g[$k]-(absent)}" ] ||
			msg+=" $k: lower '${w[$k]-(absent)}', $1 '${g[$k]-(absent)}';"
	done
	[ -z "$msg" ] || fail "$2: $1 differs from the lower:$msg"
}

declare -A want ino
for o in $OBJS; do want[$o]=$(fields "$L/$o"); done

# First mount without attribute caching, so the stats right after copy-up come from the daemon.
# writeback=1: the daemon sees opens, so an open for appending copies up (with writeback=0
# the kernel opens files alone and the first write copies up: open-files.sh).
ovl_mount "$M" "$OVL_OPTS,timeout=0,writeback=1"
for o in $OBJS; do
	check "merged view before copy-up" "$o" "${want[$o]}" "$(fields "$M/$o")"
	ino[$o]=$(stat -c %i "$M/$o")
done
# Copy-up triggers that change no compared field: an append open without a write and a new
# user xattr (left out of the comparison) for files and the directory; a hard link, removed
# again, for the symlink and the fifo (unlike chown or touch it rewrites no field, so a wrong
# owner or time in the copy cannot be masked). Rootless, the host file can be neither written
# nor renamed (the kernel refuses to unlink an inode whose owner is unmapped: EOVERFLOW), so it
# is copied up by renaming its parent directory, which copies the whole tree.
for o in suid nothing sparse; do : >>"$M/$o" || fail "$o: append open failed"; done
for o in acl sticky; do setfattr -n user.touch -v 1 "$M/$o" || fail "$o: setfattr failed"; done
for o in link fifo; do
	ln -P "$M/$o" "$M/$o.hardlink" && rm "$M/$o.hardlink" || fail "$o: hard link failed"
done
name() { echo "${1/#wrap\//wrap.moved/}"; }
is_root_mode || mv "$M/wrap" "$M/wrap.moved" || fail "wrap: rename failed"

for o in $OBJS; do
	stat "$T/upper/$(name "$o")" >/dev/null 2>&1 || fail "$o was not copied up to the upper layer"
done
if ! is_root_mode; then
	ov=$(getfattr --absolute-names --only-values -n user.containers.override_stat \
		"$T/upper/wrap.moved/foreign" 2>/dev/null) || ov="(none)"
	exp=$(stat -c '%u:%g:0%a' "$L/wrap/foreign")
	[ "$ov" = "$exp" ] || fail "foreign: override xattr on the upper copy is '$ov', want '$exp'"
fi
blocks=$(stat -c %b "$T/upper/sparse")
[ "$blocks" -lt 2048 ] || fail "sparse: upper copy allocates $blocks 512-byte blocks, want < 2048 (1 MiB)"

# After copy-up every field but ctime must equal the lower's, and the object keeps its inode
# number. Then again after a remount, where the daemon rebuilds owners from the upper layer
# alone. (Inode numbers across a remount are not this test's subject: rootless, a symlink
# cannot carry the origin xattr, user.* xattrs being refused on symlinks.)
for o in $OBJS; do
	check "merged view after copy-up" "$o" "${want[$o]}" "$(fields "$M/$(name "$o")")" ctime
	n=$(stat -c %i "$M/$(name "$o")")
	[ "$n" = "${ino[$o]}" ] || fail "$o: inode number after copy-up is $n, was ${ino[$o]}"
done
ovl_umount "$M"
ovl_mount "$M" "$OVL_OPTS"
for o in $OBJS; do
	check "merged view after remount" "$o" "${want[$o]}" "$(fields "$M/$(name "$o")")" ctime
done
[ "$(sha256sum <"$M/sparse")" = "$sparse_sum" ] || fail "sparse: content checksum differs after copy-up"
[ "$(stat -c %b "$T/upper/sparse")" = "$blocks" ] || fail "sparse: reading the copy changed its allocation"
ovl_umount "$M"

# The lower layer is read-only to the overlay: not even a ctime may have moved.
for o in $OBJS; do check "lower layer after the test" "$o" "${want[$o]}" "$(fields "$L/$o")"; done
