#!/bin/bash
# Big copy-ups appear before their data is on disk; a record in WORKDIR/work keeps the rule
# that a torn copy never survives a crash (daemon/pending.c). With
# ANTARES_OVERLAYD_TEST_HOLD_SYNC=1 the background thread syncs nothing, so a record stays
# until something settles it:
#   - an append to a big lower file leaves a record; an fsync of the file, a rename or link of
#     it, a rename of a directory above it and a clean unmount each settle it first;
#   - small files are fsynced before they appear and leave no record;
#   - the daemon killed with a record on disk: the next mount (same boot) keeps the copy;
#   - the data copy-up of a metadata-only copy, undone after a "reboot": the metadata-only
#     copy (and its chmod) comes back;
#   - records of another boot: the copy goes when the upper path still names it (the lower
#     file shows again), or the metadata-only copy it replaced comes back; a path that names
#     another file since is left alone.
. "$(dirname "$0")/../lib.sh"
make_layers
export ANTARES_OVERLAYD_TEST_HOLD_SYNC=1
W=$T/work/work
MIB=$((1 << 20))
mkdir "$T/lower1/dir"
for f in a b c d e g h i k dir/f; do head -c $((4 * MIB)) /dev/urandom >"$T/lower1/$f.bin"; done
head -c 1000 /dev/urandom >"$T/lower1/small.bin"
layer_fingerprint "$T/lower1" >"$T/lower.before"

records() { ls -A "$W" | grep -c '^#pending-[0-9-]*$' || true; }
# appended NAME: what NAME reads as after `printf x >>`.
appended() { { cat "$T/lower1/$1"; printf x; } | sha256sum; }
check_content() { # PATH-IN-MOUNT LOWER-NAME
	[ "$(sha256sum <"$1")" = "$(appended "$2")" ] || fail "$1 does not read as its lower file plus the appended byte"
}
append_pending() { # NAME: append, and the copy must be pending
	printf x >>"$T/mnt/$1" || fail "append to $1 failed"
	[ "$(records)" = 1 ] || fail "an append to the 4 MiB lower file $1 left $(records) records in WORKDIR/work, expected 1 (was it fsynced before it appeared?)"
}

ovl_mount "$T/mnt" "$OVL_OPTS"
append_pending a.bin
sync "$T/mnt/a.bin" # fsync(2) of the file
[ "$(records)" = 0 ] || fail "fsync of a.bin returned while its copy was still recorded as unsynced"
check_content "$T/upper/a.bin" a.bin

append_pending b.bin
mv "$T/mnt/b.bin" "$T/mnt/b2.bin"
[ "$(records)" = 0 ] || fail "b.bin was renamed while its copy was unsynced: the record's path no longer finds it"
check_content "$T/mnt/b2.bin" b.bin

append_pending c.bin
ln "$T/mnt/c.bin" "$T/mnt/c-link.bin"
[ "$(records)" = 0 ] || fail "c.bin got a second name while its copy was unsynced"

append_pending dir/f.bin
mv "$T/mnt/dir" "$T/mnt/dir2"
[ "$(records)" = 0 ] || fail "the directory above an unsynced copy was renamed before the copy was synced"
check_content "$T/mnt/dir2/f.bin" dir/f.bin

printf x >>"$T/mnt/small.bin"
[ "$(records)" = 0 ] || fail "a 1000-byte copy-up left a record: small copies are fsynced before they appear"
check_content "$T/mnt/small.bin" small.bin

append_pending d.bin
ovl_umount "$T/mnt"
[ -z "$(ls -A "$W")" ] || fail "a clean unmount left in WORKDIR/work: $(ls -A "$W" | tr '\n' ' ')"
check_content "$T/upper/d.bin" d.bin

# The daemon dies with a copy pending; the system keeps running, so the page cache holds it.
ovl_mount "$T/mnt" "$OVL_OPTS"
append_pending e.bin
kill -9 "$LAST_DAEMON_PID"
wait "$LAST_DAEMON_PID" 2>/dev/null || true
umount "$T/mnt" 2>/dev/null || umount -l "$T/mnt" 2>/dev/null || fusermount3 -u "$T/mnt" ||
	fail "cannot unmount the dead mount"
