#!/bin/bash
# Crash safety of copy-up: antares-overlayd is killed with SIGKILL at a random moment while a
# workload copies up big files (appends, chmod), many small ones (appends, chmod, O_TRUNC,
# renames, unlinks), renames lower directory trees and writes new files. After every kill:
# the lower layer is byte-identical (contents, modes, owners, mtimes, xattrs); the next mount
# empties WORKDIR/work; the remounted tree is the lower layer plus exactly the completed
# operations (and the one in flight either not at all or wholly; a new file may hold a prefix
# of its data, as on any filesystem); every upper regular file is what the mount shows, so no
# partial copy ever reached the upper layer; every file is readable and the mount writable.
# Odd trials mount with the kernel's writeback cache, even ones without. With it, close()
# flushes the page cache, and a kill meanwhile makes close() fail with EIO, as the kernel
# reports any lost write-back data (not ENOTCONN); and the new file being flushed may hold any
# of its pages (the kernel sends them in parallel requests), the others holes. Without it a
# write() may fail with EIO too: a daemon thread that has taken a WRITE request off the queue
# when SIGKILL arrives gets its data copied into its buffer, and where that buffer's pages
# were never touched the kernel refuses to fault them in for a task being killed, and ends the
# request with EIO (fs/fuse/dev.c, fuse_dev_do_read; reproduced with 16 writers of 1 MiB
# writes). Over io_uring a request cut off by the kill may end with ECANCELED instead. Each
# counts as the kill only if the mount is dead and it came after the kill.
#
# CRASH_TRIALS trials (default 20); the long form is CRASH_TRIALS=200. CRASH_SEED makes a run
# repeatable (the seed is printed). Example, by hand, as root from the build directory:
#   CRASH_TRIALS=200 MODE=root ANTARES_BUILD=$PWD bash ../tests/integration/crash-daemon.sh
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed (apt-get install python3)"
WL="python3 $TESTS_DIR/tools/crash-workload.py"
TRIALS=${CRASH_TRIALS:-20}
SEED=${CRASH_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED
note "CRASH_TRIALS=$TRIALS CRASH_SEED=$SEED"

make_layers
LAYERS="lowerdir=$T/lower1,upperdir=$T/upper,workdir=$T/work"
$WL setup "$T/lower1" || fail "cannot build the lower layer"
$WL fingerprint "$T/lower1" > "$T/lower.fp" || fail "cannot fingerprint the lower layer"

# kill_mount MNT: the daemon is gone; detach its dead mount.
drop_dead_mount() {
	umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || fusermount3 -u "$1" 2>/dev/null ||
		fail "cannot unmount the dead mount $1"
}

mid_copyup=0 killed_in_op=0 eio_kills=0
for trial in $(seq 1 "$TRIALS"); do
	rm -rf "$T/upper" "$T/work"
	mkdir "$T/upper" "$T/work"
	# Odd trials with the kernel's writeback cache (the default), even ones without.
	wb=$((trial % 2))
	OVL_OPTS="$LAYERS,writeback=$wb"
	ovl_mount "$T/mnt" "$OVL_OPTS"
	pid=$LAST_DAEMON_PID
	log="$T/ops.$trial"
	$WL run "$T/mnt" "$log" $((SEED + trial)) 2> "$T/wl.err" &
	wl=$!
	# Up to 1.5 s: most copy-ups of a fresh upper happen early.
	delay_ms=$((20 + RANDOM % 1500))
	sleep "$(printf '0.%03d' $((delay_ms % 1000)))"
	[ "$delay_ms" -ge 1000 ] && sleep 1
	kill_ns=$(date +%s%N)
	kill -9 "$pid" 2>/dev/null || fail "trial $trial: the daemon died before it was killed"
	wait "$pid" 2>/dev/null || true
	rc=0
	wait "$wl" || rc=$?
	[ "$rc" = 0 ] || fail "trial $trial (seed $((SEED + trial)), writeback=$wb, kill after ${delay_ms}ms): workload failed: $(cat "$T/wl.err")"
	# An EIO (or ECANCELED) is the kill's only if it came after it (a flush, or a request's
	# transfer, cut by the kill); one from a live daemon is a bug. The log line is
	# "K ERRNO NS HOW".
	kill_err=$(sed -n 's/^K \(EIO\|ECANCELED\) /\1 /p' "$log")
	if [ -n "$kill_err" ]; then
		err_name=${kill_err%% *} err_rest=${kill_err#* }
		err_ns=${err_rest%% *}
		[ "$err_ns" -ge "$kill_ns" ] ||
			fail "trial $trial (seed $((SEED + trial)), writeback=$wb, kill after ${delay_ms}ms): $err_name ${err_rest#* }, $(( (kill_ns - err_ns) / 1000 ))us before the daemon was killed, on $(grep '^B ' "$log" | tail -1)"
		eio_kills=$((eio_kills + 1))
	fi
	drop_dead_mount "$T/mnt"
	# Debris in work/ shows the kill landed inside a copy-up (or a whiteout swap).
	debris=$(ls -A "$T/work/work" 2>/dev/null | wc -l)
	[ "$debris" -gt 0 ] && mid_copyup=$((mid_copyup + 1))
	grep -q '^K' "$log" && killed_in_op=$((killed_in_op + 1))

	ovl_mount "$T/mnt" "$OVL_OPTS"
	left=$(ls -A "$T/work/work")
	[ -z "$left" ] || fail "trial $trial: the remount left debris in WORKDIR/work: $left"
	res=$($WL check "$T/lower1" "$T/upper" "$T/mnt" "$log" $([ "$wb" = 1 ] && echo writeback) 2>&1) ||
		fail "trial $trial (seed $((SEED + trial)), writeback=$wb, kill after ${delay_ms}ms, $debris work entries): $res"
	# Still writable: a copy-up and a new file after the crash.
	echo after-crash >> "$T/mnt/big/b0" || fail "trial $trial: append after remount failed"
	[ "$(tail -c 12 "$T/mnt/big/b0")" = after-crash ] || fail "trial $trial: append after remount lost"
	echo new > "$T/mnt/after-crash" || fail "trial $trial: create after remount failed"
	ovl_umount "$T/mnt"
	$WL fingerprint "$T/lower1" | cmp -s - "$T/lower.fp" ||
		fail "trial $trial: the lower layer changed: $($WL fingerprint "$T/lower1" | diff "$T/lower.fp" - | head -5)"
	[ $((trial % 5)) = 0 ] && note "trial $trial: $res"
done
note "$TRIALS kills: $killed_in_op during an operation ($eio_kills seen as EIO or ECANCELED), $mid_copyup with copy-up debris in WORKDIR/work"
[ "$killed_in_op" -gt 0 ] || fail "no kill landed during an operation: the workload is too short"
true
