# The workloads: what each one runs, what it needs, and how its runs are arranged.
# Sourced, not run.
# shellcheck disable=SC2016 # the commands are expanded by the child shell, on purpose
#
# Each command is a bash snippet run in a child `bash -c` with V set to the stack's view (the
# directory holding linux/ and data/) and its working directory in scratch. Its output goes to
# a log, kept when it fails.
#
# Two shapes of workload:
#  - readers (stat, git-status, seq-read) run on one mount per run: the first pass after the
#    mount is recorded as "<name>-first" (cold FUSE/dentry caches, warm host page cache), the
#    second, started right after it, as "<name>", the warm number the issue asks for;
#  - writers get a fresh mount (new upper and work directories) for every run, so every run
#    does the same copy-ups and creates the same files; mount and unmount are not timed.
# A `sync` runs before every timed pass (but a reader's warm one) so that dirty data of the
# previous pass is not charged to this one.

WORKLOADS=(stat git-status untar-delete seq-read seq-write copy-up chmod sqlite compile)

declare -A WL_CMD WL_NEED WL_SHAPE WL_LABEL WL_SHORT WL_PREP

set_workloads() {
	WL_SHORT[stat]="stat every entry ($TREE_ENTRIES), warm"
	WL_LABEL[stat]="stat every file of the tree (lstat, $TREE_ENTRIES entries)"
	WL_NEED[stat]=ro WL_SHAPE[stat]=reader
	WL_CMD[stat]='"$BIN/statall" "$V/linux" >"$OUT"'

	WL_SHORT[git-status]="git status, warm"
	WL_LABEL[git-status]="git status in the tree"
	WL_NEED[git-status]=ro WL_SHAPE[git-status]=reader
	WL_CMD[git-status]='cd "$V/linux" && git status --porcelain >"$OUT"'

	WL_SHORT[untar-delete]="untar + rm -rf $SMALL_FILES small files"
	WL_LABEL[untar-delete]="untar $SMALL_FILES small files, then rm -rf them"
	WL_NEED[untar-delete]=empty WL_SHAPE[untar-delete]=writer
	WL_CMD[untar-delete]='mkdir "$V/untar" && tar -xf "$SMALL_TAR" -C "$V/untar" && rm -rf "$V/untar"'
	# Untimed, before each run (util.sh): the run before deleted 20,000 inodes.
	WL_PREP[untar-delete]=forget_freed_inodes

	WL_SHORT[seq-read]="sequential read $BIG_MB MiB, warm"
	WL_LABEL[seq-read]="sequential read of a $BIG_MB MiB lower file (dd bs=1M, page cache warm)"
	WL_NEED[seq-read]=ro WL_SHAPE[seq-read]=reader
	WL_CMD[seq-read]='dd if="$V/data/$BIG_NAME" of=/dev/null bs=1M status=none'

	WL_SHORT[seq-write]="sequential write $BIG_MB MiB + fsync"
	WL_LABEL[seq-write]="sequential write of $BIG_MB MiB, fsync (dd bs=1M conv=fsync)"
	WL_NEED[seq-write]=empty WL_SHAPE[seq-write]=writer
	WL_CMD[seq-write]='dd if=/dev/zero of="$V/data/written.bin" bs=1M count=$BIG_MB conv=fsync status=none'

	WL_SHORT[copy-up]="copy-up of $BIG_MB MiB by 1-byte append"
	WL_LABEL[copy-up]="copy-up of a $BIG_MB MiB lower file by a 1-byte append"
	WL_NEED[copy-up]=big WL_SHAPE[copy-up]=writer
	WL_CMD[copy-up]='printf x >>"$V/data/$BIG_NAME"'

	WL_SHORT[chmod]="chmod $CHMOD_FILES lower files"
	WL_LABEL[chmod]="chmod of $CHMOD_FILES lower files (one chmod process)"
	WL_NEED[chmod]=chmod WL_SHAPE[chmod]=writer
	WL_CMD[chmod]='cd "$V/linux" && xargs -0 chmod 0600 <"$CHMOD_LIST"'

	WL_SHORT[sqlite]="SQLite WAL, $SQL_INSERTS autocommit inserts"
	WL_LABEL[sqlite]="SQLite WAL, $SQL_INSERTS autocommit INSERTs (synchronous=FULL)"
	WL_NEED[sqlite]=empty WL_SHAPE[sqlite]=writer
	WL_CMD[sqlite]='sqlite3 "$V/data/bench.db" <"$SQL_FILE" >/dev/null'

	WL_SHORT[compile]="compile: make defconfig + make -j2 $COMPILE_TARGET"
	WL_LABEL[compile]="make defconfig && make -j2 $COMPILE_TARGET in the tree"
	WL_NEED[compile]=tree WL_SHAPE[compile]=writer
	WL_CMD[compile]='cd "$V/linux" && make -s defconfig && make -s -j2 $COMPILE_TARGET'
}