ovl_mount "$T/mnt" "$OVL_OPTS"
[ -z "$(ls -A "$W")" ] || fail "the mount after a killed daemon left in WORKDIR/work: $(ls -A "$W" | tr '\n' ' ')"
check_content "$T/mnt/e.bin" e.bin
ovl_umount "$T/mnt"

# A metadata-only copy getting its data: the record keeps it. Then the system "stops" (the
# record is made to look like another boot's): the metadata-only copy comes back, chmod kept.
ovl_mount "$T/mnt" "$OVL_OPTS,metacopy=on"
chmod 0600 "$T/mnt/k.bin"
[ "$(records)" = 0 ] || fail "a metadata-only copy-up left a record"
append_pending k.bin
ls -A "$W" | grep -q '^#pending-[0-9-]*\.old$' ||
	fail "the data copy-up of a metadata-only copy keeps no .old link to it: $(ls -A "$W" | tr '\n' ' ')"
kill -9 "$LAST_DAEMON_PID"
wait "$LAST_DAEMON_PID" 2>/dev/null || true
umount "$T/mnt" 2>/dev/null || umount -l "$T/mnt" 2>/dev/null || fusermount3 -u "$T/mnt" ||
	fail "cannot unmount the dead mount"
for r in "$W"/\#pending-*; do
	case $r in *.copy|*.old) ;; *) sed -i 's/^boot .*/boot 00000000-0000-0000-0000-000000000000/' "$r" ;; esac
done
ovl_mount "$T/mnt" "$OVL_OPTS,metacopy=on"
[ "$(sha256sum <"$T/mnt/k.bin")" = "$(sha256sum <"$T/lower1/k.bin")" ] ||
	fail "k.bin: after the undone data copy-up it does not read as the lower file"
[ "$(stat -c %a "$T/mnt/k.bin")" = 600 ] ||
	fail "k.bin: the chmod of its metadata-only copy was lost with the undone data copy-up (mode $(stat -c %a "$T/mnt/k.bin"))"
[ -z "$(ls -A "$W")" ] || fail "recovery left in WORKDIR/work: $(ls -A "$W" | tr '\n' ' ')"
ovl_umount "$T/mnt"

# Records of another boot, as a power loss leaves them: the upper copies are torn (empty).
other="boot 00000000-0000-0000-0000-000000000000"
: >"$T/upper/g.bin"
ln "$T/upper/g.bin" "$W/#pending-1-1.copy"
printf '%s\npath g.bin\n' "$other" >"$W/#pending-1-1"
: >"$T/upper/h.bin"
ln "$T/upper/h.bin" "$W/#pending-1-2.copy"
echo "the metadata-only copy" >"$W/#pending-1-2.old"
printf '%s\npath h.bin\nold\n' "$other" >"$W/#pending-1-2"
echo "written after the copy-up" >"$T/upper/i.bin"
: >"$W/#pending-1-3.copy" # the copy, renamed over since
printf '%s\npath i.bin\n' "$other" >"$W/#pending-1-3"
ovl_mount "$T/mnt" "$OVL_OPTS"
log=$T/daemon.mnt.log
[ "$(sha256sum <"$T/mnt/g.bin")" = "$(sha256sum <"$T/lower1/g.bin")" ] ||
	fail "a copy recorded as unsynced in another boot still hides the lower g.bin"
[ ! -e "$T/upper/g.bin" ] || fail "the torn copy upper/g.bin was not removed"
grep -q "upper g.bin: its copy-up had not been confirmed on disk" "$log" ||
	fail "the removal of upper/g.bin is not in the daemon's log: $(tail -3 "$log")"
[ "$(cat "$T/mnt/h.bin")" = "the metadata-only copy" ] ||
	fail "h.bin: the copy it replaced did not come back: $(head -c 80 "$T/mnt/h.bin" | tr -cd '[:print:]')"
[ "$(cat "$T/mnt/i.bin")" = "written after the copy-up" ] ||
	fail "i.bin names another file than the recorded copy, and it was changed"
[ -z "$(ls -A "$W")" ] || fail "recovery left in WORKDIR/work: $(ls -A "$W" | tr '\n' ' ')"
ovl_umount "$T/mnt"

layer_fingerprint "$T/lower1" >"$T/lower.after"
diff -u "$T/lower.before" "$T/lower.after" >&2 || fail "the lower layer changed"
