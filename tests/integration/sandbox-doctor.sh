#!/bin/bash
# Acceptance 6: `antares-sandbox doctor` passes here, and under the simulated failures of
# sandbox-errors.sh (no user namespaces, no access to /dev/fuse) it reports FAIL on the right
# checks, each with the cause and the fix, and exits 1.
. "$(dirname "$0")/../sandbox-lib.sh"
cd "$T"

"$SANDBOX" doctor > "$T/ok" 2>&1 || { cat "$T/ok" >&2; fail "doctor failed here"; }
note "$(tr '\n' ';' < "$T/ok")"
for c in "user namespaces" "/dev/fuse" "FUSE mount in a user namespace" seccomp newuidmap "overlay probe"; do
	grep -q "^PASS $c: " "$T/ok" || fail "doctor has no PASS line for '$c'"
done
grep -q '^FAIL' "$T/ok" && fail "doctor reported a failure here"
[ "$(grep -c '^PASS' "$T/ok")" = 6 ] || fail "want 6 PASS lines"
tail -n 1 "$T/ok" | grep -qx "doctor: all checks passed" || fail "no summary line"
[ -z "$(ls "$T" | grep antares-doctor)" ] || fail "doctor left its scratch directory"

rc=0
without_userns "$SANDBOX" doctor > "$T/nouserns" 2>&1 || rc=$?
note "$(tr '\n' ';' < "$T/nouserns")"
[ "$rc" = 1 ] || fail "doctor without user namespaces exited $rc, want 1"
line=$(grep '^FAIL user namespaces: ' "$T/nouserns") || fail "no FAIL line for user namespaces"
for w in "No space left on device" "user.max_user_namespaces=0" "fix: " "sysctl -w"; do
	case "$line" in *"$w"*) ;; *) fail "the user namespace FAIL line lacks '$w': $line" ;; esac
done
grep -q '^FAIL overlay probe: ' "$T/nouserns" || fail "the overlay probe must fail too"
grep -q '^PASS seccomp' "$T/nouserns" || fail "seccomp does not depend on user namespaces"

rc=0
without_fuse "$SANDBOX" doctor > "$T/nofuse" 2>&1 || rc=$?
note "$(tr '\n' ';' < "$T/nofuse")"
[ "$rc" = 1 ] || fail "doctor without /dev/fuse access exited $rc, want 1"
grep -q '^PASS user namespaces' "$T/nofuse" || fail "user namespaces should pass"
line=$(grep '^FAIL /dev/fuse: ' "$T/nofuse") || fail "no FAIL line for /dev/fuse"
for w in "Permission denied" "fix: " "chmod 0666 /dev/fuse"; do
	case "$line" in *"$w"*) ;; *) fail "the /dev/fuse FAIL line lacks '$w': $line" ;; esac
done
grep -q '^FAIL FUSE mount in a user namespace: not checked' "$T/nofuse" || fail "FUSE mount line"
[ -z "$(mounts_under "$T")" ] || fail "mounts left on the host"
