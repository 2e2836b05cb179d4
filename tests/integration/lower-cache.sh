#!/bin/bash
# Reading a file through the mount leaves the lower file's pages in the host's page cache:
# the daemon splices them into /dev/fuse as copies. With SPLICE_MOVE the kernel would move
# them out of the layer's cache into the mount's, and every later reader of the checkout
# (the host's tools, the next build) would go to the disk.
. "$(dirname "$0")/../lib.sh"
command -v fincore >/dev/null || fail "fincore is not installed (util-linux)"
make_layers
f=$T/lower1/data.bin
head -c $((64 << 20)) /dev/urandom >"$f"
# Clean pages, as a checkout's are (dirty ones cannot be moved anyway).
sync "$f"
sum=$(sha256sum <"$f")
cached() { fincore --bytes --noheadings --output RES "$f" | tr -d ' '; }
before=$(cached)
[ "$before" -ge $((60 << 20)) ] ||
	skip "the page cache kept only $before bytes of a 64 MiB file just read (memory pressure)"
ovl_mount "$T/mnt" "$OVL_OPTS"
[ "$(sha256sum <"$T/mnt/data.bin")" = "$sum" ] || fail "the file reads differently through the mount"
after=$(cached)
[ "$after" -ge $((before * 9 / 10)) ] ||
	fail "reading through the mount evicted the lower file from the page cache: $before bytes cached before, $after after"
ovl_umount "$T/mnt"
