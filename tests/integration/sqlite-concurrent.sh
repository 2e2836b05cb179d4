#!/bin/bash
# Two processes write one WAL database from a lower layer at the same time (thousands of
# rows each): shared-memory locking through the mount must keep it consistent, so
# integrity_check is ok and the row count is exact.
. "$(dirname "$0")/../lib.sh"
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (apt-get install sqlite3)"
make_layers
ROWS=3000

sqlite3 "$T/lower1/shared.db" "PRAGMA journal_mode=WAL; CREATE TABLE t(writer TEXT, n INTEGER);" >/dev/null
ovl_mount "$T/mnt" "$OVL_OPTS"

# One transaction per row: every insert takes the WAL write lock and touches the -shm map.
writer() {
	local who=$1 i
	{
		echo "PRAGMA busy_timeout=60000;"
		for i in $(seq 1 $ROWS); do
			echo "INSERT INTO t VALUES ('$who', $i);"
		done
	} | sqlite3 "$T/mnt/shared.db" >/dev/null
}
writer a & pa=$!
writer b & pb=$!
wait $pa || fail "writer a failed"
wait $pb || fail "writer b failed"

check=$(sqlite3 "$T/mnt/shared.db" "PRAGMA integrity_check;")
[ "$check" = ok ] || fail "integrity_check: $check"
for w in a b; do
	n=$(sqlite3 "$T/mnt/shared.db" "SELECT count(DISTINCT n) FROM t WHERE writer='$w';")
	[ "$n" = $ROWS ] || fail "writer $w: $n distinct rows, want $ROWS"
done
total=$(sqlite3 "$T/mnt/shared.db" "SELECT count(*) FROM t;")
[ "$total" = $((2 * ROWS)) ] || fail "total rows $total, want $((2 * ROWS))"
ovl_umount "$T/mnt"
# The database must also be whole when read straight from the upper layer.
[ "$(sqlite3 "$T/upper/shared.db" "SELECT count(*) FROM t;")" = $((2 * ROWS)) ] || fail "upper copy incomplete"
