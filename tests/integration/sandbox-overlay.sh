#!/bin/bash
# Acceptance 1: a build appends to a tracked file and creates an SQLite WAL database in the
# project. The run succeeds, the checkout on the host stays byte-identical, --diff lists exactly
# the two changes, and a second run sees them (the upper layer is kept); --reset forgets them.
. "$(dirname "$0")/../sandbox-lib.sh"
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed"
P="$T/proj"
make_project "$P"
before=$(layer_fingerprint "$P")
cd "$P"

sbx -- sh -c 'echo x >> tracked_file; sqlite3 s.db "PRAGMA journal_mode=WAL; CREATE TABLE t(x)"' \
	> "$T/out" 2>&1 || { cat "$T/out" >&2; fail "the sandboxed build failed"; }
[ "$(layer_fingerprint "$P")" = "$before" ] || fail "the project directory changed on the host"

sbx --diff > "$T/diff" || fail "--diff failed"
printf 'A s.db\nM tracked_file\n' | diff - "$T/diff" >&2 || fail "--diff lists the wrong changes"

out=$(sbx -- sh -c 'cat tracked_file; sqlite3 s.db "PRAGMA journal_mode; SELECT name FROM sqlite_master"') ||
	fail "second run failed"
[ "$out" = "$(printf 'line 1\nx\nwal\nt')" ] || fail "second run does not see the first run's changes: $out"
[ "$(layer_fingerprint "$P")" = "$before" ] || fail "the project changed on the host after run 2"

# A deletion shows as such; --reset forgets everything.
sbx -- rm tracked_file || fail "rm in the sandbox failed"
[ "$(sbx --diff)" = "$(printf 'A s.db\nD tracked_file')" ] || fail "--diff after rm: $(sbx --diff)"
sbx --reset || fail "--reset failed"
[ -z "$(sbx --diff)" ] || fail "--diff not empty after --reset: $(sbx --diff)"
[ "$(sbx -- cat tracked_file)" = "line 1" ] || fail "after --reset the sandbox does not see the project"
[ "$(layer_fingerprint "$P")" = "$before" ] || fail "the project changed on the host"
[ -z "$(mounts_under "$T")" ] || fail "mounts left on the host: $(mounts_under "$T")"
