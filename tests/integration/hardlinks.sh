#!/bin/bash
# Hard links: a lower file with 3 names (one dir, and another spread over two dirs): a write
# through one name shows under all three with one inode number and nlink 3, live and after a
# remount; unlink of a name gives nlink 2, `ln` of a new name on the mount nlink 3 again.
. "$(dirname "$0")/../lib.sh"
make_layers
L1=$T/lower1 L2=$T/lower2 M=$T/mnt

# g1: three names in one top-layer dir. g2: two names in x/ and one in y/ (bottom layer).
# g3: like g1, in the bottom layer, for the case where the other names are first looked up
# only after a remount. g4: three names, one unlinked before anything was copied up.
# Unrelated files beside them must keep their own inode numbers and nlink 1.
mkdir -p "$L1/g1" "$L2/x" "$L2/y" "$L2/g3" "$L2/g4"
echo "g1 lower" >"$L1/g1/a"; ln "$L1/g1/a" "$L1/g1/b"; ln "$L1/g1/a" "$L1/g1/c"
echo "g2 lower" >"$L2/x/p"; ln "$L2/x/p" "$L2/x/q"; ln "$L2/x/p" "$L2/y/r"
echo "g3 lower" >"$L2/g3/m"; ln "$L2/g3/m" "$L2/g3/n"; ln "$L2/g3/m" "$L2/g3/o"
echo "g4 lower" >"$L2/g4/u"; ln "$L2/g4/u" "$L2/g4/v"; ln "$L2/g4/u" "$L2/g4/w"
echo "single" >"$L1/g1/single"; echo "single" >"$L2/x/single"
[ "$(stat -c %h "$L1/g1/a" "$L2/x/p" "$L2/g3/m" "$L2/g4/u" | sort -u)" = 3 ] || fail "fixture: nlink is not 3"
lower_before=$(layer_fingerprint "$L1"; layer_fingerprint "$L2")

