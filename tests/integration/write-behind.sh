#!/bin/bash
# Write-behind: a file written through the mount in one sequential run is handed to the
# upper's disk in 8 MiB steps as it goes, so a later fsync finds most of it written; the
# pages still dirty in the upper file's page cache are at most the last two steps'. Writes out
# of order, and files smaller than a step, are left to the kernel's flusher: all their pages
# stay dirty until it comes (30 s) or an fsync does. Counted with cachestat(2) on the upper
# file. Each time a run passes a multiple of 64 MiB the daemon also fdatasyncs the file in the
# background (not with fsync=0): counted under strace. What is read back must be what was
# written.
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
# Info lines (the daemon says so when it takes io_uring) are not failures.
grep -v ": info: " "$T/daemon.mnt.log" >&2 && fail "the daemon logged a failure (above)"

# The background fdatasync, seen by strace on the daemon: 128 MiB written in order (no fsync
# by the writer) pass 64 MiB twice, and each passing is one fdatasync, unless the hand-over
# before it is still running (then the next write past 64 MiB makes it); at least one. None
# with fsync=0.
command -v strace >/dev/null || fail "strace is not installed (apt-get install strace)"
head -c $((64 << 20)) /dev/urandom >>"$T/data.bin"
# strace's lines for a call: "PID fdatasync(FD) = 0", or split in two ("PID fdatasync(FD
# <unfinished ...>" and "PID <... fdatasync resumed>) = 0") when another thread's call comes
# between; it also shows system calls it does not know, which are not ours to judge.
syncs() { grep -cE 'fdatasync.*= 0$' "$T/strace.$1" || true; }
other_syncs() { grep -E 'f(data)?sync' "$T/strace.$1" | grep -vE '<unfinished \.\.\.>$|fdatasync.*= 0$'; }
# LeakSanitizer cannot work under ptrace (the sanitizer run): the mount above checks leaks.
no_lsan="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
for fsync in 1 0; do
	OVERLAYD_WRAPPER="env $no_lsan strace -f -qq -e trace=fdatasync,fsync -o $T/strace.$fsync" \
		ovl_mount "$M" "$OVL_OPTS,writeback=0,fsync=$fsync"
	dd if="$T/data.bin" of="$M/seq.bin" bs=1M status=none
	cmp "$T/data.bin" "$M/seq.bin" || fail "128 MiB written with fsync=$fsync read back differently"
	ovl_umount "$M"
	other_syncs $fsync >&2 &&
		fail "the daemon made a failed or other sync call with fsync=$fsync (above)"
	n=$(syncs $fsync)
	if [ "$fsync" = 1 ]; then
		[ "$n" -ge 1 ] && [ "$n" -le 2 ] ||
			fail "128 MiB written in order made $n fdatasync calls in the daemon (want 1 or 2: one per 64 MiB passed)"
	else
		[ "$n" = 0 ] || fail "with fsync=0 the daemon still made $n fdatasync calls"
	fi
done
true
