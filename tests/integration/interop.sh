#!/bin/bash
# Interop both ways with kernel overlayfs (and fuse-overlayfs when installed): an upper layer
# written by one implementation, mounted by another (as upper, and as an extra top lower),
# shows the same names, types, modes, sizes and content hashes as the writer showed live.
. "$(dirname "$0")/../lib.sh"
make_layers
L1=$T/lower1 L2=$T/lower2

# Both layers have names that make merging matter: mixed/ and mvdir/ are merged dirs, dup.txt
# is in both, rmdir2/ and gone2/ are bottom-only trees, empty/ is an empty top dir.
mkdir -p "$L1/dir1" "$L1/mixed" "$L1/mvdir" "$L1/empty" \
	"$L2/mixed/sub" "$L2/mvdir/sub" "$L2/rmdir2/deep" "$L2/gone2"
echo keep >"$L1/keep.txt"
echo "append me (top)" >"$L1/app1.txt"
echo "remove me (top)" >"$L1/rm1.txt"
echo "dup top" >"$L1/dup.txt"
echo a >"$L1/dir1/a"
echo b >"$L1/dir1/b"
echo t1 >"$L1/mixed/t1"
echo x >"$L1/mvdir/x"
echo "append me (bottom)" >"$L2/app2.txt"
echo "remove me (bottom)" >"$L2/rm2.txt"
echo "dup bottom" >"$L2/dup.txt"
echo b1 >"$L2/mixed/b1"
echo b2 >"$L2/mixed/sub/b2"
echo y >"$L2/mvdir/y"
echo z >"$L2/mvdir/sub/z"
echo "gone before the rename" >"$L2/mvdir/gone"
echo c >"$L2/rmdir2/deep/c"
echo d >"$L2/rmdir2/d"
echo old >"$L2/gone2/old"
ln -s app2.txt "$L2/lnk"
chmod 0755 "$L1/mixed" "$L1/mvdir"
chmod 0700 "$L2/mixed" "$L2/mvdir"
chmod 0640 "$L2/app2.txt"
lower_before=$(layer_fingerprint "$L1"; layer_fingerprint "$L2")

# The workload, run inside the mount. `mv` for the lower directory: antares renames it, kernel
# overlayfs without redirect_dir answers EXDEV and mv copies; the resulting tree is the same.
workload() {
	cd "$1"
	trap 'fail "workload step failed on $2: $BASH_COMMAND"' ERR
	echo new >new.txt                       # create
	mkdir -p fresh/inner
	echo f >fresh/inner/f
	printf abc >mixed/created
	echo more >>app1.txt                    # append to lower files of both layers
	echo more >>app2.txt
	echo more >>mixed/sub/b2
	rm rm1.txt rm2.txt mixed/b1 dup.txt     # delete lower files
	echo "dup recreated" >dup.txt           # a file over a whiteout
	rm -r dir1 rmdir2 gone2                 # delete lower dirs (top, bottom, nested)
	rmdir empty                             # rmdir
	mkdir rmdir2 dir1                       # mkdir over whiteouts: must come up empty
	echo again >rmdir2/again
	rm mvdir/gone                           # rename a merged lower dir with a deleted entry
	mv mvdir moved
	echo inside >moved/new
	chmod 0600 keep.txt                     # chmod files and dirs, lower and new
	chmod 0711 mixed moved/sub
	chmod 0750 fresh
	ln -s keep.txt newlink                  # symlinks
	ln -s ../app2.txt mixed/uplink
}

