#!/bin/bash
# Oracle test: one scripted sequence of file and namespace operations runs on kernel overlayfs
# and on antares-overlayd over identical layers. The merged trees must be identical, both live
# and after a remount from the upper layers, and neither side may modify a lower layer.
. "$(dirname "$0")/../lib.sh"

# Two lower layers, lower1 on top. Names present in both layers make merging and shadowing
# matter: shared.txt/dup.txt (top shadows bottom), both/ and mvdir/ (merged directories, and
# the top mode 0755 must win over the bottom 0700), kind (a top file over a bottom directory).
make_fixture() {
	local l1=$1/lower1 l2=$1/lower2
	mkdir -p "$l1/both/sub" "$l1/rmme" "$l1/mvdir" "$l1/empty" "$l1/perm" \
		"$l2/both/sub" "$l2/rmme/deep" "$l2/mvdir/sub" "$l2/kind" "$l2/gonedir"
	echo "shared, top layer" >"$l1/shared.txt"
	echo "shared, bottom layer (longer)" >"$l2/shared.txt"
	echo "dup top" >"$l1/dup.txt"
	echo "dup bottom" >"$l2/dup.txt"
	echo "only in top" >"$l1/only1.txt"
	echo "only in bottom" >"$l2/only2.txt"
	echo "to be renamed" >"$l2/old.txt"
	echo "victim, replaces target" >"$l1/victim.txt"
	echo "target, gets replaced" >"$l2/target.txt"
	printf '#!/bin/sh\necho hi\n' >"$l1/run.sh"
	echo "top file hiding a bottom dir" >"$l1/kind"
	echo "must stay hidden" >"$l2/kind/inner"
	echo "from top" >"$l1/both/from1.txt"
	echo "from bottom" >"$l2/both/from2.txt"
	echo "same, top" >"$l1/both/same.txt"
	echo "same, bottom" >"$l2/both/same.txt"
	echo "deep top" >"$l1/both/sub/deep1.txt"
	echo "deep bottom" >"$l2/both/sub/deep2.txt"
	echo a >"$l1/rmme/a"
	echo b >"$l2/rmme/b"
	echo c >"$l2/rmme/deep/c"
	echo x >"$l1/mvdir/x"
	echo y >"$l2/mvdir/y"
	echo z >"$l2/mvdir/sub/z"
	echo "deleted before the rename" >"$l2/mvdir/gone"
	echo "must stay hidden" >"$l2/gonedir/old"
	ln -s shared.txt "$l1/link"
	ln -s ../only2.txt "$l2/both/uplink"
	chmod 0755 "$l1/run.sh" "$l1/both" "$l1/mvdir"
	chmod 0700 "$l2/both" "$l2/mvdir"
	chmod 0750 "$l1/perm"
	chmod 0640 "$l2/only2.txt"
}

