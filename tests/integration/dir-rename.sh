#!/bin/bash
# Renaming a lower directory of 1,000 files (merged from both layers, nested) with rename(2)
# succeeds (no EXDEV, no copy fallback) and keeps names, types, modes, contents and inode
# numbers, live and after a remount, with default options and with metacopy=on.
. "$(dirname "$0")/../lib.sh"
make_layers
L1=$T/lower1 L2=$T/lower2 M=$T/mnt
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null || skip "python3 is needed for a bare rename(2)"

# big/ is in both layers. Top: big/a0..a9/f00..f49 (500). Bottom: big/a0..a4/g00..g49 (250,
# merging into the top's a0..a4) and big/deep/x/y/z/h000..h249 (250). Extras: a name in both
# layers (the top one wins), a symlink, a lower file deleted before the rename (must stay
# deleted), a file appended to before the rename (already in the upper when it moves).
for a in 0 1 2 3 4 5 6 7 8 9; do
	mkdir -p "$L1/big/a$a"
	for f in $(seq -w 0 49); do echo "top $a/$f $RANDOM" >"$L1/big/a$a/f$f"; done
done
for a in 0 1 2 3 4; do
	mkdir -p "$L2/big/a$a"
	for f in $(seq -w 0 49); do echo "bottom $a/$f $RANDOM" >"$L2/big/a$a/g$f"; done
done
mkdir -p "$L2/big/deep/x/y/z"
for f in $(seq -w 0 249); do head -c $((RANDOM % 8192)) /dev/urandom >"$L2/big/deep/x/y/z/h$f"; done
echo "shared, top" >"$L1/big/shared"
echo "shared, bottom" >"$L2/big/shared"
ln -s a0/f00 "$L2/big/link"
echo "deleted before the rename" >"$L2/big/a1/gone"
chmod 0750 "$L1/big/a3"
chmod 0700 "$L2/big/deep/x"
n=$( (cd "$L1/big" && find . -type f ! -name shared; cd "$L2/big" && find . -type f ! -name shared ! -name gone) | wc -l)
[ "$n" = 1000 ] || fail "fixture: $n files, want 1000"
lower_before=$(for d in "$L1" "$L2"; do (cd "$d" && find . -printf '%P|%y|%m|%s|%n|%T@|%l\n' | sort &&
	find . -type f -print0 | sort -z | xargs -0 sha256sum); done)

# snapshot DIR OUT: "ino type mode path" of every object, plus "sha256 path" of every file.
snapshot() {
	(cd "$M/$1" && find . -printf '%i %y %m %P\n' | sort -k4 &&
		find . -type f -print0 | xargs -0 sha256sum | sort -k2) >"$2"
	[ "$(grep -c '^[0-9]* f ' "$2")" -ge 1000 ] || fail "snapshot of $1: fewer than 1000 files"
}
compare() {
	diff -u --label "big, before the rename" --label "$2" "$T/before.$variant" "$1" | head -30 >&2
	cmp -s "$T/before.$variant" "$1" || fail "$2: differs from big/ before the rename (names, modes, inodes or content)"
}

for variant in default metacopy; do
	rm -rf "$T/upper" "$T/work"
	mkdir "$T/upper" "$T/work"
	opts=$OVL_OPTS
	[ "$variant" = metacopy ] && opts+=",metacopy=on"
	TEST_NAME="dir-rename/$variant"

	ovl_mount "$M" "$opts"
	rm "$M/big/a1/gone"
	echo "appended before the rename" >>"$M/big/a2/f07"
	[ "$(cat "$M/big/shared")" = "shared, top" ] || fail "big/shared: the top layer's copy must win"
	snapshot big "$T/before.$variant"
	# A fresh mount for the rename: no page cache from the snapshot's reads hides where
	# the renamed files' data is read from.
	ovl_umount "$M"
	ovl_mount "$M" "$opts"

	t0=$(date +%s.%N)
	err=$("$PY" -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$M/big" "$M/renamed" 2>&1) ||
		fail "rename(2) of the lower directory big/ failed: $err"
	t1=$(date +%s.%N)
	note "$variant: rename(2) of big/ (1,000 files) took $(echo "$t1 - $t0" | bc) s"
	[ ! -e "$M/big" ] || fail "big/ still exists after the rename"
	snapshot renamed "$T/live.$variant"
	compare "$T/live.$variant" "renamed/, right after the rename"
	[ ! -e "$M/renamed/a1/gone" ] || fail "a file deleted before the rename came back in renamed/"
	# The old name is free, and a new directory there shows nothing of the lower big/.
	mkdir "$M/big"
	[ -z "$(ls -A "$M/big")" ] || fail "new big/ shows lower entries: $(ls -A "$M/big" | head -3 | tr '\n' ' ')"
	echo "fresh" >"$M/big/fresh"

	ovl_umount "$M"
	ovl_mount "$M" "$opts"
	snapshot renamed "$T/remount.$variant"
	compare "$T/remount.$variant" "renamed/, after a remount"
	[ "$(ls -A "$M/big")" = fresh ] || fail "after remount: big/ holds '$(ls -A "$M/big" | head -3 | tr '\n' ' ')', want only 'fresh'"
	ovl_umount "$M"
done

lower_after=$(for d in "$L1" "$L2"; do (cd "$d" && find . -printf '%P|%y|%m|%s|%n|%T@|%l\n' | sort &&
	find . -type f -print0 | sort -z | xargs -0 sha256sum); done)
[ "$lower_after" = "$lower_before" ] || fail "a lower layer was modified"
