#!/bin/bash
# The operations build tools rely on beyond read/write, on lower and upper objects alike:
# renameat2 NOREPLACE/EXCHANGE (including a lower directory), POSIX/OFD/flock conflicts
# between processes, shared writable mmap, SEEK_DATA/SEEK_HOLE, copy_file_range, fallocate,
# O_TMPFILE (where FUSE allows it), utimens with UTIME_NOW/OMIT, and mknod of a fifo.
. "$(dirname "$0")/../lib.sh"
FSOP=$TOOLS/fsop
[ -x "$FSOP" ] || fail "fsop probe not built at $FSOP"
make_layers
M=$T/mnt

echo lowerA > "$T/lower1/a"
echo lowerB > "$T/lower2/b"
mkdir -p "$T/lower2/ldir/sub" && echo deep > "$T/lower2/ldir/sub/f"
echo L > "$T/lower1/sparse"
truncate -s 64M "$T/lower1/sparse"
printf 'tail' | dd of="$T/lower1/sparse" bs=1 seek=$((48 << 20)) conv=notrunc status=none
touch -d '2001-02-03 04:05:06.123456789' "$T/lower1/a"
before=$(layer_fingerprint "$T/lower1"; layer_fingerprint "$T/lower2")
ovl_mount "$M" "$OVL_OPTS"

expect() { # expect WANT CMD...: the probe's one-word answer must be WANT
	local want=$1 got
	shift
	got=$("$@" 2>&1) || true
	[ "$got" = "$want" ] || fail "$*: got '$got', want '$want'"
}

# renameat2
expect EEXIST "$FSOP" rename "$M/a" "$M/b" noreplace
expect OK "$FSOP" rename "$M/a" "$M/a2" noreplace
[ "$(cat "$M/a2")" = lowerA ] && [ ! -e "$M/a" ] || fail "noreplace rename of a lower file"
expect OK "$FSOP" rename "$M/a2" "$M/b" exchange
[ "$(cat "$M/b")" = lowerA ] && [ "$(cat "$M/a2")" = lowerB ] || fail "exchange of two lower files"
expect OK "$FSOP" rename "$M/ldir" "$M/b" exchange
[ -d "$M/b" ] && [ "$(cat "$M/b/sub/f")" = deep ] && [ "$(cat "$M/ldir")" = lowerA ] ||
	fail "exchange of a lower directory with a file"
expect ENOENT "$FSOP" rename "$M/b" "$M/nonexistent" exchange
mkdir "$M/d1" && expect OK "$FSOP" rename "$M/d1" "$M/b/sub/moved" noreplace
[ -d "$M/b/sub/moved" ] || fail "directory moved into a lower subdirectory is missing"

# locks between processes, on a lower file (copied up by the O_RDWR open) and a new one
expect OK "$FSOP" locks "$M/a2"
expect OK "$FSOP" locks "$M/newlock"

# shared writable mmap seen by read() and by a second process
expect OK "$FSOP" mmap "$M/mapped"

# SEEK_DATA/SEEK_HOLE on a lower sparse file, then after its copy-up
holes_lower=$("$FSOP" holes "$T/lower1/sparse")
[ "$("$FSOP" holes "$M/sparse")" = "$holes_lower" ] || fail "SEEK_DATA map differs through the mount"
printf 'x' >> "$M/sparse"
[ "$(stat -c %b "$T/upper/sparse")" -lt 4096 ] || fail "sparse copy-up allocated $(stat -c %b "$T/upper/sparse") blocks"
cmp -n $((64 << 20)) "$M/sparse" "$T/lower1/sparse" || fail "sparse file content changed by copy-up"

# copy_file_range from a lower file into a new one
expect OK "$FSOP" cfr "$M/sparse" "$M/sparse-copy"
cmp "$M/sparse" "$M/sparse-copy" || fail "copy_file_range copy differs"

expect OK "$FSOP" fallocate "$M/falloc"

# O_TMPFILE: FUSE in this kernel/libfuse may not support it; it must then say EOPNOTSUPP
tmp=$("$FSOP" tmpfile "$M" 2>&1) || fail "O_TMPFILE: $tmp"
note "O_TMPFILE on the mount: $tmp"

# utimens: explicit nanoseconds, UTIME_OMIT for atime (touch -m), UTIME_NOW
atime=$(stat -c %X "$M/b/sub/f")
touch -m -d '1999-12-31 23:59:59.987654321' "$M/b/sub/f"
[ "$(stat -c %y "$M/b/sub/f")" = "1999-12-31 23:59:59.987654321 +0000" ] || fail "mtime with ns: $(stat -c %y "$M/b/sub/f")"
[ "$(stat -c %X "$M/b/sub/f")" = "$atime" ] || fail "atime changed by touch -m (UTIME_OMIT)"
touch "$M/b/sub/f"
[ "$(stat -c %Y "$M/b/sub/f")" -ge "$(($(date +%s) - 60))" ] || fail "UTIME_NOW not applied"

# truncate up and down, a fifo and a symlink to a lower file
truncate -s 3 "$M/ldir" && [ "$(cat "$M/ldir")" = low ] || fail "truncate of a lower file"
mkfifo "$M/fifo" && [ -p "$M/fifo" ] && [ -p "$T/upper/fifo" ] || fail "mkfifo"
ln -s a2 "$M/link" && [ "$(cat "$M/link")" = lowerB ] || fail "symlink to a lower file"
ln "$M/falloc" "$M/falloc-link" && [ "$(stat -c %h "$M/falloc")" = 2 ] || fail "hard link count"
[ "$(stat -c %i "$M/falloc")" = "$(stat -c %i "$M/falloc-link")" ] || fail "hard links show different inodes"

ovl_umount "$M"
after=$(layer_fingerprint "$T/lower1"; layer_fingerprint "$T/lower2")
[ "$before" = "$after" ] || fail "a lower layer changed"