# Rows of the report that are not workloads of their own.
EXTRA_ROWS=(copy-up-ref copy-up-ref-fsync rss mount-ready)

# run_pass WORKLOAD STACK RECORD_AS [nosync]: one timed execution of the workload's command on VIEW.
# Records the elapsed time under RECORD_AS and the CPU time under RECORD_AS@cpu, or a failure
# (with the workload's output and, for a FUSE stack, the daemon's log).
# CPU time = user + system time of the workload's whole process tree (bash's `times` in the
# subshell, after everything was reaped; kernel overlayfs work is system time of the
# workload) plus the FUSE daemon's (from /proc). On a machine shared with other work, CPU time
# moves much less than elapsed time, so it is the second opinion when elapsed times scatter.
run_pass() {
	local wl=$1 stack=$2 as=$3 rc=0 t0 t1 d0 d1 w
	# No sync before a reader's warm pass: it is to start right after the first pass, so that
	# it finds the caches as the first pass left them, for as long as the stack keeps them
	# (a sync can take seconds on a busy machine, and outlast a 1 s attribute timeout).
	[ "${4:-}" = nosync ] || sync
	local log="$SCRATCH/pass.log" cpu="$SCRATCH/pass.times"
	OUT="$SCRATCH/pass.out"
	: >"$log"
	: >"$cpu"
	d0=$(daemon_ticks)
	t0=$(now_us)
	(
		cd "$SCRATCH" || exit 1
		V=$VIEW OUT=$OUT timeout -k 10 "$PASS_TIMEOUT" bash -c "${WL_CMD[$wl]}"
		rc=$?
		times >"$cpu"
		exit $rc
	) >>"$log" 2>&1 || rc=$?
	t1=$(now_us)
	d1=$(daemon_ticks)
	if [ "$rc" != 0 ]; then
		[ "$rc" = 124 ] && echo "timed out after $PASS_TIMEOUT s" >>"$log"
		[ -s "$DLOG" ] && { echo "--- daemon log:"; tail -n 20 "$DLOG"; } >>"$log"
		fail_note "$as" "$stack" "exit status $rc" "$log"
		return 1
	fi
	record "$as" "$stack" "$(us_to_s $((t1 - t0)))"
	# `times` prints the shell's own times, then its children's: "0m1.234s 0m0.567s".
	w=$(sed -n 2p "$cpu" | awk -v d=$((d1 - d0)) -v hz="$CLK_TCK" '{
		n = split($1 " " $2, f, " "); s = 0
		for (i = 1; i <= n; i++) { split(f[i], ms, "m"); sub("s", "", ms[2]); s += ms[1] * 60 + ms[2] }
		printf "%.3f", s + d / hz }')
	record "$as@cpu" "$stack" "$w"
}

# daemon_ticks: CPU ticks (user + system, all threads) used so far by the current FUSE daemon;
# 0 without one. Fields counted after the ") " that ends the command name.
daemon_ticks() {
	if [ -n "${DPID:-}" ] && [ -r "/proc/$DPID/stat" ]; then
		sed 's/.*) //' "/proc/$DPID/stat" | awk '{ print $12 + $13 }'
	else
		echo 0
	fi
}

