#!/bin/bash
# Stress: STRESS_JOBS (8) parallel jobs for STRESS_SECONDS (30; the long form is 300) create,
# rename, unlink, append, chmod, write through MAP_SHARED and insert into SQLite WAL databases,
# each in a private directory and all together on shared files (an append log, a database, an
# mmap file with a page per job, slots replaced by rename and removed). Proves: no error but
# the expected ones (ENOENT on a shared name another job removed, SQLite busy); the final tree
# matches the jobs' records (private directories exactly, shared files one of the outcomes the
# logged successes allow), through the mount and again after a remount; no deadlock (a
# watchdog fails the test when no job makes progress for STRESS_WATCHDOG seconds, 60, and
# dumps the daemon's thread stacks); the daemon's resident memory stays bounded (VmRSS after
# warm-up, half-way and at the end, and VmHWM, are reported).
#   STRESS_SECONDS=300 MODE=root ANTARES_BUILD=$PWD bash ../tests/integration/stress.sh
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed (apt-get install python3)"
python3 -c 'import sqlite3, mmap' 2>/dev/null || fail "python3 lacks the sqlite3 module"
WL="python3 $TESTS_DIR/tools/stress-workload.py"
JOBS=${STRESS_JOBS:-8}
SECONDS_RUN=${STRESS_SECONDS:-30}
WATCHDOG=${STRESS_WATCHDOG:-60}
# Growth of VmRSS from warm-up to the end that counts as a leak: generous, since the kernel
# may keep every inode it saw looked up (and so the daemon's inode for it).
RSS_BOUND_KB=${STRESS_RSS_BOUND_KB:-131072}

make_layers
$WL setup "$T/lower1" "$JOBS" || fail "cannot build the lower layer"
layer_fingerprint "$T/lower1" > "$T/lower.fp"
ovl_mount "$T/mnt" "$OVL_OPTS"
pid=$LAST_DAEMON_PID
out="$T/out"
mkdir "$out"

rss() { awk -v k="$1:" '$1 == k { print $2 }' /proc/"$pid"/status; }

# dump_stacks: what every daemon thread is doing (gdb when it may attach, else the kernel's
# view of each thread).
dump_stacks() {
	echo "# daemon $pid threads:" >&2
	if command -v gdb >/dev/null &&
		gdb -p "$pid" -batch -ex 'thread apply all bt' >"$T/gdb.txt" 2>&1 &&
		grep -q '^Thread' "$T/gdb.txt"; then
		sed 's/^/#   /' "$T/gdb.txt" >&2
		return
	fi
	local t
	for t in /proc/"$pid"/task/*; do
		echo "#   task ${t##*/}: $(cat "$t/comm") state $(awk '{print $3}' "$t/stat") wchan $(cat "$t/wchan" 2>/dev/null)" >&2
		sed 's/^/#     /' "$t/stack" 2>/dev/null >&2 || true
	done
}

progress() { cat "$out"/progress.* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }

job_pids=()
for j in $(seq 0 $((JOBS - 1))); do
	$WL job "$T/mnt" "$j" "$SECONDS_RUN" "$out" 2>"$out/err.$j" &
	job_pids+=($!)
done

# Watchdog: progress must move at least once every WATCHDOG seconds until every job ended.
last=-1 still=0 elapsed=0 rss_warm="" rss_mid=""
while :; do
	running=0
	for p in "${job_pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
	[ "$running" = 0 ] && break
	sleep 1
	elapsed=$((elapsed + 1))
	[ "$elapsed" = 3 ] && rss_warm=$(rss VmRSS)
	[ "$elapsed" = $((SECONDS_RUN / 2 + 1)) ] && rss_mid=$(rss VmRSS)
	now=$(progress)
	if [ "$now" = "$last" ]; then
		still=$((still + 1))
	else
		still=0 last=$now
	fi
	if [ "$still" -ge "$WATCHDOG" ]; then
		dump_stacks
		# a deadlocked daemon would not end on cleanup's SIGTERM
		for p in "${job_pids[@]}" "$pid"; do kill -9 "$p" 2>/dev/null || true; done
		wait 2>/dev/null
		fail "deadlock: no job made progress for ${WATCHDOG}s ($now operations done, $running jobs running)"
	fi
done
bad=0
for j in $(seq 0 $((JOBS - 1))); do
	wait "${job_pids[$j]}" || { bad=1; echo "# job $j: $(cat "$out/err.$j")" >&2; }
done
[ "$bad" = 0 ] || fail "jobs saw unexpected errors (above)"
kill -0 "$pid" || fail "the daemon died under stress"
rss_end=$(rss VmRSS) hwm=$(rss VmHWM)
: "${rss_warm:=$rss_end}" "${rss_mid:=$rss_end}"
note "daemon VmRSS: ${rss_warm} kB after warm-up, ${rss_mid} kB half-way, ${rss_end} kB at the end; VmHWM ${hwm} kB"

res=$($WL check "$T/mnt" "$JOBS" "$out" 2>&1) || fail "through the mount: $res"
note "$res"
# Not under ASan: its quarantine keeps freed memory resident (up to 256 MiB), and its leak
# check at exit covers what this bound is after.
[ -n "${ANTARES_SANITIZE:-}" ] || [ $((rss_end - rss_warm)) -lt "$RSS_BOUND_KB" ] ||
	fail "the daemon's VmRSS grew by $((rss_end - rss_warm)) kB during the run (bound $RSS_BOUND_KB kB)"
ovl_umount "$T/mnt"
[ -z "$(ls -A "$T/work/work")" ] || fail "debris in WORKDIR/work after a clean unmount: $(ls -A "$T/work/work")"
layer_fingerprint "$T/lower1" | diff -q "$T/lower.fp" - >/dev/null || fail "the lower layer changed"

ovl_mount "$T/mnt" "$OVL_OPTS"
res=$($WL check "$T/mnt" "$JOBS" "$out" 2>&1) || fail "after a remount: $res"
ovl_umount "$T/mnt"
