#!/bin/bash
# The daemon under valgrind memcheck on a short workload that goes through every kind of
# operation (copy-up of data and metadata, a lower directory tree renamed, whiteouts, links,
# xattrs, listings, truncation, an SQLite WAL database through mmap): no invalid access, no
# use of uninitialised memory, and no definite or indirect leak when it exits after the
# unmount (valgrind's --error-exitcode makes the daemon's exit status say so).
. "$(dirname "$0")/../lib.sh"
[ -z "${ANTARES_SANITIZE:-}" ] || skip "an ASan build cannot run under valgrind (the sanitizer run covers it)"
command -v valgrind >/dev/null || skip "valgrind is not installed (scripts/install-deps.sh installs it)"
make_layers
mkdir -p "$T/lower1/tree/sub" "$T/lower2/dir"
for i in 1 2 3; do echo "file $i" > "$T/lower1/tree/sub/f$i"; done
echo data > "$T/lower1/file"
echo other > "$T/lower2/dir/other"
ln -s file "$T/lower1/link"
head -c 300000 /dev/urandom > "$T/lower1/big"
vglog="$T/valgrind.log"
OVERLAYD_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --log-file=$vglog"
# io_uring=0: valgrind runs one thread at a time and keeps that turn through io_uring_enter,
# so with the fuse module's enable_uring set the daemon's first queue thread waiting for a
# request would stop the others from ever registering theirs (daemon/uring.c).
${OVERLAYD_WRAPPER} "$OVERLAYD" -f -o "$OVL_OPTS,io_uring=0" --log "$T/daemon.log" "$T/mnt" 2>>"$T/daemon.log" &
pid=$!
DAEMON_PIDS+=("$pid")
MOUNTS+=("$T/mnt")
for i in $(seq 1 600); do mountpoint -q "$T/mnt" && break; kill -0 "$pid" || break; sleep 0.1; done
mountpoint -q "$T/mnt" || { cat "$vglog" "$T/daemon.log" >&2; fail "the daemon did not mount under valgrind"; }

m="$T/mnt"
ls -lR "$m" >/dev/null
echo more >> "$m/file"
chmod 600 "$m/big"
truncate -s 1000 "$m/big"
mv "$m/tree" "$m/tree2"
rm "$m/dir/other"
mkdir -p "$m/new/deep" && echo x > "$m/new/deep/x"
ln "$m/file" "$m/hard"
ln -s big "$m/link2"
setfattr -n user.k -v v "$m/file" 2>/dev/null || true
getfattr -d "$m/file" >/dev/null 2>&1 || true
cat "$m"/tree2/sub/* "$m/link" >/dev/null
if command -v sqlite3 >/dev/null; then
	sqlite3 "$m/db" "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1),(2);" >/dev/null
	[ "$(sqlite3 "$m/db" 'SELECT count(*) FROM t;')" = 2 ] || fail "SQLite through the mount under valgrind"
fi
ls -lR "$m" >/dev/null
umount "$m" || fail "cannot unmount"
rc=0
wait "$pid" || rc=$?
if [ "$rc" != 0 ] || grep -q 'ERROR SUMMARY: [1-9]' "$vglog"; then
	sed 's/^/#   /' "$vglog" | head -100 >&2
	fail "valgrind found errors (daemon exit status $rc)"
fi
note "valgrind: no errors, no definite or indirect leaks"