# run_workload WORKLOAD: all runs of one workload on every stack, the stacks taking turns (run 1
# of each stack, then run 2 of each, ...). This machine's speed drifts over minutes (a native
# stat pass took 0.24 s for a while and 0.19 s after); with all runs of one stack before the
# next, such a drift fell on one stack's cells and moved the ratios, taking turns spreads it
# over all of them. Each round starts one stack further on: what a run leaves behind for the
# next one (compiles right after native's: medians 85.8 and 81.3 s; one place later 79.4 and
# 78.5 s, whichever build sat where) then falls on every stack in turn, not on the same one.
run_workload() {
	local wl=$1 stack i k n=$RUNS
	[ "$wl" = compile ] && n=$COMPILE_RUNS
	note "$wl: ${WL_LABEL[$wl]} ($n runs per stack)"
	CUR_WL=$wl
	for i in $(seq 1 "$n"); do
		local order=()
		for k in "${!STACKS[@]}"; do
			order+=("${STACKS[$(((k + i - 1) % ${#STACKS[@]}))]}")
		done
		for stack in "${order[@]}"; do
			CUR_STACK=$stack
			stack_up "$stack" "${WL_NEED[$wl]}" || { stack_down; continue; }
			[ -n "${WL_PREP[$wl]:-}" ] && "${WL_PREP[$wl]}"
			if [ "${WL_SHAPE[$wl]}" = reader ]; then
				run_pass "$wl" "$stack" "$wl-first" && run_pass "$wl" "$stack" "$wl" nosync && after_reader "$wl" "$stack"
			else
				run_pass "$wl" "$stack" "$wl" || true
			fi
			stack_down
		done
		[ "$wl" = copy-up ] && copy_up_reference
	done
	# A preparation emptied the page cache: fill it again for the workloads after.
	if [ "$CACHE_DROPPED" = 1 ]; then
		warm_lower
		CACHE_DROPPED=0
	fi
	for stack in "${STACKS[@]}"; do
		note "  $stack: $(samples "$wl" "$stack" | tr '\n' ' ')"
	done
	[ "$wl" = copy-up ] && note "  cp --reflink=auto: $(samples copy-up-ref native | tr '\n' ' ')"
	return 0
}

# After a reader's warm pass: the daemon's peak RSS after stat-ing the whole tree, and a check
# that the stack showed as many entries as the native tree has (a wrong count would make the
# time meaningless).
after_reader() {
	local wl=$1 stack=$2
	if [ "$wl" = stat ]; then
		local seen
		seen=$(cat "$OUT")
		[ "$seen" = "$TREE_ENTRIES" ] ||
			fail_note "stat" "$stack" "saw $seen entries, the native tree has $TREE_ENTRIES"
		if [ -n "$DPID" ]; then
			local hwm
			hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DPID/status")
			record rss "$stack" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')"
		fi
	fi
	return 0
}

# The reference for copy-up: `cp --reflink=auto` of the same file onto the same filesystem
# as the uppers (clones where the filesystem can, copy_file_range otherwise), without and with
# an fsync of the copy (the overlays fsync copied-up data before it appears).
# One run of each, taking its turn after the stacks' run of the same round.
copy_up_reference() {
	local d="$SCRATCH/copy-ref" t0 t1
	for as in copy-up-ref copy-up-ref-fsync; do
		rm -rf "$d" && mkdir -p "$d"
		sync
		t0=$(now_us)
		if [ "$as" = copy-up-ref ]; then
			cp --reflink=auto "$LOWER/data/$BIG_NAME" "$d/"
		else
			cp --reflink=auto "$LOWER/data/$BIG_NAME" "$d/" && sync "$d/$BIG_NAME"
		fi
		t1=$(now_us)
		record "$as" native "$(us_to_s $((t1 - t0)))"
	done
	rm -rf "$d"
}
