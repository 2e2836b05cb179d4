#!/bin/bash
# Acceptance 5: each failure is one clear line naming the step, the errno and the fix, with
# the documented status (125 setup failed, 126 cannot execute, 127 not found), and nothing
# is left mounted: no user namespaces, no access to /dev/fuse, a missing project directory,
# a bad option, a policy that cannot be loaded.
. "$(dirname "$0")/../sandbox-lib.sh"
P="$T/proj"
make_project "$P"
cd "$P"

# expect STATUS WORDS... -- ARGS: run the sandbox with ARGS, want STATUS and one error line.
expect() {
	local want=$1 words=() rc=0
	shift
	while [ "$1" != -- ]; do words+=("$1"); shift; done
	shift
	"$@" > "$T/out" 2> "$T/err" || rc=$?
	[ "$rc" = "$want" ] || { cat "$T/err" >&2; fail "$* exited with $rc, want $want"; }
	expect_one_line "$T/err" "${words[@]}"
	[ -z "$(mounts_under "$T")" ] || fail "mounts left on the host after '$*'"
}

expect 125 "create a user namespace" "No space left on device" "user.max_user_namespaces" \
	"sysctl" -- without_userns "$SANDBOX" -- true
expect 125 "open /dev/fuse" "Permission denied" "chmod 0666 /dev/fuse" -- without_fuse "$SANDBOX" -- true
expect 125 "project directory $T/nope" "No such file or directory" -- "$SANDBOX" --project "$T/nope" -- true
expect 125 "--lower $T/nope" "No such file or directory" -- "$SANDBOX" --lower "$T/nope" -- true
expect 125 "unknown option '--bogus'" "antares-sandbox --help" -- "$SANDBOX" --bogus -- true
expect 125 "--net 'everything' is unknown" -- "$SANDBOX" --net everything -- true
expect 125 "--uid 'me' must be a number" -- "$SANDBOX" --uid me -- true
expect 125 "missing COMMAND" -- "$SANDBOX"
expect 125 "--bind needs SRC and DST" -- "$SANDBOX" --bind /usr
expect 125 "--ephemeral keeps no upper layer" -- "$SANDBOX" --ephemeral --diff
expect 125 "my.policy: cannot read policy" "No such file or directory" -- "$SANDBOX" --policy ./my.policy -- true
expect 125 "no policy named 'nonesuch'" "searched:" -- "$SANDBOX" --policy nonesuch -- true
printf '[syscalls]\ndeny = opnat\n' > "$T/bad.policy"
expect 125 "$T/bad.policy:2:8: unknown syscall 'opnat'; did you mean 'openat'?" -- "$SANDBOX" --policy "$T/bad.policy" -- true
expect 127 "no-such-command" "command not found" -- "$SANDBOX" -- no-such-command
printf '#!/bin/sh\necho hi\n' > "$P/not-executable"
expect 126 "not-executable" "cannot execute" "Permission denied" -- "$SANDBOX" -- ./not-executable
# The working directory was deleted under us.
mkdir "$T/gone" && cd "$T/gone" && rmdir "$T/gone"
expect 125 "find the current directory" -- "$SANDBOX" -- true
cd "$P"
# A second run on the same upper layer while one is running.
"$SANDBOX" -- sleep 1000 &
helper=$!
DAEMON_PIDS+=("$helper")
for _ in $(seq 1 100); do [ "$(descendants "$helper" | wc -l)" -ge 4 ] && break; sleep 0.05; done
expect 125 "lock" "Device or resource busy" "--ephemeral" -- "$SANDBOX" -- true
kill "$helper"
wait "$helper" || true
[ -z "$(mounts_under "$T")" ] || fail "mounts left on the host"
