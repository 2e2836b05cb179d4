#!/bin/bash
# The kernel's writeback cache (writeback=1, the default) reads the pages a write covers only
# in part before it changes them, through the handle that writes. A write-only open the
# daemon cannot make read-write (an upper file of mode 0200, the daemon without DAC override)
# must still take such writes and appends: the handle bypasses the page cache. Checked with
# and without the writeback cache, on a fresh mount each time so nothing is cached already.
. "$(dirname "$0")/../lib.sh"
command -v setpriv >/dev/null || fail "setpriv is not installed (util-linux)"
make_layers
# Without DAC override the daemon (uid 0, owner of the files) is bound by mode 0200.
OVERLAYD_WRAPPER="setpriv --bounding-set=-dac_override,-dac_read_search --inh-caps=-all --"

for wb in 1 0; do
	printf 'hello world\n' > "$T/upper/wo"
	chmod 0200 "$T/upper/wo"
	ovl_mount "$T/mnt" "$OVL_OPTS,writeback=$wb"
	# dd opens without O_TRUNC: 5 bytes into the first page, the rest of it kept.
	err=$(printf HOWDY | dd of="$T/mnt/wo" bs=5 count=1 conv=notrunc status=none 2>&1) ||
		fail "writeback=$wb: write into part of a page of a write-only file: $err"
	err=$( { echo appended >> "$T/mnt/wo"; } 2>&1) ||
		fail "writeback=$wb: append to a write-only file: $err"
	[ "$(stat -c %s "$T/mnt/wo")" = 21 ] ||
		fail "writeback=$wb: the mount shows $(stat -c %s "$T/mnt/wo") bytes, want 21"
	ovl_umount "$T/mnt"
	[ "$(cat "$T/upper/wo")" = "$(printf 'HOWDY world\nappended')" ] ||
		fail "writeback=$wb: upper file holds '$(cat "$T/upper/wo")'"
	grep -v ": info: " "$T/daemon.mnt.log" >&2 && fail "writeback=$wb: the daemon logged a failure (above)"
	rm -f "$T/upper/wo"
done
true