# check_group LABEL CONTENT NLINK NAME...: every name reads CONTENT and stats as one inode
# (the first name's number must also equal $want_ino[group] when set) with st_nlink NLINK.
declare -A want_ino
check_group() {
	local label=$1 content=$2 nlink=$3 group=$4 n got first=""
	shift 4
	for n in "$@"; do
		[ -f "$M/$n" ] || fail "$label: $n is missing"
		got=$(cat "$M/$n") || fail "$label: cannot read $n"
		[ "$got" = "$content" ] || fail "$label: $n reads '$got', want '$content'"
		read -r ino links < <(stat -c '%i %h' "$M/$n")
		[ "$links" = "$nlink" ] || fail "$label: $n has nlink $links, want $nlink"
		[ -z "$first" ] && first=$ino
		[ "$ino" = "$first" ] || fail "$label: $n has inode $ino, $1 has $first: not one inode"
	done
	if [ -n "${want_ino[$group]:-}" ]; then
		[ "$first" = "${want_ino[$group]}" ] ||
			fail "$label: $group's inode number is $first, was ${want_ino[$group]} before"
	else
		want_ino[$group]=$first
	fi
}
check_singles() {
	local s
	for s in g1/single x/single; do
		read -r ino links < <(stat -c '%i %h' "$M/$s")
		[ "$links" = 1 ] || fail "$1: $s has nlink $links, want 1"
		[ "$ino" != "${want_ino[g1]:-}" ] && [ "$ino" != "${want_ino[g2]:-}" ] &&
			[ "$ino" != "${want_ino[g3]:-}" ] || fail "$1: $s shares inode $ino with a hard-link group"
	done
}
# Each scenario runs twice: with the default options (the kernel caches entries and
# attributes for long, as users see it) and with timeout=0 (every stat asks the daemon).
scenario() {
	local opts=$1 g2new
	want_ino=()
	rm -rf "$T/upper" "$T/work"
	mkdir "$T/upper" "$T/work"

	ovl_mount "$M" "$opts"
	check_group "before any write" "g1 lower" 3 g1 g1/a g1/b g1/c
	check_group "before any write" "g3 lower" 3 g3 g3/m g3/n g3/o
	check_singles "before any write"

	# --- g1: names looked up before the write; overwrite through b.
	printf 'g1 new\n' >"$M/g1/b"
	check_group "g1 after writing b" "g1 new" 3 g1 g1/a g1/b g1/c

	# --- g2: the other names are not looked up before the write; append through y/r.
	echo "g2 appended" >>"$M/y/r"
	check_group "g2 after appending to y/r" "$(printf 'g2 lower\ng2 appended')" 3 g2 y/r x/p x/q

	# --- g3: write through m, then unmount before n and o are ever looked up.
	echo "g3 new" >"$M/g3/m"
	check_singles "after the writes"
	ovl_umount "$M"
	[ "$(cat "$L1/g1/a")" = "g1 lower" ] && [ "$(cat "$L2/x/p")" = "g2 lower" ] &&
		[ "$(cat "$L2/g3/n")" = "g3 lower" ] || fail "a write went through to a lower layer"

	ovl_mount "$M" "$opts"
	check_group "g3 after remount (n, o first looked up now)" "g3 new" 3 g3 g3/n g3/o g3/m
	check_group "g1 after remount" "g1 new" 3 g1 g1/c g1/a g1/b
	check_group "g2 after remount" "$(printf 'g2 lower\ng2 appended')" 3 g2 x/p y/r x/q
	check_singles "after remount"

	# --- unlink one name: the other two show nlink 2; the name is gone.
	rm "$M/g1/a" "$M/x/q"
	[ ! -e "$M/g1/a" ] && [ ! -e "$M/x/q" ] || fail "unlinked names still exist"
	check_group "g1 after rm a" "g1 new" 2 g1 g1/b g1/c
	check_group "g2 after rm x/q" "$(printf 'g2 lower\ng2 appended')" 2 g2 x/p y/r
	# g3: unlink a name that was never looked up in this mount.
	rm "$M/g3/o"
	check_group "g3 after rm o" "g3 new" 2 g3 g3/m g3/n
	# g4: unlink a name of a group nothing was copied up from yet (the lower file still
	# says nlink 3), then link a new name to it.
	rm "$M/g4/u"
	check_group "g4 after rm u (nothing copied up before)" "g4 lower" 2 g4 g4/v g4/w
	ln "$M/g4/v" "$M/g4/z"
	check_group "g4 after rm u, ln v z" "g4 lower" 3 g4 g4/v g4/w g4/z

	# --- ln a new name on the mount (same dir, and a new dir): nlink goes up.
	ln "$M/g1/b" "$M/g1/d"
	check_group "g1 after ln b d" "g1 new" 3 g1 g1/b g1/c g1/d
	mkdir "$M/newdir"
	ln "$M/y/r" "$M/newdir/s"
	ln "$M/g3/n" "$M/g3/o2"
	check_group "g2 after ln y/r newdir/s" "$(printf 'g2 lower\ng2 appended')" 3 g2 x/p y/r newdir/s
	check_group "g3 after ln n o2" "g3 new" 3 g3 g3/m g3/n g3/o2
	# A write through the new name shows under the old ones.
	echo "via s" >>"$M/newdir/s"
	g2new=$(printf 'g2 lower\ng2 appended\nvia s')
	check_group "g2 after appending via newdir/s" "$g2new" 3 g2 x/p y/r newdir/s

	ovl_umount "$M"
	ovl_mount "$M" "$opts"
	for n in g1/a x/q g3/o g4/u; do [ ! -e "$M/$n" ] || fail "after remount: unlinked $n is back"; done
	check_group "g1 at the end, after remount" "g1 new" 3 g1 g1/d g1/c g1/b
	check_group "g2 at the end, after remount" "$g2new" 3 g2 newdir/s y/r x/p
	check_group "g3 at the end, after remount" "g3 new" 3 g3 g3/o2 g3/n g3/m
	check_group "g4 at the end, after remount" "g4 lower" 3 g4 g4/w g4/z g4/v
	echo "g4 appended" >>"$M/g4/w"
	check_group "g4 after appending via w" "$(printf 'g4 lower\ng4 appended')" 3 g4 g4/v g4/w g4/z
	check_singles "at the end, after remount"
	ovl_umount "$M"
}

TEST_NAME=hardlinks/default
scenario "$OVL_OPTS"
TEST_NAME=hardlinks/timeout=0
scenario "$OVL_OPTS,timeout=0"

lower_after=$(layer_fingerprint "$L1"; layer_fingerprint "$L2")
[ "$lower_after" = "$lower_before" ] || fail "a lower layer was modified"
