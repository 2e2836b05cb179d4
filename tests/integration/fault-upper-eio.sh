#!/bin/bash
# An upper layer whose disk fails writes after accepting them: the upper is a weakfs mount
# (tests/tools/weakfs) with the kernel's writeback cache, whose writes to files named
# doomed* fail with EIO, so the failure shows only when the page cache is written back, as
# with a real disk. The application must still get EIO at its fdatasync, and the daemon's
# log must name the file, the layer and the call:
# (a) a small file: the daemon's own fdatasync in FSYNC reports it, also 3 s later;
# (b) a 64 MiB file written in order, synced after the daemon's write fd has gone idle:
#     write-behind's background fdatasync (at 64 MiB) took the error first, and the
#     kernel then tells no file opened later of it; the daemon must keep it for the FSYNC;
# (c) the error is reported once, and a file on the same upper that is not doomed is
#     written, synced and read back intact (the harness is not failing everything);
# (d) a 2 MiB lower file copied up by an append, on an upper whose writes past 1 MiB fail:
#     the copy's fsync would run in the background (pending.c), but closing the copy writes
#     it out first and meets the error: the copy-up fails with EIO, nothing of it stays, and
#     the file still reads as its lower original;
# (e) the same with the daemon's default, the writeback cache (writeback=1), where writes
#     reach us when the kernel writes its own cache back and FSYNC syncs through the file's
#     handle: a small file, a 64 MiB one synced 3 s later, and a lost copy-up all end in EIO.
. "$(dirname "$0")/../lib.sh"
mkdir -p "$T/backing/upper" "$T/backing/work" "$T/lower" "$T/mnt"
weak_mount "$T/backing" "$T/weak" "writeback_cache,fail_write=doomed"
ovl_mount "$T/mnt" "lowerdir=$T/lower,upperdir=$T/weak/upper,workdir=$T/weak/work,writeback=0"
M=$T/mnt
log="$T/daemon.mnt.log"

# fdatasync_of FILE: fdatasync FILE through a new open file (as a program that reopens it
# does); prints dd's message and fails when the call fails.
fdatasync_of() { dd if=/dev/null of="$1" conv=notrunc,fdatasync status=none 2>&1; }
# expect_eio WHAT FILE: fdatasync of FILE must fail with EIO.
expect_eio() {
	local err
	err=$(fdatasync_of "$2") && fail "$1: fdatasync succeeded although the upper's disk lost the data"
	case $err in
	*"Input/output error"*) ;;
	*) fail "$1: fdatasync failed with '$err', want Input/output error" ;;
	esac
}
# expect_lost_copyup PREFIX MNT UPPER WORK: appending to MNT/big.bin, whose copy-up cannot
# reach weak2's disk, fails with EIO, and nothing of the copy stays in weak2's UPPER or WORK.
expect_lost_copyup() {
	local what="${1}the append to a 2 MiB lower file" err
	err=$(printf x 2>&1 >>"$2/big.bin") && fail "$what succeeded although its copy was lost"
	case $err in
	*"Input/output error"*) ;;
	*) fail "$what failed with '$err', want Input/output error" ;;
	esac
	cmp "$T/lower/big.bin" "$2/big.bin" || fail "${1}after its failed copy-up big.bin no longer reads as its lower original"
	[ ! -e "$T/backing2/$3/big.bin" ] || fail "${1}the lost copy of big.bin reached the upper layer"
	[ -z "$(ls -A "$T/backing2/$4/work")" ] || fail "${1}the failed copy-up left debris: $(ls -A "$T/backing2/$4/work")"
}
# logged WHAT PATTERN: the daemon's log has a line matching PATTERN.
logged() {
	grep -q -- "$2" "$log" || { cat "$log" >&2; fail "$1: no log line matching '$2' (log above)"; }
}

