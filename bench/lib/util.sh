# Shared helpers for bench/run.sh: messages, timing, raw results, failures, cleanup.
# Sourced, not run.

note() { printf '# %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# Microseconds since the epoch from bash's own clock: no fork, so timing a command costs
# nothing beyond the command itself.
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# us_to_s MICROSECONDS: decimal seconds with microsecond precision.
us_to_s() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
us_to_ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# record WORKLOAD STACK VALUE: one sample into the raw results (TSV, one line per sample).
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RAW"; }

# fail_note WORKLOAD STACK MESSAGE [LOG]: remember a failure for the report; the log (a daemon's
# or the workload's output) is kept under $LOG_DIR so the failure can be looked at afterwards.
FAILURES=()
fail_note() {
	local wl=$1 stack=$2 msg=$3 log=${4:-} kept=""
	if [ -n "$log" ] && [ -s "$log" ]; then
		kept="$LOG_DIR/$wl.$stack.$(basename "$log").$(now_us)"
		cp "$log" "$kept" 2>/dev/null || kept=""
	fi
	FAILURES+=("$wl / $stack: $msg${kept:+ (log: $kept)}")
	printf 'bench: FAILED %s / %s: %s\n' "$wl" "$stack" "$msg" >&2
	if [ -n "$kept" ]; then
		tail -n 5 "$kept" | sed 's/^/    | /' >&2
	fi
	printf '%s\t%s\tFAIL\n' "$wl" "$stack" >>"$RAW"
}

# median: the median of the numbers on stdin (mean of the middle two for an even count).
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) printf "%.6f\n", v[(NR + 1) / 2]
		else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# samples WORKLOAD STACK: the recorded samples of one cell, one per line ("FAIL" included).
samples() { awk -F'\t' -v w="$1" -v s="$2" '$1 == w && $2 == s { print $3 }' "$RAW"; }

# cpu_snapshot: "BUSY TOTAL OURS" in clock ticks: the machine's busy and total CPU time
# (/proc/stat) and this shell's own plus its reaped descendants' (which include every
# workload and daemon, all waited for). Two snapshots tell how much CPU other processes
# took during the run: the benchmark shares the machine with whatever else runs on it.
CLK_TCK=$(getconf CLK_TCK)
cpu_snapshot() {
	local busy total ours
	read -r busy total < <(awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat)
	ours=$(sed 's/.*) //' "/proc/$$/stat" | awk '{ print $12 + $13 + $14 + $15 }')
	echo "$busy $total $ours"
}

# other_cpu_share SNAPSHOT_BEFORE SNAPSHOT_AFTER: percent of the machine's CPU time used by
# processes other than this benchmark (kernel threads such as writeback included).
other_cpu_share() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
		other = (y[1] - x[1]) - (y[3] - x[3]); if (other < 0) other = 0
		printf "%.0f", 100 * other / (y[2] - x[2]) }'
}

# Everything mounted or started by this run, so that the exit trap can undo it whatever
# happened (a failed workload, a crashed daemon, Ctrl-C).
MOUNTS=()
DAEMON_PIDS=()

# force_umount MNT: unmount, falling back to aborting a hung FUSE connection (a daemon that
# deadlocked would otherwise keep `umount` waiting) and to a lazy unmount.
force_umount() {
	local mnt=$1
	mountpoint -q "$mnt" 2>/dev/null || return 0
	umount "$mnt" 2>/dev/null && return 0
	local dev
	dev=$(stat -c '%d' "$mnt" 2>/dev/null || true)
	# The connection is named after the minor of the mount's (anonymous, major 0) device.
	if [ -n "$dev" ]; then
		local conn="/sys/fs/fuse/connections/$(((dev & 0xff) | ((dev >> 12) & 0xfff00)))"
		[ -e "$conn/abort" ] && { echo 1 >"$conn/abort" 2>/dev/null || true; }
	fi
	umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
}

# Free page reporting (virtio-balloon): the kernel hands free memory back to the host in 2 MiB
# blocks, and the first write to such a page afterwards is a fault in the host. On the
# reference machine that made filling the page cache cost whatever the run before had freed:
# 1 GiB written into an ext4 file took 0.5-1.6 s with reporting on and 0.17-0.19 s with it
# held off after one pass over free memory, and the write, copy-up and untar rows swung between
# two speeds depending on which stack came after a big delete. So, for the run, reporting is
# held off (its order raised past the largest block) and free memory is touched once; the old
# order comes back at exit. HOST_MEMORY says what was done, for the report.
REPORTING_ORDER=/sys/module/page_reporting/parameters/page_reporting_order
REPORTING_WAS=""
HOST_MEMORY="no free page reporting on this machine"
hold_host_memory() {
	[ -e "$REPORTING_ORDER" ] || return 0
	local was free_mib
	was=$(cat "$REPORTING_ORDER")
	if [ "$was" -ge 11 ]; then
		# Held off already (some machines set it on the kernel command line): nothing to
		# restore, but free memory may still have been handed back before, so touch it.
		HOST_MEMORY="free page reporting to the host already held off (order $was)"
	elif ! echo 11 >"$REPORTING_ORDER" 2>/dev/null; then
		HOST_MEMORY="free page reporting to the host on (order $was) and could not be held off: rows that fill the page cache are noisy"
		return 0
	else
		REPORTING_WAS=$was
		HOST_MEMORY="free page reporting to the host held off during the run (order $was → 11)"
	fi
	# Leave 1 GiB free: the point is to touch pages, not to push the page cache out.
	free_mib=$(awk '/^MemFree:/ { printf "%d", $2 / 1024 - 1024 }' /proc/meminfo)
	if [ "$free_mib" -gt 0 ] && "$BIN/prefault" "$free_mib"; then
		HOST_MEMORY="$HOST_MEMORY after touching $free_mib MiB of free memory once"
	else
		HOST_MEMORY="$HOST_MEMORY, but free memory could not be touched first: pages handed back before the run still fault in the host"
	fi
}

