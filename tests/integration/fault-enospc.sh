#!/bin/bash
# A full upper filesystem (a tmpfs of 8 MiB holding upper and work): a copy-up too big for it
# fails with ENOSPC and leaves nothing behind (no debris in WORKDIR/work, no partial upper
# file), writes get ENOSPC, the daemon keeps serving reads and small changes meanwhile, logs
# the failure, and once space is freed, copy-up and writes work again.
. "$(dirname "$0")/../lib.sh"
make_layers
S="$T/small"
mkdir -p "$S"
mount -t tmpfs -o size=8m,mode=0755 tmpfs "$S" || skip "cannot mount a tmpfs here"
mkdir "$S/upper" "$S/work"
head -c $((12 << 20)) /dev/urandom > "$T/lower1/big"     # can never fit
head -c $((3 << 20)) /dev/urandom > "$T/lower1/medium"   # fits only while space is free
echo small > "$T/lower1/small"
mkdir "$T/lower1/dir" && echo inside > "$T/lower1/dir/file"
ovl_mount "$T/mnt" "lowerdir=$T/lower1,upperdir=$S/upper,workdir=$S/work"
MOUNTS+=("$S") # after the overlay: cleanup unmounts in order
log="$T/daemon.mnt.log"

# expect_enospc WHAT CMD...: CMD must fail with "No space left on device".
expect_enospc() {
	local what=$1 err
	shift
	err=$("$@" 2>&1) && fail "$what succeeded on a full upper"
	case "$err" in
	*"No space left on device"*) ;;
	*) fail "$what: the application saw '$err', want No space left on device" ;;
	esac
}
no_debris() {
	[ -z "$(ls -A "$S/work/work")" ] || fail "$1: debris in WORKDIR/work: $(ls -A "$S/work/work")"
}

# 1. A copy-up that can never fit.
expect_enospc "appending to a 12 MiB lower file" sh -c "/bin/echo more >> '$T/mnt/big'"
no_debris "failed copy-up of big"
[ ! -e "$S/upper/big" ] || fail "a partial copy of big reached the upper layer"
cmp -s "$T/mnt/big" "$T/lower1/big" || fail "big no longer reads as its lower original"
grep -q 'copy-up big.*No space left on device' "$log" ||
	{ cat "$log" >&2; fail "the failed copy-up is not logged"; }

# 2. Fill the rest with a new file: the write fails with ENOSPC, the mount keeps serving.
expect_enospc "filling the upper" dd if=/dev/zero of="$T/mnt/fill" bs=1M count=100 status=none
expect_enospc "appending to a 3 MiB lower file while full" sh -c "/bin/echo more >> '$T/mnt/medium'"
no_debris "failed copy-up of medium"
[ ! -e "$S/upper/medium" ] || fail "a partial copy of medium reached the upper layer"
[ "$(cat "$T/mnt/small")" = small ] || fail "reading a lower file failed while the upper is full"
[ "$(cat "$T/mnt/dir/file")" = inside ] || fail "reading a lower directory failed while full"
ls -la "$T/mnt" >/dev/null || fail "listing the root failed while the upper is full"
cmp -s "$T/mnt/medium" "$T/lower1/medium" || fail "medium changed after its failed copy-up"
kill -0 "$LAST_DAEMON_PID" || fail "the daemon died on a full upper"

# 3. Free the space: everything works again.
rm "$T/mnt/fill" || fail "removing the fill file failed"
# The space comes back when the daemon closes its last fd on the file. With writeback=0 it
# keeps one on every removed file until the kernel's FORGET for it arrives (the kernel might
# still have it open, doc/daemon.md), which is queued before rm returns but may be handled
# by another daemon thread after the next request: retry for a while.
appended=
for i in $(seq 1 50); do
	if /bin/echo more >> "$T/mnt/medium" 2>"$T/append.err"; then appended=1; break; fi
	sleep 0.1
done
[ -n "$appended" ] || fail "copy-up after freeing space failed: $(cat "$T/append.err")"
[ "$(tail -c 5 "$T/mnt/medium")" = more ] || fail "the append after freeing space is lost"
cmp -s "$S/upper/medium" "$T/mnt/medium" || fail "upper copy of medium differs from the mount"
[ "$(head -c $((3 << 20)) "$T/mnt/medium" | cmp - "$T/lower1/medium" && echo same)" = same ] ||
	fail "the copy of medium does not start with its lower original"
echo new > "$T/mnt/dir/new" || fail "creating a file after freeing space failed"
no_debris "after freeing space"
ovl_umount "$T/mnt"
