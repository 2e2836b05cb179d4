#!/bin/bash
# squash_unmapped: in a user namespace the kernel refuses every write to a FUSE inode whose
# owner it cannot map, so a checkout owned by an unmapped user or group is read-only through
# the overlay. With squash_unmapped such owners are reported (and copied up) as the daemon's
# own, and a real build works; without it the refusal is the documented behaviour.
. "$(dirname "$0")/../lib.sh"
make_layers
M=$T/mnt
# A project whose owner is unmapped where the daemon runs: as root, files of ids 1234:1234 seen
# from a namespace that maps only root; rootless, the staged example (owned by host root).
if is_root_mode; then
	cp -r "$TESTS_DIR/../examples/project" "$T/lower1/proj"
	chown -R 1234:1234 "$T/lower1/proj"
	src="$T/lower1/proj"
else
	mkdir "$T/lower1/proj"
	mount --bind "$TESTS_DIR/../examples/project" "$T/lower1/proj" || fail "bind mount of the example failed"
	MOUNTS+=("$T/lower1/proj")
	src="$T/lower1/proj"
fi
before=$(layer_fingerprint "$src")

# Inside a namespace mapping only our own id: what the sandbox does.
run_ns() {
	unshare -Urm bash -c '
		set -eu
		daemon=$1 opts=$2 mnt=$3 log=$4 cmd=$5
		"$daemon" -f -o "$opts" "$mnt" 2>"$log" & pid=$!
		for i in $(seq 1 100); do mountpoint -q "$mnt" && break; sleep 0.05; done
		rc=0; bash -c "$cmd" || rc=$?
		umount "$mnt" 2>/dev/null || true
		wait $pid || true
		exit $rc' _ "$OVERLAYD" "$1" "$M" "$T/daemon.log" "$2"
}

owner=$(run_ns "$OVL_OPTS" "stat -c %u:%g $M/proj/Makefile")
[ "$owner" = 65534:65534 ] || fail "without squash_unmapped the owner shows as '$owner', want the overflow ids"
if run_ns "$OVL_OPTS" "touch $M/proj/new 2>/dev/null"; then
	fail "the kernel allowed a write under an unmapped owner: the premise of this test changed"
fi
note "without squash_unmapped: owner 65534:65534, writes refused (kernel)"

rm -rf "$T/upper" "$T/work" && mkdir "$T/upper" "$T/work"
out=$(run_ns "$OVL_OPTS,squash_unmapped" "
	stat -c %u:%g $M/proj/Makefile
	cd $M/proj && make -s -j2 && ./hello && touch src/greet.c && echo appended >> Makefile
	stat -c %u:%g $M/proj/Makefile") || fail "build with squash_unmapped failed: $out"
[ "$(echo "$out" | head -1)" = 0:0 ] || fail "owner with squash_unmapped: $(echo "$out" | head -1), want 0:0"
echo "$out" | grep -q "hello, overlay built world" || fail "the built program did not run: $out"
[ "$(echo "$out" | tail -1)" = 0:0 ] || fail "copied-up file owner: $(echo "$out" | tail -1)"
[ -f "$T/upper/proj/hello" ] || fail "build output not in the upper layer"
[ "$before" = "$(layer_fingerprint "$src")" ] || fail "the lower layer changed"