# Freed inodes. ext4 without a journal (the reference machine's /var/tmp) does not reuse an
# inode freed in the last 60 s (360 s while its inode table block is dirty) as long as that
# block is in the buffer cache: every create reads and skips each such inode of its group, one
# by one. chattr +T on the scratch directory (run.sh) spreads the runs over inode groups, but
# not always far enough: the untar row still took 16-20 s instead of 6-9 s in whichever runs
# landed among the 20,000 inodes the run before had just deleted, and the FUSE stacks' cells
# swung between the two (2026-11-30: antares 6.4 s after the page cache was dropped, 16.2 s
# straight after an untar + rm). So before each untar run the clean page cache is dropped
# (the inode table blocks with it, which is all the check looks at), and what the run reads
# is read back. FREED_INODES says what was done, for the report; CACHE_DROPPED that the lower
# must be read back once the row is done (run_workload).
FREED_INODES="nothing done (the untar row did not run)"
CACHE_DROPPED=0
forget_freed_inodes() {
	sync
	if echo 1 >/proc/sys/vm/drop_caches 2>/dev/null; then
		CACHE_DROPPED=1
		FREED_INODES="the clean page cache is dropped before each untar run (untimed), so that ext4's check of recently freed inodes finds none cached; the tar and the programs are read back before the timed pass"
	else
		FREED_INODES="the page cache could not be dropped before the untar runs: a run that creates its files among the inodes the run before freed can take twice as long on ext4 without a journal"
	fi
	cat "$SMALL_TAR" >/dev/null
	local p
	for p in tar rm mkdir timeout; do "$p" --version >/dev/null; done
}

# warm_lower: read the whole lower layer (tree and big file) into the host page cache, so that
# the first stack measured does not pay for reading the disk and the others do not profit.
warm_lower() {
	tar -cf - -C "$LOWER" . | cat >/dev/null
}

restore_host_memory() {
	[ -n "$REPORTING_WAS" ] && echo "$REPORTING_WAS" >"$REPORTING_ORDER" 2>/dev/null
	REPORTING_WAS=""
}

# FUSE over io_uring (--uring): the fuse module's enable_uring, set for the run and put back
# at exit. Only antares-overlayd asks for it (io_uring=, on by default); fuse-overlayfs's
# libfuse 3.14 does not know it, so the other stacks are not touched.
URING_PARAM=/sys/module/fuse/parameters/enable_uring
URING_WAS=""
uring_setup() {
	local now
	now=$(cat "$URING_PARAM" 2>/dev/null || echo "")
	if [ -z "$now" ]; then
		URING_STATE="not in this kernel (Linux 6.14 and later, CONFIG_FUSE_IO_URING)"
		if [ "$URING" = 1 ]; then die "--uring: this kernel has no FUSE over io_uring ($URING_PARAM is missing)"; fi
	elif [ "$URING" = 1 ] && [ "$now" != Y ]; then
		echo Y >"$URING_PARAM" || die "--uring: cannot write $URING_PARAM"
		URING_WAS=$now
		URING_STATE="on for this run (--uring: fuse.enable_uring set to Y, put back to $now at exit)"
	elif [ "$now" = Y ]; then
		URING_STATE="on (fuse.enable_uring is Y): antares-overlayd takes its requests through io_uring"
	else
		URING_STATE="off (fuse.enable_uring is N, the kernel's default): every request goes through /dev/fuse"
	fi
}

cleanup() {
	local rc=$? m p
	trap - EXIT INT TERM
	restore_host_memory
	for m in "${MOUNTS[@]}"; do force_umount "$m"; done
	for p in "${DAEMON_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${DAEMON_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -n "$URING_WAS" ] && echo "$URING_WAS" >"$URING_PARAM" 2>/dev/null
	if [ -n "${SCRATCH:-}" ] && [ -d "$SCRATCH" ]; then
		# Never delete below a directory that is still mounted (it would delete through it).
		if findmnt -rn -o TARGET | grep -q "^$SCRATCH/"; then
			note "mounts left under $SCRATCH; not deleting it"
		else
			rm -rf "$SCRATCH"
		fi
	fi
	exit "$rc"
}