# (a) 1 MiB, less than a write-behind step: the data reaches the upper's disk only at the
# fdatasync. (A close may already report it, through the first open file of the mount.)
head -c $((1 << 20)) /dev/zero 2>/dev/null >"$M/doomed-small.bin" || true
expect_eio "a small file" "$M/doomed-small.bin"
logged "a small file" "fsync doomed-small.bin: fdatasync on upper layer $T/weak/upper failed: Input/output error"
head -c $((1 << 20)) /dev/zero 2>/dev/null >"$M/doomed-idle.bin" || true
sleep 3
expect_eio "a small file synced 3 s after it was written" "$M/doomed-idle.bin"

# (b) 64 MiB in order: the run passes 64 MiB at its last write, so write-behind fdatasyncs
# the file after the reply. Wait until it has (its log line), then until the daemon's write
# fd is idle and closed (2 s): the FSYNC then opens the file afresh.
head -c $((64 << 20)) /dev/zero 2>/dev/null >"$M/doomed.bin" || true
for _ in $(seq 1 100); do grep -q "write-behind doomed.bin" "$log" && break; sleep 0.1; done
sleep 3
expect_eio "a 64 MiB file after write-behind's fdatasync" "$M/doomed.bin"
logged "write-behind of a 64 MiB file" "write-behind doomed.bin: fdatasync on upper layer $T/weak/upper failed: Input/output error"

# (c) Once reported, the error is not reported again; other files are unaffected.
err=$(fdatasync_of "$M/doomed.bin") || fail "a second fdatasync of doomed.bin failed again: $err"
head -c $((64 << 20)) /dev/urandom >"$T/data.bin"
cp "$T/data.bin" "$M/fine.bin" || fail "writing a file that is not doomed failed"
err=$(fdatasync_of "$M/fine.bin") || fail "fdatasync of a file that is not doomed failed: $err"
cmp "$T/data.bin" "$M/fine.bin" || fail "the file that is not doomed reads back differently"
kill -0 "$LAST_DAEMON_PID" || fail "the daemon died on a failing upper"
ovl_umount "$T/mnt"
cmp "$T/data.bin" "$T/backing/upper/fine.bin" || fail "the upper's backing file does not hold what was written"

# (d) The copy's background fsync meets the error (its log line), then the application syncs.
mkdir -p "$T/backing2/upper" "$T/backing2/work" "$T/mnt2"
head -c $((2 << 20)) /dev/urandom >"$T/lower/big.bin"
weak_mount "$T/backing2" "$T/weak2" "writeback_cache,fail_write_from=1048576"
ovl_mount "$T/mnt2" "lowerdir=$T/lower,upperdir=$T/weak2/upper,workdir=$T/weak2/work,writeback=0"
log="$T/daemon.mnt2.log"
expect_lost_copyup "" "$T/mnt2" upper work
logged "a lost copy-up" "copy-up big.bin: close on upper layer $T/weak2/upper failed: Input/output error"
ovl_umount "$T/mnt2"

# (e) writeback=1, on fresh upper directories of the same two weakfs mounts.
mkdir -p "$T/backing/upper3" "$T/backing/work3" "$T/backing2/upper3" "$T/backing2/work3" \
	"$T/mnt3" "$T/mnt4"
ovl_mount "$T/mnt3" "lowerdir=$T/lower,upperdir=$T/weak/upper3,workdir=$T/weak/work3,writeback=1"
head -c $((1 << 20)) /dev/zero 2>/dev/null >"$T/mnt3/doomed-small.bin" || true
expect_eio "writeback=1: a small file" "$T/mnt3/doomed-small.bin"
head -c $((64 << 20)) /dev/zero 2>/dev/null >"$T/mnt3/doomed.bin" || true
sleep 3
expect_eio "writeback=1: a 64 MiB file synced 3 s later" "$T/mnt3/doomed.bin"
ovl_umount "$T/mnt3"
ovl_mount "$T/mnt4" "lowerdir=$T/lower,upperdir=$T/weak2/upper3,workdir=$T/weak2/work3,writeback=1"
expect_lost_copyup "writeback=1: " "$T/mnt4" upper3 work3
ovl_umount "$T/mnt4"
