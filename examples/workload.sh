#!/bin/sh
# The example job: a parallel make and an SQLite database in WAL mode, run in the current
# directory (the overlay mount).
set -eu
make -s -j2
./hello
sqlite3 build-log.db "PRAGMA journal_mode=WAL;
	CREATE TABLE IF NOT EXISTS runs(at TEXT);
	INSERT INTO runs VALUES (datetime('now'));
	SELECT 'runs recorded: ' || count(*) FROM runs;" | tail -n 1
