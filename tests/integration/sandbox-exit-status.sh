#!/bin/bash
# Acceptance 3: the command's exit status comes back (128+N when killed by signal N); SIGTERM
# or SIGINT to antares-sandbox ends the command and the helper within a second; afterwards no
# process of the run is alive and nothing is mounted on the host.
. "$(dirname "$0")/../sandbox-lib.sh"
P="$T/proj"
make_project "$P"
cd "$P"

rc=0; sbx -- false || rc=$?
[ "$rc" = 1 ] || fail "-- false returned $rc, want 1"
rc=0; sbx -- sh -c 'exit 42' || rc=$?
[ "$rc" = 42 ] || fail "-- exit 42 returned $rc"
rc=0; sbx -- sh -c 'kill -9 $$' || rc=$?
[ "$rc" = 137 ] || fail "-- kill -9 \$\$ returned $rc, want 137"

# stop_with SIG STATUS: start a build that ignores nothing, signal the helper, time the end.
stop_with() {
	local sig=$1 want=$2 marker="sleep 4$RANDOM$RANDOM"
	# A non-interactive shell starts background jobs with SIGINT ignored, and an ignored
	# signal stays ignored across exec: give the run the default dispositions of a terminal.
	env --default-signal "$SANDBOX" -- sh -c "$marker & $marker; echo never" > "$T/stop.out" 2>&1 &
	local helper=$! tree="" i
	DAEMON_PIDS+=("$helper")
	for i in $(seq 1 100); do # until the command runs
		tree=$(descendants "$helper")
		for p in $tree; do
			[ "$(cat /proc/"$p"/comm 2>/dev/null)" = sleep ] && break 2
		done
		sleep 0.05
	done
	[ "$(echo "$tree" | wc -w)" -ge 5 ] || fail "the sandbox did not start: $(cat "$T/stop.out")"
	local t0 rc=0
	t0=$(date +%s%N)
	kill -"$sig" "$helper"
	wait "$helper" || rc=$?
	local ms=$((($(date +%s%N) - t0) / 1000000))
	note "SIG$sig: status $rc after ${ms}ms, tree was $(echo $tree)"
	[ "$ms" -lt 1000 ] || fail "SIG$sig: the helper took ${ms}ms to end"
	[ "$rc" = "$want" ] || fail "SIG$sig: status $rc, want $want"
	grep -q never "$T/stop.out" && fail "the command went on after SIG$sig"
	for p in $tree; do
		[ -d /proc/"$p" ] && [ "$(awk '{print $3}' /proc/"$p"/stat 2>/dev/null)" != Z ] &&
			fail "process $p ($(tr '\0' ' ' < /proc/"$p"/cmdline)) is still running after SIG$sig"
	done
	pgrep -f "${marker#sleep }" >/dev/null && fail "a sandboxed process survived SIG$sig"
	return 0
}
stop_with TERM 143
stop_with INT 130
[ -z "$(mounts_under "$T")" ] || fail "mounts left on the host: $(mounts_under "$T")"
grep -q "$P" /proc/self/mountinfo && fail "the project path is mounted on the host"
true
