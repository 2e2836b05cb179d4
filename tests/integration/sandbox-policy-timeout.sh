#!/bin/bash
# A policy's timeout: `sleep 100` is stopped after it with status 124 (as timeout(1)) and one
# line saying why; a command ignoring SIGTERM is killed 5 s later; a process that left the
# command's session goes too; a command that ends in time keeps its own status.
. "$(dirname "$0")/../sandbox-lib.sh"
P="$T/proj"
make_project "$P"
cd "$P"
printf 'include build\n[limits]\ntimeout = 2s\n' > "$T/timeout.policy"

start=$(date +%s)
rc=0; sbx --policy "$T/timeout.policy" -- sleep 100 2> "$T/err" || rc=$?
took=$(($(date +%s) - start))
[ "$rc" = 124 ] || { cat "$T/err" >&2; fail "sleep 100 past the timeout: status $rc, want 124"; }
[ "$took" -ge 2 ] && [ "$took" -le 6 ] || fail "the 2 s timeout took ${took} s"
expect_one_line "$T/err" "ran longer than the policy's timeout of 2 s" "124"

# SIGTERM ignored (and inherited as ignored by sleep): SIGKILL after the grace period; a
# process in a session of its own dies with the sandbox's pid namespace.
start=$(date +%s)
rc=0; sbx --policy "$T/timeout.policy" -- sh -c 'setsid sleep 4242 & trap "" TERM; sleep 100' 2> "$T/err" || rc=$?
took=$(($(date +%s) - start))
[ "$rc" = 124 ] || { cat "$T/err" >&2; fail "a command ignoring SIGTERM: status $rc, want 124"; }
[ "$took" -ge 6 ] && [ "$took" -le 12 ] || fail "SIGKILL after the grace period: took ${took} s"
grep -q "still running 5 s after SIGTERM: killing it" "$T/err" || fail "no line about SIGKILL: $(cat "$T/err")"
! pgrep -u "$(id -u)" -f "sleep 4242" > /dev/null || fail "a process of the sandbox survived the timeout"

# In time: the command's own status.
rc=0; sbx --policy "$T/timeout.policy" -- sh -c 'sleep 0.2; exit 3' || rc=$?
[ "$rc" = 3 ] || fail "a command ending before the timeout: status $rc, want 3"
[ -z "$(mounts_under "$T")" ] || fail "mounts left on the host"
