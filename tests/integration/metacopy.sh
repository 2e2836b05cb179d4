#!/bin/bash
# metacopy=on: `chmod -R g+w` over a lower tree of 10,000 files (~100 MB) grows the upper by
# metadata only (du), every file reads back identical and reports its lower blocks; an append
# then gives data to that one file only; `touch` is metadata-only too; all of it survives a remount.
. "$(dirname "$0")/../lib.sh"
make_layers
L1=$T/lower1 L2=$T/lower2 M=$T/mnt U=$T/upper
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null || skip "python3 is needed to generate the fixture"

# tree/d00..d49 in the top layer, tree/d50..d99 in the bottom one (tree/ itself is merged),
# 100 files each of 4-16 KiB random data; other/touchme (1 MiB) is for the touch case.
"$PY" - "$L1" "$L2" <<'PY'
import os, random, sys
rnd = random.Random(20261129)
for d in range(100):
    root = sys.argv[1] if d < 50 else sys.argv[2]
    dd = os.path.join(root, "tree", "d%02d" % d)
    os.makedirs(dd)
    for f in range(100):
        with open(os.path.join(dd, "f%03d" % f), "wb") as fh:
            fh.write(rnd.randbytes(rnd.randint(4096, 16384)))
os.makedirs(os.path.join(sys.argv[2], "other"))
with open(os.path.join(sys.argv[2], "other", "touchme"), "wb") as fh:
    fh.write(rnd.randbytes(1 << 20))
PY
nfiles=$( (cd "$L1" && find tree -type f; cd "$L2" && find tree -type f) | wc -l)
[ "$nfiles" = 10000 ] || fail "fixture: $nfiles files, want 10000"
lower_kib=$(du -sk "$L1/tree" "$L2/tree" | awk '{ s += $1 } END { print s }')
[ "$lower_kib" -gt 80000 ] || fail "fixture: the lower tree takes only $lower_kib KiB"
# Expected "sha256  path" and "blocks path" lists, from the lower layers (disjoint dirs).
(cd "$L1" && find tree -type f -print0 | xargs -0 sha256sum; cd "$L2" && find tree -type f -print0 |
	xargs -0 sha256sum) | sort -k2 >"$T/sums.lower"
(cd "$L1" && find tree -type f -printf '%b %p\n'; cd "$L2" && find tree -type f -printf '%b %p\n') |
	sort -k2 >"$T/blocks.lower"

# A cheap layer_fingerprint (one stat per object would take minutes here).
fingerprint() {
	local d
	for d in "$L1" "$L2"; do
		(cd "$d" && find . -printf '%P|%y|%m|%s|%U:%G|%n|%T@|%b\n' | sort &&
			{ getfattr -R -h -d -m - --absolute-names . 2>/dev/null || true; })
	done
	cat "$T/sums.lower"
}
lower_before=$(fingerprint)

# check_content LABEL WANT-SUMS: sha256 of every file through the mount.
check_content() {
	(cd "$M" && find tree -type f -print0 | xargs -0 -n 500 -P 4 sha256sum) | sort -k2 >"$T/sums.$1"
	diff -u --label want --label "mount ($1)" "$2" "$T/sums.$1" | head -20 >&2
	cmp -s "$2" "$T/sums.$1" ||
		fail "$1: $(diff "$2" "$T/sums.$1" | grep -c '^>') files read back different content through the mount (diff above)"
}
# check_blocks LABEL WANT: st_blocks through the mount must be the lower data's.
check_blocks() {
	(cd "$M" && find tree -type f -printf '%b %p\n') | sort -k2 >"$T/blocks.$1"
	diff -u --label want --label "mount ($1)" "$2" "$T/blocks.$1" | head -20 >&2
	cmp -s "$2" "$T/blocks.$1" || fail "$1: st_blocks through the mount are not the lower data's"
}
check_modes() {
	local bad
	bad=$(find "$M/tree" ! -perm -g+w | head -3)
	[ -z "$bad" ] || fail "$1: not group-writable through the mount: $bad"
}
upper_kib() { du -sk "$U" | cut -f1; }
# Upper files that hold any data (SEEK_DATA finds some): a metadata-only copy is all hole.
# st_blocks can't tell, since it also counts an external xattr block (see below).
upper_with_data() {
	"$PY" - "$U" <<'PY'
import errno, os, sys
root = sys.argv[1]
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        fd = os.open(p, os.O_RDONLY)
        try:
            os.lseek(fd, 0, os.SEEK_DATA)
            print(os.path.relpath(p, root))
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
        finally:
            os.close(fd)
PY
}

