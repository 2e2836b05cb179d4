#!/bin/bash
# READ requests are at most max_read= bytes (default 512 KiB: libfuse 3 splices a reply only
# while it fits a 1 MiB pipe with room to spare, and copies larger ones through a buffer of
# its own, 15-30 times slower). A 4 MiB file read with O_DIRECT, 1 MiB at a time, must cost
# 8 READs by default and 32 with max_read=131072, and read back intact. A max_read= given by
# the user must mount at all: libfuse 3.14 stopped the session at INIT unless the daemon
# repeated the number there. Counted in the daemon's request trace (-d).
. "$(dirname "$0")/../lib.sh"
make_layers
M=$T/mnt
head -c $((4 << 20)) /dev/urandom >"$T/lower1/data.bin"

# direct_reads OPTIONS MAX_READ: mount with OPTIONS, read data.bin with O_DIRECT 1 MiB at a
# time; sets READS to the number of READ requests it cost. The mount must show MAX_READ.
direct_reads() {
	ovl_mount "$M" "$OVL_OPTS$1" -d
	local before
	before=$(ovl_requests READ)
	dd if="$M/data.bin" of="$T/copy.bin" bs=1M iflag=direct status=none ||
		fail "an O_DIRECT read with$1 failed"
	cmp "$T/lower1/data.bin" "$T/copy.bin" || fail "the O_DIRECT read with$1 read back differently"
	READS=$(($(ovl_requests READ) - before))
	awk -v m="$M" '$5 == m' /proc/self/mountinfo | grep -q "max_read=$2\b" ||
		fail "the mount with$1 does not show max_read=$2"
	ovl_umount "$M"
	: >"$T/daemon.mnt.log"
}

direct_reads "" 524288
[ "$READS" = 8 ] || fail "4 MiB read 1 MiB at a time cost $READS READs by default (want 8 of 512 KiB)"
direct_reads ",max_read=131072" 131072
[ "$READS" = 32 ] || fail "4 MiB read 1 MiB at a time cost $READS READs with max_read=131072 (want 32)"
