#!/bin/bash
# Random file I/O against a model of every byte (tests/tools/iomodel.c): writes, appends,
# reads through handles opened before the copy-up, mmap reads and shared writes, O_DIRECT
# reads, truncation, fallocate, copy_file_range, fsync, dropped page cache, chmod and utimes
# (metadata-only copy-ups), rename swaps of open files, streams of sequential writes long
# enough for write-behind. Each read must match the model, in the daemon's default mode
# (writeback cache) and in antares-sandbox's (writeback=0,metacopy=on); after the unmount the lower layers must be untouched and a remount must show the model's
# bytes. First the model itself is checked on a plain directory, and shown to catch a byte
# changed behind its back. IOMODEL_SEEDS and IOMODEL_OPS replace the fixed seeds and length.
. "$(dirname "$0")/../lib.sh"
IOMODEL=$TOOLS/iomodel
[ -x "$IOMODEL" ] || fail "iomodel not built at $IOMODEL (tests/meson.build)"
# Under the sanitizers (a run 3-4 times slower) one seed: they look for memory errors of the
# daemon, and one seed already takes every path.
SEEDS=${IOMODEL_SEEDS:-"11 12"}
[ -n "${ANTARES_SANITIZE:-}" ] && SEEDS=${IOMODEL_SEEDS:-11}
OPS=${IOMODEL_OPS:-3000}

# fresh_layers SEED: the starting files in $T/lower1 (top) and $T/lower2, empty upper and work.
fresh_layers() {
	rm -rf "$T/lower1" "$T/lower2" "$T/upper" "$T/work" "$T/expect"
	make_layers
	mkdir "$T/expect"
	"$IOMODEL" init "$1" "$T/lower1" "$T/lower2" || fail "iomodel init $1 failed"
}

# The model on a plain directory holding the merged layers: a failure here is the tool's.
plain_run() {
	fresh_layers "$1"
	rm -rf "$T/plain" && mkdir "$T/plain"
	cp -a "$T/lower2/." "$T/plain/" && cp -a "$T/lower1/." "$T/plain/" || fail "cannot copy the layers"
	"$IOMODEL" run "$1" "$OPS" "$T/plain" "${@:2}" 2>"$T/plain.err"
}
plain_run 11 || { cat "$T/plain.err" >&2; fail "the model does not hold on a plain directory (a bug in iomodel)"; }
# What this file system cannot do (O_DIRECT, fallocate modes): the mount may leave out no more.
grep "left out" "$T/plain.err" | sort -u >"$T/plain.left-out" || true
# A byte changed behind the model's back must be reported, at that byte of that object.
if plain_run 11 --corrupt-at $((OPS / 15)); then
	fail "iomodel did not notice a byte changed behind its back"
fi
changed=$(sed -n "s/^iomodel: changed byte \([0-9]*\) of object \([0-9]*\) behind.*/(object \2): byte \1 is/p" "$T/plain.err")
[ -n "$changed" ] && grep "FAIL (seed 11" "$T/plain.err" | grep -qF "$changed" ||
	{ cat "$T/plain.err" >&2; fail "iomodel's report does not name the byte it changed ($changed)"; }

# The names on the mount: the six files and nothing else (no swap.tmp, no bottom-layer f5).
check_names() {
	[ "$(ls -A "$T/mnt" | tr '\n' ' ')" = "f0 f1 f2 f3 f4 f5 " ] ||
		fail "the mount lists $(ls -A "$T/mnt" | tr '\n' ' ')instead of f0-f5 ($what$1)"
}

for opts in "" ",writeback=0,metacopy=on"; do
	for seed in $SEEDS; do
		what="seed $seed, options '${opts#,}'"
		fresh_layers "$seed"
		layer_fingerprint "$T/lower1" >"$T/lower1.fp"
		layer_fingerprint "$T/lower2" >"$T/lower2.fp"
		# Without the writeback cache the daemon holds a write fd per written file and
		# closes it after 2 s idle (writefds.h): pause once for that, mid-run.
		pause=()
		[ -n "$opts" ] && pause=(--pause-at $((OPS / 2)))
		ovl_mount "$T/mnt" "$OVL_OPTS$opts"
		if ! "$IOMODEL" run "$seed" "$OPS" "$T/mnt" --expect "$T/expect" "${pause[@]}" 2>"$T/run.err"; then
			cat "$T/run.err" >&2
			fail "the mount returned other bytes than written ($what; replay: iomodel run $seed $OPS DIR)"
		fi
		note "$(tail -1 "$T/run.err")"
		left=$(grep "left out" "$T/run.err" | sort -u | comm -13 "$T/plain.left-out" -)
		[ -z "$left" ] || fail "the mount left out what the plain directory could do ($what): $left"
		check_names ""
		ovl_umount "$T/mnt"
		layer_fingerprint "$T/lower1" | diff -u "$T/lower1.fp" - >&2 || fail "the top lower layer changed ($what)"
		layer_fingerprint "$T/lower2" | diff -u "$T/lower2.fp" - >&2 || fail "the bottom lower layer changed ($what)"
		ovl_mount "$T/mnt" "$OVL_OPTS$opts"
		check_names ", after a remount"
		for f in "$T"/expect/*; do
			cmp "$f" "$T/mnt/$(basename "$f")" >&2 ||
				fail "after a remount $(basename "$f") differs from what was written ($what)"
		done
		ovl_umount "$T/mnt"
	done
done