# Nothing is read through the mount before the chmod: cached pages would hide where reads go.
ovl_mount "$M" "$OVL_OPTS,metacopy=on"
du0=$(upper_kib)
t0=$(date +%s.%N)
chmod -R g+w "$M/tree" || fail "chmod -R g+w failed"
t1=$(date +%s.%N)
du1=$(upper_kib)
n_up=$(find "$U/tree" -type f | wc -l)
note "chmod -R g+w of 10,000 files: $(echo "$t1 - $t0" | bc) s; upper ${du0} -> ${du1} KiB; lower tree ${lower_kib} KiB"
[ "$n_up" = 10000 ] || fail "after chmod -R: $n_up upper copies, want 10000"
# No upper copy may hold data...
with_data=$(upper_with_data | head -5)
[ -z "$with_data" ] || fail "after chmod -R: upper copies hold data: $with_data"
# ...and du must show it. A data copy would add the lower's $lower_kib KiB (~12 KiB a file).
# Metadata costs: 101 upper directories of one block each, plus, per file, at most one
# external xattr block: ext4 with 256-byte inodes has ~92 bytes for in-inode xattrs, and the
# copy's origin + metacopy records (~96 bytes with a short path) don't fit. Kernel overlayfs'
# metacopy=on needs that block too (measured on this tree: 40.8 MB for 10,000 files), so the
# bound is one block per object: 10,101 x 4 KiB = 40.4 MB, a third of the data. Without the
# xattr blocks (larger inodes, tmpfs, btrfs) growth is ~1% of the data.
bs_kib=$(($(stat -f -c %S "$U") / 1024))
[ "$bs_kib" -ge 1 ] || bs_kib=1
bound=$(((10000 + 101) * bs_kib + 64))
grow=$((du1 - du0))
xattr_blocks=$(find "$U/tree" -type f -printf '%b\n' | awk '$1 > 0' | wc -l)
note "upper copies with an (xattr) block: $xattr_blocks of 10000"
[ "$grow" -le "$bound" ] ||
	fail "after chmod -R: the upper grew by $grow KiB, more than metadata can take ($bound KiB); the lower tree is $lower_kib KiB"
[ "$grow" -lt $((lower_kib / 2)) ] ||
	fail "after chmod -R: the upper grew by $grow KiB, not far below the lower's $lower_kib KiB"
check_modes "after chmod -R"
check_content "after chmod -R" "$T/sums.lower"
check_blocks "after chmod -R" "$T/blocks.lower"

# Append to one file: it alone gets data in the upper, and the right content.
victim=tree/d63/f042
victim_kib=$(du -k "$L2/$victim" | cut -f1)
echo "appended line" >>"$M/$victim"
du2=$(upper_kib)
with_data=$(upper_with_data)
[ "$with_data" = "$victim" ] || fail "after append to $victim: upper files with data: '$with_data', want only $victim"
[ "$(stat -c %s "$U/$victim")" = $(($(stat -c %s "$L2/$victim") + 14)) ] || fail "upper $victim has the wrong size"
[ "$((du2 - du1))" -le $((victim_kib + 4 * bs_kib)) ] ||
	fail "append to one ${victim_kib} KiB file grew the upper by $((du2 - du1)) KiB"
want_victim=$( (cat "$L2/$victim"; echo "appended line") | sha256sum | cut -d' ' -f1)
sed "s|^[0-9a-f]*  $victim\$|$want_victim  $victim|" "$T/sums.lower" >"$T/sums.want"
grep -q "^$want_victim  $victim\$" "$T/sums.want" || fail "test bug: $victim not in the sums"
[ "$(sha256sum <"$M/$victim" | cut -d' ' -f1)" = "$want_victim" ] || fail "$victim: wrong content after the append"
[ "$(stat -c %b "$M/$victim")" = "$(stat -c %b "$U/$victim")" ] ||
	fail "$victim: blocks through the mount ($(stat -c %b "$M/$victim")) are not its upper copy's ($(stat -c %b "$U/$victim"))"

# touch of a lower file that was not copied up yet: metadata only as well. `touch -c`: plain
# touch first opens the file O_WRONLY (to create it if missing), and an open for writing
# copies the data up, in kernel overlayfs' metacopy=on too; -c makes it a bare utimensat().
tm_sum=$(sha256sum <"$L2/other/touchme")
touch -c -d '2020-02-02 02:02:02' "$M/other/touchme"
[ -f "$U/other/touchme" ] || fail "touch did not copy other/touchme up"
[ -z "$(upper_with_data | grep -v "^$victim\$")" ] && [ "$(stat -c %b "$U/other/touchme")" -le $((bs_kib * 2)) ] ||
	fail "touch of a 1 MiB lower file: its upper copy has data ($(stat -c %b "$U/other/touchme") blocks), want metadata only"
[ "$(stat -c %Y "$M/other/touchme")" = "$(date -d '2020-02-02 02:02:02' +%s)" ] || fail "touch: mtime not set"
[ "$(stat -c %b "$M/other/touchme")" = "$(stat -c %b "$L2/other/touchme")" ] ||
	fail "touched metacopy file reports $(stat -c %b "$M/other/touchme") blocks, the lower data has $(stat -c %b "$L2/other/touchme")"
[ "$(sha256sum <"$M/other/touchme")" = "$tm_sum" ] || fail "touched file reads back different content"

# After a remount: same content, modes, blocks; still no data in the upper but the victim's.
ovl_umount "$M"
ovl_mount "$M" "$OVL_OPTS,metacopy=on"
check_content "after remount" "$T/sums.want"
check_modes "after remount"
grep -v " $victim\$" "$T/blocks.lower" >"$T/blocks.want"
echo "$(stat -c %b "$U/$victim") $victim" >>"$T/blocks.want"
sort -k2 -o "$T/blocks.want" "$T/blocks.want"
check_blocks "after remount" "$T/blocks.want"
[ "$(sha256sum <"$M/other/touchme")" = "$tm_sum" ] || fail "after remount: other/touchme content differs"
[ "$(stat -c %b "$M/other/touchme")" -gt 0 ] || fail "after remount: other/touchme reports 0 blocks"
[ "$(stat -c %Y "$M/other/touchme")" = "$(date -d '2020-02-02 02:02:02' +%s)" ] || fail "after remount: touchme mtime lost"
with_data=$(upper_with_data)
[ "$with_data" = "$victim" ] || fail "after remount: upper files with data: '$with_data', want only $victim"
ovl_umount "$M"

lower_after=$(fingerprint)
[ "$lower_after" = "$lower_before" ] || fail "a lower layer was modified"
