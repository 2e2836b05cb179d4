#!/bin/bash
# Write-behind: a file written through the mount in one sequential run is handed to the
# upper's disk in 8 MiB steps as it goes, so a later fsync finds most of it written; the
# pages still dirty in the upper file's page cache are at most the last two steps'. Writes out
# of order, and files smaller than a step, are left to the kernel's flusher: all their pages
# stay dirty until it comes (30 s) or an fsync does. Counted with cachestat(2) on the upper
# file. What is read back must be what was written.
. "$(dirname "$0")/../lib.sh"
make_layers
M=$T/mnt
FSOP=$ANTARES_BUILD/tests/fsop

fs=$(stat -f -c %T "$T/upper")
case $fs in
tmpfs | ramfs) skip "the upper directory $T/upper is on $fs, whose pages are never written to a disk" ;;
esac
# Skip only when the kernel lacks cachestat; any other failure of the probe is a failure.
: >"$T/probe"
if ! err=$("$FSOP" cachestat "$T/probe" 2>&1 >/dev/null); then
	case $err in
	*"Function not implemented"*) skip "cachestat(2) is not available (Linux 6.5 or later)" ;;
	*) fail "fsop cachestat on a plain file: $err" ;;
	esac
fi

dirty_pages() { "$FSOP" cachestat "$1" | awk '{ print $2 }'; }
page=$(getconf PAGESIZE)
mib=$(((1 << 20) / page)) # pages per MiB

# writeback=0 (antares-sandbox's mode): each write() is a WRITE request to the daemon. With
# the writeback cache the kernel sends the data only when it writes its own cache back.
ovl_mount "$M" "$OVL_OPTS,writeback=0"
head -c $((64 << 20)) /dev/urandom >"$T/data.bin"

# 64 MiB in order: the last step may still be dirty, and the one before it too if the
# daemon's thread has not made its hand-over yet (it does so after replying to dd).
dd if="$T/data.bin" of="$M/seq.bin" bs=1M status=none
d=$(dirty_pages "$T/upper/seq.bin")
[ "$d" -le $((17 * mib)) ] ||
	fail "after a sequential write of 64 MiB, $((d / mib)) MiB of the upper file are still dirty (want at most 17: the daemon hands each 8 MiB to the disk)"

# The same 64 MiB written back to front, 1 MiB at a time: no run, nothing handed over.
for i in $(seq 63 -1 0); do
	dd if="$T/data.bin" of="$M/rev.bin" bs=1M skip="$i" seek="$i" count=1 conv=notrunc status=none
done
d=$(dirty_pages "$T/upper/rev.bin")
[ "$d" -ge $((60 * mib)) ] ||
	fail "after 64 MiB written back to front, only $((d / mib)) MiB of the upper file are dirty (writes out of order must be left to the kernel's flusher)"

# 4 MiB, less than a step: left alone.
dd if="$T/data.bin" of="$M/small.bin" bs=1M count=4 status=none
d=$(dirty_pages "$T/upper/small.bin")
[ "$d" -ge $((4 * mib)) ] ||
	fail "after a sequential write of 4 MiB, only $d of its $((4 * mib)) pages are dirty (files under one step must be left to the kernel's flusher)"

cmp "$T/data.bin" "$M/seq.bin" || fail "the sequentially written file reads back differently"
cmp "$T/data.bin" "$M/rev.bin" || fail "the file written back to front reads back differently"
cmp -n $((4 << 20)) "$T/data.bin" "$M/small.bin" || fail "the small file reads back differently"
ovl_umount "$M"
cmp "$T/data.bin" "$T/upper/seq.bin" || fail "the upper file does not hold what was written"
grep . "$T/daemon.mnt.log" >&2 && fail "the daemon logged a failure (above)"
true
