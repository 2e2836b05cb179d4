#!/bin/bash
# The original bug with its real cause: the lower layer is itself a weak FUSE filesystem
# (tests/tools/weakfs: no xattr support at all, and getattr faults on chosen names).
# (a) append, create-in-directory and SQLite WAL on objects from that lower work, and no
#     call of the application returns ENOSYS;
# (b) copy-up succeeds without the optional xattrs, with exactly one log line per copy-up;
# (c) when the mandatory attributes cannot be read (getattr EIO or ENOSYS), in lookup and in
#     copy-up, the application gets EIO, never ENOSYS, and one log line names operation,
#     path, syscall, layer and errno;
# (d) the daemon keeps serving, recovers when the lower does, and the backing directory
#     behind the weak lower is unchanged.
. "$(dirname "$0")/../lib.sh"
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (apt-get install sqlite3)"
command -v strace >/dev/null || fail "strace is not installed (apt-get install strace)"
# weak_faults on|off: arm or disarm weakfs's getattr faults, and wait until it shows.
weak_faults() {
	local sig=USR2
	[ "$1" = on ] && sig=USR1
	kill -"$sig" "$weak_pid"
	for _ in $(seq 1 200); do
		if stat "$W/faults/broken-eio" >/dev/null 2>&1; then
			[ "$1" = off ] && return 0
		elif [ "$1" = on ]; then
			return 0
		fi
		sleep 0.05
	done
	fail "weakfs did not switch its getattr faults $1"
}

# expect_eio WHAT CMD...: CMD must fail, and its message must say EIO (never ENOSYS).
expect_eio() {
	local what=$1 err
	shift
	err=$("$@" 2>&1) && fail "$what succeeded on an unreadable lower object"
	case "$err" in
	*"not implemented"*) fail "$what: the application saw ENOSYS: $err" ;;
	*"Input/output error"*) ;;
	*) fail "$what: application saw '$err', want Input/output error" ;;
	esac
}

# log_line LOG PREFIX WORD...: exactly one line of LOG contains PREFIX, and it holds every WORD.
log_line() {
	local log=$1 prefix=$2 n line word
	shift 2
	n=$(grep -cF -- "$prefix" "$log" || true)
	[ "$n" = 1 ] || { cat "$log" >&2; fail "want exactly one log line with '$prefix', found $n"; }
	line=$(grep -F -- "$prefix" "$log")
	note "daemon log: $line"
	for word in "$@"; do
		case "$line" in *"$word"*) ;; *) fail "log line lacks '$word': $line" ;; esac
	done
}

B=$T/backing W=$T/weak M=$T/mnt
mkdir -p "$B/DIR" "$B/sub/deep" "$B/faults/late-nosys-dir" "$T/upper" "$T/work" "$M"
echo "from lower" > "$B/FILE"
chmod 0640 "$B/FILE"
setfattr -n user.origin -v lowerlayer "$B/FILE"	# weakfs hides it: optional, not copied
is_root_mode && chown 1234:5678 "$B/FILE"
echo keep > "$B/DIR/existing"
echo plain > "$B/plain"
echo deep > "$B/sub/deep/file"
sqlite3 "$B/db.sqlite" "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
for f in broken-eio nosys-file late-broken late-nosys; do echo "$f" > "$B/faults/$f"; done
echo ok > "$B/faults/fine"
echo probe > "$B/faults/probe"	# looked up first by the listing check in (d)
before=$(layer_fingerprint "$B")
lower_owner=$(stat -c '%u:%g' "$B/FILE")

# Faults start disarmed: (a) and (b) see a lower that only lacks xattrs.
weak_mount "$B" "$W" "xattr_errno=ENOSYS,fail_getattr=broken,nosys_getattr=nosys,disarmed"
weak_pid=$WEAK_PID
ovl_mount "$M" "lowerdir=$W,upperdir=$T/upper,workdir=$T/work"
ovl_pid=$LAST_DAEMON_PID
log="$T/daemon.mnt.log"

# --- (a) the original bug's three checks, lower = weak FUSE filesystem
strace -f -qq -o "$T/strace.log" sh -c "
	echo test >> '$M/FILE' &&
	touch '$M/DIR/new' &&
	sqlite3 '$M/db.sqlite' 'PRAGMA journal_mode=WAL; INSERT INTO t VALUES (2);' \
		'.shell ls $M > $T/listing-while-open' >/dev/null
" 2>"$T/workload.err" || { cat "$T/workload.err" >&2; fail "the workload failed on the mount"; }
if grep -n 'ENOSYS' "$T/strace.log" >&2; then
	fail "a system call of the application returned ENOSYS (lines above)"
fi
grep -q 'xShmMap\|I/O error' "$T/strace.log" "$T/workload.err" && fail "I/O error seen"

