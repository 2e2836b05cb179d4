#!/bin/bash
# The three checks of the original bug report, on files and a database from a lower layer:
# append to a lower file (copy-up keeps mode, owner, xattrs), create in a lower directory,
# and SQLite WAL on a lower database; under strace no call may return ENOSYS.
. "$(dirname "$0")/../lib.sh"
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (apt-get install sqlite3)"
command -v strace >/dev/null || fail "strace is not installed (apt-get install strace)"
make_layers

echo "from lower" > "$T/lower1/FILE"
chmod 0640 "$T/lower1/FILE"
setfattr -n user.origin -v lowerlayer "$T/lower1/FILE"
mkdir "$T/lower1/DIR"
echo keep > "$T/lower1/DIR/existing"
sqlite3 "$T/lower2/db.sqlite" "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
before=$(layer_fingerprint "$T/lower1"; layer_fingerprint "$T/lower2")
lower_owner=$(stat -c '%u:%g' "$T/lower1/FILE")

ovl_mount "$T/mnt" "$OVL_OPTS"
M=$T/mnt

strace -f -qq -o "$T/strace.log" sh -c "
	echo test >> '$M/FILE' &&
	touch '$M/DIR/new' &&
	sqlite3 '$M/db.sqlite' 'PRAGMA journal_mode=WAL; INSERT INTO t VALUES (2);' \
		'.shell ls $M > $T/listing-while-open' >/dev/null
" || fail "the workload failed on the mount"

[ "$(cat "$M/FILE")" = "$(printf 'from lower\ntest')" ] || fail "appended content wrong: $(cat "$M/FILE")"
[ "$(stat -c '%a' "$T/upper/FILE")" = 640 ] || fail "upper copy mode $(stat -c '%a' "$T/upper/FILE"), want 640"
[ "$(stat -c '%a %u:%g' "$M/FILE")" = "640 $lower_owner" ] || fail "merged mode/owner $(stat -c '%a %u:%g' "$M/FILE"), want 640 $lower_owner"
[ "$(getfattr --absolute-names --only-values -n user.origin "$T/upper/FILE")" = lowerlayer ] || fail "user xattr lost on copy-up"
[ "$(getfattr --absolute-names --only-values -n user.origin "$M/FILE")" = lowerlayer ] || fail "user xattr not visible on the mount"
[ -f "$T/upper/DIR/new" ] || fail "new file not in the upper layer"
[ "$(ls "$M/DIR" | tr '\n' ' ')" = "existing new " ] || fail "merged DIR lists: $(ls "$M/DIR")"
[ -f "$T/upper/db.sqlite" ] || fail "database not copied up"
grep -qx 'db.sqlite-wal' "$T/listing-while-open" && grep -qx 'db.sqlite-shm' "$T/listing-while-open" ||
	fail "-wal/-shm were not there while the connection was open: $(cat "$T/listing-while-open")"
[ "$(sqlite3 "$M/db.sqlite" 'SELECT count(*) FROM t')" = 2 ] || fail "row count wrong"
[ "$(sqlite3 "$M/db.sqlite" 'PRAGMA journal_mode')" = wal ] || fail "journal mode is not WAL"

if grep -n 'ENOSYS' "$T/strace.log" >&2; then
	fail "a system call returned ENOSYS (lines above)"
fi
grep -q 'xShmMap\|I/O error' "$T/strace.log" && fail "I/O error seen"

ovl_umount "$T/mnt"
after=$(layer_fingerprint "$T/lower1"; layer_fingerprint "$T/lower2")
[ "$before" = "$after" ] || fail "a lower layer changed"