# Mounting the three implementations. Each mount gets a fresh work directory.
KUSERX=""
is_root_mode || KUSERX=",userxattr"
fresh_work() { local w; w=$(mktemp -d "$T/work.XXXX"); echo "$w"; }
mount_kernel() { # mount_kernel MNT OPTS
	mount -t overlay overlay -o "$2$KUSERX" "$1" || fail "kernel overlayfs refused: -o $2$KUSERX"
	MOUNTS+=("$1")
}
umount_kernel() { umount "$1" || fail "cannot unmount kernel overlayfs at $1"; }
HAVE_FOV=""
command -v fuse-overlayfs >/dev/null && HAVE_FOV=1
mount_fov() { # mount_fov MNT OPTS
	fuse-overlayfs -f -o "$2" "$1" 2>>"$T/fuse-overlayfs.log" &
	local pid=$! i
	DAEMON_PIDS+=("$pid")
	MOUNTS+=("$1")
	for i in $(seq 1 200); do
		mountpoint -q "$1" && { FOV_PID=$pid; return 0; }
		kill -0 "$pid" 2>/dev/null || { cat "$T/fuse-overlayfs.log" >&2; fail "fuse-overlayfs did not mount: -o $2"; }
		sleep 0.05
	done
	fail "fuse-overlayfs mount of $1 did not appear"
}
umount_fov() {
	umount "$1" || fusermount3 -u "$1" || fail "cannot unmount fuse-overlayfs at $1"
	wait "$FOV_PID" 2>/dev/null || true
}
# mount_any IMPL MNT UPPER-OR-EMPTY LOWERS: read-write over UPPER, or read-only over LOWERS.
mount_any() {
	local impl=$1 mnt=$2 up=$3 lowers=$4 opts
	mkdir -p "$mnt"
	if [ -n "$up" ]; then opts="lowerdir=$lowers,upperdir=$up,workdir=$(fresh_work)"; else opts="lowerdir=$lowers"; fi
	case $impl in
	kernel) mount_kernel "$mnt" "$opts" ;;
	fuse-overlayfs) mount_fov "$mnt" "$opts" ;;
	antares) ovl_mount "$mnt" "$opts" ;;
	esac
}
umount_any() {
	case $1 in
	kernel) umount_kernel "$2" ;;
	fuse-overlayfs) umount_fov "$2" ;;
	antares) ovl_umount "$2" ;;
	esac
}

# check IMPL UPPER REF LABEL: IMPL over UPPER (as upper, then as the top lower of a read-only
# stack) must show the tree REF.
check() {
	local impl=$1 up=$2 ref=$3 label=$4 how mnt
	for how in upper lower; do
		mnt=$T/m-$impl-$how-$(basename "$up")
		if [ "$how" = upper ]; then
			mount_any "$impl" "$mnt" "$up" "$L1:$L2"
		else
			mount_any "$impl" "$mnt" "" "$up:$L1:$L2"
		fi
		tree_snapshot "$mnt" >"$mnt.snap" || echo "(tree_snapshot failed)" >>"$mnt.snap"
		umount_any "$impl" "$mnt"
		if diff -u --label "$label" --label "$impl, its upper as $how layer" "$ref" "$mnt.snap" >&2; then
			note "ok: $label -> $impl (as $how layer)"
		else
			note "MISMATCH: $label -> $impl (as $how layer) (diff above: - written, + read)"
			FAILED+=("$label, mounted by $impl with it as $how layer")
		fi
	done
}
FAILED=()

IMPLS="antares kernel"
[ -n "$HAVE_FOV" ] && IMPLS+=" fuse-overlayfs" || note "fuse-overlayfs not installed: kernel overlayfs only"
# Kernel overlayfs must work here at all; in rootless mode it needs a kernel that allows it
# in a user namespace (5.11+) with userxattr.
mkdir -p "$T/probe" "$T/probe-w" "$T/probe-u"
mount -t overlay overlay -o "lowerdir=$L1:$L2,upperdir=$T/probe-u,workdir=$T/probe-w$KUSERX" "$T/probe" 2>/dev/null ||
	skip "kernel overlayfs cannot be mounted here"
umount "$T/probe"

for writer in $IMPLS; do
	up=$T/upper-$writer
	mkdir -p "$up"
	mnt=$T/m-$writer-writer
	mount_any "$writer" "$mnt" "$up" "$L1:$L2"
	(workload "$mnt" "$writer")
	tree_snapshot "$mnt" >"$T/ref-$writer"
	umount_any "$writer" "$mnt"
	[ -s "$T/ref-$writer" ] || fail "empty snapshot of $writer's mount"
	# The workload must give the same tree everywhere (the oracle test checks this in depth).
	[ "$writer" = antares ] || diff -u --label "antares" --label "$writer" "$T/ref-antares" "$T/ref-$writer" >&2 ||
		fail "the workload gives a different tree on $writer than on antares"
	for reader in $IMPLS; do
		# Direction A: antares wrote, the others read. Direction B: the others wrote, antares reads.
		[ "$writer" = antares ] || [ "$reader" = antares ] || continue
		check "$reader" "$up" "$T/ref-$writer" "upper written by $writer"
	done
	# The other implementations mounted antares' upper read-write: antares must still agree.
	[ "$writer" != antares ] || check antares "$up" "$T/ref-antares" "upper written by antares, after the others mounted it"
done

[ ${#FAILED[@]} = 0 ] || fail "trees differ for: $(printf '%s; ' "${FAILED[@]}")"
lower_after=$(layer_fingerprint "$L1"; layer_fingerprint "$L2")
[ "$lower_after" = "$lower_before" ] || fail "a lower layer was modified"