[ "$(cat "$M/FILE")" = "$(printf 'from lower\ntest')" ] || fail "appended content wrong: $(cat "$M/FILE")"
[ "$(cat "$T/upper/FILE")" = "$(printf 'from lower\ntest')" ] || fail "upper copy content wrong"
[ "$(stat -c '%a' "$T/upper/FILE")" = 640 ] || fail "upper copy mode $(stat -c '%a' "$T/upper/FILE"), want 640"
[ "$(stat -c '%a %u:%g' "$M/FILE")" = "640 $lower_owner" ] ||
	fail "merged mode/owner $(stat -c '%a %u:%g' "$M/FILE"), want 640 $lower_owner"
if is_root_mode; then
	[ "$(stat -c '%u:%g' "$T/upper/FILE")" = 1234:5678 ] ||
		fail "upper copy owner $(stat -c '%u:%g' "$T/upper/FILE"), want 1234:5678"
fi
[ -f "$T/upper/DIR/new" ] || fail "new file not in the upper layer"
[ "$(ls "$M/DIR" | tr '\n' ' ')" = "existing new " ] || fail "merged DIR lists: $(ls "$M/DIR")"
[ -f "$T/upper/db.sqlite" ] || fail "database not copied up"
grep -qx 'db.sqlite-wal' "$T/listing-while-open" && grep -qx 'db.sqlite-shm' "$T/listing-while-open" ||
	fail "-wal/-shm were not there while the connection was open: $(cat "$T/listing-while-open")"
[ "$(sqlite3 "$M/db.sqlite" 'SELECT count(*) FROM t')" = 2 ] || fail "row count wrong"
[ "$(sqlite3 "$M/db.sqlite" 'PRAGMA journal_mode')" = wal ] || fail "journal mode is not WAL"

# --- (b) missing optional metadata: copy-up goes on, one line per copy-up says what was skipped
getfattr -h --absolute-names -n user.origin "$T/upper/FILE" >/dev/null 2>&1 &&
	fail "user.origin reached the upper copy, but weakfs cannot have shown it"
chmod 0600 "$M/plain" || fail "chmod of a lower file failed"
[ "$(stat -c '%a' "$M/plain")" = 600 ] || fail "chmod not applied: $(stat -c '%a' "$M/plain")"
echo more >> "$M/sub/deep/file" || fail "append to a nested lower file failed"
echo again >> "$M/FILE" || fail "second append failed"	# already up: no new copy-up
touch "$M/DIR/newer"
[ "$(cat "$M/sub/deep/file")" = "$(printf 'deep\nmore')" ] || fail "nested append content wrong"
for obj in FILE DIR db.sqlite plain sub sub/deep sub/deep/file; do
	log_line "$log" "copy-up $obj: xattrs not copied:" "listxattr on $W:" "Operation not supported"
done
n=$(grep -c 'xattrs not copied' "$log" || true)
[ "$n" = 7 ] || { cat "$log" >&2; fail "$n 'xattrs not copied' lines for 7 copy-ups"; }
# The same with a lower answering EOPNOTSUPP (the kernel turns ENOSYS into that too).
weak_mount "$B" "$T/weak2" "xattr_errno=EOPNOTSUPP"
weak2_pid=$WEAK_PID
mkdir -p "$T/upper3" "$T/work3" "$T/mnt3"
ovl_mount "$T/mnt3" "lowerdir=$T/weak2,upperdir=$T/upper3,workdir=$T/work3"
echo test >> "$T/mnt3/FILE" || fail "append over the EOPNOTSUPP lower failed"
[ "$(stat -c '%a %u:%g' "$T/upper3/FILE")" = "640 $lower_owner" ] || fail "upper copy mode/owner wrong"
log_line "$T/daemon.mnt3.log" "copy-up FILE: xattrs not copied:" "listxattr on $T/weak2:" "Operation not supported"
[ "$(grep -c 'xattrs not copied' "$T/daemon.mnt3.log")" = 1 ] || fail "more than one line for one copy-up"
ovl_umount "$T/mnt3"
umount "$T/weak2" || fail "cannot unmount the second weakfs"
wait "$weak2_pid" || fail "the second weakfs exited with status $?"

# --- (c1) mandatory metadata unreadable at lookup: EIO to the application, one precise line
weak_faults on
strace -f -qq -o "$T/strace-c.log" sh -c "
	cat '$M/faults/broken-eio'; stat '$M/faults/nosys-file'; /bin/echo x >> '$M/faults/nosys-file'
" >/dev/null 2>&1 || true
if grep -n 'ENOSYS' "$T/strace-c.log" >&2; then
	fail "a system call of the application returned ENOSYS (lines above)"
fi
: > "$log"
expect_eio "cat of a lower file whose getattr fails with EIO" cat "$M/faults/broken-eio"
log_line "$log" "lookup faults/broken-eio:" "fstatat" "lower layer 0 $W" "failed: Input/output error"
: > "$log"
expect_eio "stat of a lower file whose getattr fails with ENOSYS" stat "$M/faults/nosys-file"
log_line "$log" "lookup faults/nosys-file:" "fstatat" "lower layer 0 $W" \
	"failed: Function not implemented (reported to the application as EIO)"
expect_eio "append to a lower file whose getattr fails with ENOSYS" \
	sh -c "/bin/echo x >> '$M/faults/nosys-file'"