# The scripted sequence, run with the mount as the working directory so that both sides see
# the same relative paths. `mv` (not a bare rename(2)) is used on directories because kernel
# overlayfs without redirect_dir answers EXDEV for merged/lower directories and mv then copies;
# the resulting merged tree is what is compared. Any failing step fails the test.
ops() {
	cd "$1"
	trap 'fail "step failed on $2: $BASH_COMMAND"' ERR
	# Create new files and directories, in the root and inside a merged directory.
	echo new >new.txt
	mkdir -p fresh/inner
	echo f >fresh/inner/f
	printf abc >both/created.txt
	# Append to lower files of each layer; deep2.txt needs its merged parents copied up first.
	echo appended >>shared.txt
	echo appended >>only2.txt
	echo appended >>both/sub/deep2.txt
	# chmod lower files and directories (a top-only dir and a merged one).
	chmod 0600 only1.txt
	chmod 0711 run.sh perm both/sub
	# Truncate a lower file down, and another one up (sparse extension).
	truncate -s 4 both/same.txt
	truncate -s 100 only1.txt
	# Rename a lower file to a new name, and a top file over an existing bottom file.
	mv old.txt renamed.txt
	mv -f victim.txt target.txt
	# Unlink lower files: top only, bottom only, and a name present in both layers.
	rm both/from1.txt both/from2.txt dup.txt
	# Create a file over the whiteout just made: only the new content may show.
	echo "dup recreated" >dup.txt
	# Empty a merged directory (entries from both layers, a nested bottom dir), then rmdir it.
	rm rmme/a rmme/b rmme/deep/c
	rmdir rmme/deep rmme
	# mkdir over that whiteout: the new directory must be empty, no lower entry may reappear.
	mkdir rmme
	echo "a again" >rmme/a
	# Replace the top file "kind" by a directory: the bottom kind/inner must stay hidden.
	rm kind
	mkdir kind
	# Rename a merged lower directory with content (and a whited-out entry that must not come
	# back), then use it and reuse its old name.
	rm mvdir/gone
	mv mvdir moved
	echo inside >moved/new.txt
	echo more >>moved/sub/z
	mkdir mvdir
	# Rename a directory created on the mount, then move it and a lower dir into other dirs.
	mv fresh fresh2
	mv fresh2 both/
	mv empty both/sub/
	# Rename a new directory onto the whiteout of a lower one: gonedir/old must stay hidden.
	rm -r gonedir
	mkdir newdir
	mv newdir gonedir
	# Symlink and hard link; the append through the link must show under both names.
	ln -s ../shared.txt both/link2
	ln only2.txt hard.txt
	echo "via hard link" >>hard.txt
}

SIDES="k a" # k = kernel overlayfs (the oracle), a = antares-overlayd
make_fixture "$T/k"
for s in $SIDES; do
	mkdir -p "$T/$s/upper" "$T/$s/work" "$T/$s/mnt"
	[ "$s" = k ] || cp -a "$T/k/lower1" "$T/k/lower2" "$T/$s/"
	eval "before_$s=\$(layer_fingerprint \"$T/$s/lower1\"; layer_fingerprint \"$T/$s/lower2\")"
done
[ "$before_k" = "$before_a" ] || fail "the two fixture copies differ"

opts_for() { echo "lowerdir=$T/$1/lower1:$T/$1/lower2,upperdir=$T/$1/upper,workdir=$T/$1/work"; }
# Kernel overlayfs in a user namespace must keep its metadata in user.* xattrs.
KOPTS=$(opts_for k)
is_root_mode || KOPTS="$KOPTS,userxattr"
mount_both() {
	mount -t overlay overlay -o "$KOPTS" "$T/k/mnt" ||
		skip "kernel overlayfs cannot be mounted here (needed as the oracle)"
	MOUNTS+=("$T/k/mnt")
	ovl_mount "$T/a/mnt" "$(opts_for a)"
}
umount_both() {
	umount "$T/k/mnt" || fail "cannot unmount the kernel overlay"
	ovl_umount "$T/a/mnt"
}

# compare LABEL: snapshot both mounts; kernel overlayfs is '-', antares '+' in the diff.
compare() {
	tree_snapshot "$T/k/mnt" >"$T/k.$1"
	tree_snapshot "$T/a/mnt" >"$T/a.$1"
	[ -s "$T/k.$1" ] || fail "$1: empty snapshot of the kernel overlay"
	diff -u --label "kernel/$1" --label "antares/$1" "$T/k.$1" "$T/a.$1" >&2 ||
		fail "$1: merged trees differ (- kernel overlayfs, + antares-overlayd)"
}

mount_both
compare initial
(ops "$T/k/mnt" "kernel overlayfs")
(ops "$T/a/mnt" antares-overlayd)
compare live

# The upper layers alone (plus the unchanged lowers) must rebuild the same merged tree.
umount_both
mount_both
compare remount
cmp -s "$T/k.live" "$T/k.remount" || fail "kernel overlayfs changed across remount (test bug?)"
umount_both

for s in $SIDES; do
	after=$(layer_fingerprint "$T/$s/lower1"; layer_fingerprint "$T/$s/lower2")
	[ "$after" = "$before_k" ] || fail "a lower layer changed under $s"
done
