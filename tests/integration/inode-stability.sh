#!/bin/bash
# Inode stability: 1,000 lower files (both layers, nested and merged dirs) and their dirs keep
# st_ino across copy-up (append, chmod, touch) and across a remount, with and without
# metacopy=on; the whole mount never shows one number for objects that are not hard links.
. "$(dirname "$0")/../lib.sh"
make_layers
L1=$T/lower1 L2=$T/lower2 M=$T/mnt

# 1,000 visible files: 480 + 480 in directories merged from both layers (d*/s*), 20 in a
# top-only dir, 20 in a deep bottom-only dir. Extras: names in lower2 shadowed by lower1, five
# 3-link hard-link groups spread over two dirs, and symlinks.
for d in 0 1 2 3 4 5 6 7 8 9; do
	for s in 0 1 2 3; do
		mkdir -p "$L1/d$d/s$s" "$L2/d$d/s$s"
		for f in 00 01 02 03 04 05 06 07 08 09 10 11; do
			echo "top $d/$s/$f" >"$L1/d$d/s$s/a$f"
			echo "bottom $d/$s/$f" >"$L2/d$d/s$s/b$f"
		done
	done
done
mkdir -p "$L1/top1" "$L2/deep/1/2/3/4" "$L2/links"
for i in $(seq 0 19); do
	echo "top-only $i" >"$L1/top1/x$i"
	echo "deep $i" >"$L2/deep/1/2/3/4/y$i"
done
for f in 00 01 02 03 04; do echo "shadowed, must stay hidden" >"$L2/d0/s0/a$f"; done
for i in 0 1 2 3 4; do
	echo "linked $i" >"$L2/links/h$i"
	ln "$L2/links/h$i" "$L2/links/h$i.b"
	ln "$L2/links/h$i" "$L2/deep/1/hl$i"
	ln -s "h$i" "$L2/links/sym$i"
done
nfiles=$(cd "$L1" && find . -type f | wc -l)
nfiles=$((nfiles + $(cd "$L2" && find . -type f ! -path './links/*' ! -name 'hl*' ! -path './d0/s0/a0[0-4]' | wc -l)))
[ "$nfiles" = 1000 ] || fail "fixture: $nfiles visible plain lower files, want 1000"
# The objects that must share an inode number: exactly the lower hard-link groups.
for i in 0 1 2 3 4; do echo "deep/1/hl$i links/h$i links/h$i.b"; done | sort >"$T/links.want"
# A cheap layer_fingerprint (one stat per object would take ~10 s here): metadata, content
# hashes and xattrs of both lower layers.
fingerprint() {
	local d
	for d in "$L1" "$L2"; do
		(cd "$d" && find . -printf '%P|%y|%m|%s|%U:%G|%n|%T@|%l\n' | sort &&
			find . -type f -print0 | sort -z | xargs -0 -r sha256sum &&
			{ getfattr -R -h -d -m - --absolute-names . 2>/dev/null || true; })
	done
}
lower_before=$(fingerprint)

# inodes FILE: "ino path" for every object on the mount (root included), sorted by path.
inodes() {
	(cd "$M" && find . -print0 | xargs -0 stat -c '%i %n') | sort -k2 >"$1"
	[ "$(wc -l <"$1")" -gt 1000 ] || fail "$1: only $(wc -l <"$1") objects listed"
}

# check_links LABEL: `find -printf '%i %p'` over the whole mount; a number shared by several
# paths must belong to exactly one lower hard-link group, and every group must share one.
check_links() {
	(cd "$M" && find . -mindepth 1 -printf '%i %P\n') >"$T/find.$1"
	awk '{ n[$1]++; p[$1] = p[$1] " " $2 }
	     END { for (i in n) if (n[i] > 1) print i p[i] }' "$T/find.$1" |
		while read -r _ paths; do echo "$paths" | tr ' ' '\n' | sort | tr '\n' ' ' |
			sed 's/ $//'; echo; done | sort >"$T/links.$1"
	diff -u --label "want (lower hard links)" --label "got ($1)" "$T/links.want" "$T/links.$1" >&2 ||
		fail "$1: objects sharing an inode number are not exactly the lower hard links"
}