# --- (c2) mandatory metadata unreadable at copy-up (lookup worked earlier). A second mount
# with a long attribute cache makes sure the kernel asks nothing before the copy-up: at the
# open for writing with writeback=1, at the first write with writeback=0.
weak_faults off
mkdir -p "$T/upper2" "$T/work2" "$T/mnt2"
ovl_mount "$T/mnt2" "lowerdir=$W,upperdir=$T/upper2,workdir=$T/work2,timeout=600"
ovl2_pid=$LAST_DAEMON_PID
log2="$T/daemon.mnt2.log"
F=$T/mnt2/faults
exec 3<"$F/late-broken" 4<"$F/late-nosys" 5<"$F/late-nosys-dir" || fail "cannot open the faults"
weak_faults on
: > "$log2"
strace -f -qq -o "$T/strace-c2.log" sh -c "
	/bin/echo x >> /proc/self/fd/3; /bin/echo x >> /proc/self/fd/4; touch /proc/self/fd/5/new
" >/dev/null 2>&1 || true
if grep -n 'ENOSYS' "$T/strace-c2.log" >&2; then
	fail "a system call of the application returned ENOSYS (lines above)"
fi
: > "$log2"
expect_eio "copy-up of a file whose getattr fails with EIO" sh -c "/bin/echo x >> /proc/self/fd/3"
log_line "$log2" "copy-up faults/late-broken:" "fstatat" "lower layer 0 $W" "failed: Input/output error"
: > "$log2"
expect_eio "copy-up of a file whose getattr fails with ENOSYS" sh -c "/bin/echo x >> /proc/self/fd/4"
log_line "$log2" "copy-up faults/late-nosys:" "fstatat" "lower layer 0 $W" \
	"failed: Function not implemented (reported to the application as EIO)"
: > "$log2"
expect_eio "copy-up of a directory whose getattr fails with ENOSYS" touch /proc/self/fd/5/new
log_line "$log2" "copy-up faults/late-nosys-dir:" "fstatat" "lower layer 0 $W" \
	"failed: Function not implemented (reported to the application as EIO)"
for f in late-broken late-nosys late-nosys-dir; do
	[ ! -e "$T/upper2/faults/$f" ] || fail "a partial copy of $f reached the upper layer"
done
[ -z "$(ls -A "$T/work2/work")" ] || fail "copy-up debris left in the work directory: $(ls -A "$T/work2/work")"

# --- (d) the daemons keep serving, also next to the broken names, and recover with the lower
kill -0 "$ovl_pid" && kill -0 "$ovl2_pid" || fail "an overlay daemon died"
kill -0 "$weak_pid" || fail "weakfs died"
[ "$(cat "$M/faults/fine")" = ok ] || fail "a healthy file next to broken ones is unreadable"
want="broken-eio fine late-broken late-nosys late-nosys-dir nosys-file probe"
[ "$(ls "$M/faults" | tr '\n' ' ')" = "$want " ] ||
	fail "listing a directory with unreadable entries: $(ls "$M/faults" 2>&1 | tr '\n' ' ')"
# A lookup in the directory between two reads makes the kernel ask for readdirplus again,
# now starting at an unreadable entry: the names must still all be listed. (Checked here,
# reported at the end, so that the checks after it still run.)
listing=$(perl -e '
	my $d = shift; my @n;
	opendir(my $h, $d) or die "opendir: $!\n";
	while (1) {
		$! = 0;
		my $e = readdir $h;
		if (!defined $e) { die "readdir: $!\n" if $!; last }
		push @n, $e unless $e eq "." || $e eq "..";
		lstat "$d/probe";
	}
	print join(" ", sort @n), "\n";' "$M/faults" 2>&1) || true
late_failure=
[ "$listing" = "$want" ] ||
	late_failure="listing a directory with unreadable entries, with a lookup in it between two reads: $listing"
echo fine2 >> "$M/plain" || fail "the mount stopped working after the failures"
[ "$(sqlite3 "$M/db.sqlite" 'INSERT INTO t VALUES (3); SELECT count(*) FROM t')" = 3 ] ||
	fail "SQLite stopped working after the failures"
weak_faults off	# the lower heals: nothing of the failures may stick
[ "$(cat "$M/faults/broken-eio")" = broken-eio ] || fail "broken-eio unreadable after the lower healed"
echo up >> /proc/self/fd/3 || fail "copy-up still fails after the lower healed"
exec 3<&- 4<&- 5<&-
[ "$(cat "$T/upper2/faults/late-broken")" = "$(printf 'late-broken\nup')" ] || fail "late copy-up content wrong"

ovl_umount "$T/mnt2"
LAST_DAEMON_PID=$ovl_pid
ovl_umount "$M"
umount "$W" || fail "cannot unmount weakfs"
wait "$weak_pid" || fail "weakfs exited with status $?"
after=$(layer_fingerprint "$B")
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") >&2; fail "the backing directory changed"; }
[ -z "$late_failure" ] || fail "$late_failure"