for variant in default metacopy; do
	rm -rf "$T/upper" "$T/work"
	mkdir "$T/upper" "$T/work"
	opts=$OVL_OPTS
	[ "$variant" = metacopy ] && opts+=",metacopy=on"
	TEST_NAME="inode-stability/$variant"

	ovl_mount "$M" "$opts"
	inodes "$T/before.$variant"
	check_links "$variant-before"
	# The kernel must see no shadowed bottom copy.
	[ "$(cat "$M/d0/s0/a00")" = "top 0/0/00" ] || fail "shadowed lower2 file shows through"

	# Copy-up, mixed by position: append, chmod, touch, chmod+append. Lists go to batched
	# commands (one chmod/touch per list, not per file).
	i=0
	: >"$T/chmod.lst"
	: >"$T/touch.lst"
	while IFS= read -r -d '' p; do
		case $((i % 4)) in
		0) echo "appended" >>"$M/$p" ;;
		1) printf '%s\0' "$M/$p" >>"$T/chmod.lst" ;;
		2) printf '%s\0' "$M/$p" >>"$T/touch.lst" ;;
		3) printf '%s\0' "$M/$p" >>"$T/chmod.lst"; echo "appended" >>"$M/$p" ;;
		esac
		i=$((i + 1))
	done < <(cd "$M" && find . -type f ! -path './links/*' ! -name 'hl*' -printf '%P\0' | sort -z)
	[ "$i" = 1000 ] || fail "copied up $i files through the mount, want 1000"
	xargs -0 chmod g+w <"$T/chmod.lst"
	xargs -0 touch <"$T/touch.lst"
	# Hard links: one name of each group each way; symlinks and directories too.
	echo "appended" >>"$M/links/h0"
	chmod 0600 "$M/links/h1.b"
	touch "$M/deep/1/hl2"
	echo "appended" >>"$M/deep/1/hl3"
	chmod 0640 "$M/links/h4"
	touch -h "$M/links/sym0" "$M/links/sym3"
	chmod 0750 "$M/d0" "$M/d5/s2" "$M/top1" "$M/deep/1/2"
	# New objects: their numbers (from the upper layer) must not collide with lower ones.
	mkdir "$M/new" "$M/d3/newdir"
	for i in $(seq 0 49); do echo "new $i" >"$M/new/n$i"; done
	echo "new" >"$M/d3/newdir/f"

	# Every visible file must really be an upper copy now. Other names of a hard-linked
	# lower file join the upper inode when they are next looked up (the kernel may keep
	# them cached meanwhile), so for those one upper name per group is enough.
	missing=$(cd "$M" && find . -type f -printf '%P\n' | while IFS= read -r p; do
		[ -e "$T/upper/$p" ] && continue
		for l in "$T/lower1/$p" "$T/lower2/$p"; do
			[ -e "$l" ] && [ "$(stat -c %h "$l")" -gt 1 ] && continue 2
		done
		echo "$p"; done | head -5)
	[ -z "$missing" ] || fail "not copied up to the upper layer: $missing"

	# Live numbers are what the kernel cached from the daemon's replies; the remount below
	# makes the daemon answer every lookup afresh.
	inodes "$T/after.$variant"
	grep -v -e ' ./new' -e ' ./d3/newdir' "$T/after.$variant" >"$T/after-old.$variant"
	diff -u --label "before copy-up" --label "after copy-up" "$T/before.$variant" "$T/after-old.$variant" >&2 ||
		fail "st_ino changed across copy-up (ino path)"
	check_links "$variant-after"

	ovl_umount "$M"
	ovl_mount "$M" "$opts"
	inodes "$T/remount.$variant"
	diff -u --label "after copy-up" --label "after remount" "$T/after.$variant" "$T/remount.$variant" >&2 ||
		fail "st_ino changed across remount (ino path)"
	check_links "$variant-remount"
	[ "$(cat "$M/links/h1")" = "$(printf 'linked 1')" ] || fail "links/h1 content changed"
	[ "$(cat "$M/deep/1/hl0")" = "$(printf 'linked 0\nappended')" ] ||
		fail "deep/1/hl0 does not show the append made through links/h0"
	ovl_umount "$M"
	note "$variant: 1,000 files + dirs + links keep st_ino across copy-up and remount"
done

lower_after=$(fingerprint)
[ "$lower_after" = "$lower_before" ] || fail "a lower layer was modified"
