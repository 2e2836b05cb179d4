# The four stacks: how to give a workload a fresh view of the lower layer, and take it away.
# Sourced, not run.
#
#   native            the lower itself for read-only workloads; a scratch copy of what a
#                     writing workload touches (never the lower, which every stack shares)
#   overlayfs         kernel overlayfs, mount -t overlay
#   fuse-overlayfs    fuse-overlayfs, the FUSE peer
#   antares-overlayd  the daemon under test ($DAEMON)
#   antares-baseline  another build of it ($BASELINE, --baseline), to compare two versions
#
# Every overlay gets a new upper and work directory on the same filesystem as the lower, and
# the FUSE daemons run with -f in the background of this shell so that we know their PID
# (for the RSS reading and the exit status) without searching for it.

ALL_STACKS=(native overlayfs fuse-overlayfs antares-overlayd)
VIEW_SEQ=0

# stack_up STACK NEED: sets VIEW (a directory holding linux/ and data/ as in the lower),
# VIEW_DIR (scratch to delete afterwards), DPID (daemon PID, FUSE stacks) and DLOG (its log).
# NEED says what a native view must contain: ro (the lower itself), empty, big, chmod, tree.
# Returns non-zero (after a fail_note) when the stack could not be mounted.
stack_up() {
	local stack=$1 need=$2
	VIEW_SEQ=$((VIEW_SEQ + 1))
	VIEW_DIR="$SCRATCH/$stack.$VIEW_SEQ"
	DPID="" DLOG="$VIEW_DIR/daemon.log"
	mkdir -p "$VIEW_DIR"
	case $stack in
	native) native_view "$need" ;;
	overlayfs) kernel_mount ;;
	fuse-overlayfs | antares-overlayd | antares-baseline) fuse_mount "$stack" ;;
	*) die "unknown stack $stack" ;;
	esac
}

native_view() {
	local need=$1 d="$VIEW_DIR/tree"
	case $need in
	ro) VIEW=$LOWER; return 0 ;;
	empty) mkdir -p "$d/linux" "$d/data" ;;
	big)
		mkdir -p "$d/linux" "$d/data"
		cp "$LOWER/data/$BIG_NAME" "$d/data/"
		;;
	chmod)
		mkdir -p "$d/linux" "$d/data"
		(cd "$LOWER/linux" && xargs -0 cp --parents -t "$d/linux") <"$CHMOD_LIST"
		;;
	tree)
		mkdir -p "$d/data"
		cp -a "$LOWER/linux" "$d/linux"
		# A copy has new inode numbers and ctimes, so git's index no longer matches it, and
		# every git command in the build (the kernel's scripts/setlocalversion runs
		# `git status`) would hash all 80k files again (3.8 s of a 32.6 s native compile here).
		# The overlays show the lower's inode numbers and times, whose index is current; a
		# user's own checkout is the same. Refresh the copy's index, untimed.
		git -C "$d/linux" update-index -q --refresh >/dev/null 2>&1 || true
		;;
	*) die "unknown need $need" ;;
	esac
	VIEW=$d
}

# Mount-to-ready samples are recorded for every mount, except the availability probes.
RECORD_MOUNT_TIME=1

kernel_mount() {
	local d=$VIEW_DIR t0 t1
	mkdir -p "$d/upper" "$d/work" "$d/mnt"
	MOUNTS+=("$d/mnt")
	t0=$(now_us)
	if ! mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$d/upper,workdir=$d/work" "$d/mnt" 2>"$DLOG"; then
		fail_note "mount" overlayfs "mount -t overlay failed: $(head -c 300 "$DLOG")"
		return 1
	fi
	t1=$(now_us)
	[ "$RECORD_MOUNT_TIME" = 1 ] && record mount-ready overlayfs "$(us_to_ms $((t1 - t0)))"
	VIEW="$d/mnt"
}

fuse_mount() {
	local stack=$1 d=$VIEW_DIR t0 t1 rc=0
	local opts="lowerdir=$LOWER,upperdir=$d/upper,workdir=$d/work"
	mkdir -p "$d/upper" "$d/work" "$d/mnt"
	MOUNTS+=("$d/mnt")
	t0=$(now_us)
	case $stack in
	fuse-overlayfs) fuse-overlayfs -f -o "$opts" "$d/mnt" >>"$DLOG" 2>&1 & ;;
	# --log-level warning (the default, said explicitly): the log is where failures show up.
	antares-overlayd) "$DAEMON" -f -o "$opts${DAEMON_OPTIONS:+,$DAEMON_OPTIONS}" --log "$DLOG" --log-level warning "$d/mnt" 2>>"$DLOG" & ;;
	antares-baseline) "$BASELINE" -f -o "$opts${DAEMON_OPTIONS:+,$DAEMON_OPTIONS}${BASELINE_OPTIONS:+,$BASELINE_OPTIONS}" --log "$DLOG" --log-level warning "$d/mnt" 2>>"$DLOG" & ;;
	esac
	DPID=$!
	DAEMON_PIDS+=("$DPID")
	"$BIN/mountwait" "$d/mnt" "$DPID" 20000 || rc=$?
	t1=$(now_us)
	case $rc in
	0) ;;
	2) fail_note "mount" "$stack" "daemon exited before the mount was ready" "$DLOG"; reap_daemon; return 1 ;;
	*) fail_note "mount" "$stack" "mount not ready within 20 s" "$DLOG"; return 1 ;;
	esac
	[ "$RECORD_MOUNT_TIME" = 1 ] && record mount-ready "$stack" "$(us_to_ms $((t1 - t0)))"
	VIEW="$d/mnt"
}

# reap_daemon: wait for the current daemon and report an unclean exit. A daemon may take
# seconds to exit after the unmount (the kernel sends a FORGET for every inode it still knew
# at unmount, ~84k after a stat of the tree), so only one that takes minutes is called hung.
reap_daemon() {
	[ -n "$DPID" ] || return 0
	local rc=0
	for _ in $(seq 1 2400); do
		[ "$(sed 's/.*) //' "/proc/$DPID/stat" 2>/dev/null | cut -c1)" = Z ] && break
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$DPID" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$DPID/stat" 2>/dev/null | cut -c1)" != Z ]; then
		fail_note "unmount" "$CUR_STACK" "daemon still running 120 s after unmount; killed" "$DLOG"
		kill -9 "$DPID" 2>/dev/null || true
	fi
	wait "$DPID" || rc=$?
	[ "$rc" = 0 ] || fail_note "unmount" "$CUR_STACK" "daemon exited with status $rc" "$DLOG"
	DPID=""
}

# stack_down: unmount (the daemon then exits by itself), check how it exited, delete scratch.
stack_down() {
	if [ -d "$VIEW_DIR/mnt" ]; then
		local t0 t1
		t0=$(now_us)
		if mountpoint -q "$VIEW_DIR/mnt"; then
			umount "$VIEW_DIR/mnt" 2>>"$DLOG" || {
				fail_note "unmount" "$CUR_STACK" "umount failed (busy or hung daemon)" "$DLOG"
				force_umount "$VIEW_DIR/mnt"
			}
		fi
		reap_daemon
		t1=$(now_us)
		# Time from unmount until the daemon has exited. The row of the table is the one
		# after the stat passes (the kernel then knows every inode of the tree and forgets
		# them all at unmount); the others are kept for the slow-exit notes (fuse-overlayfs
		# deletes what it moved to its work directory before it exits, for example).
		if [ "$CUR_STACK" != overlayfs ] && [ "$RECORD_MOUNT_TIME" = 1 ]; then
			[ "${CUR_WL:-}" = stat ] && record unmount-exit "$CUR_STACK" "$(us_to_ms $((t1 - t0)))"
			record "exit@${CUR_WL:-}" "$CUR_STACK" "$(us_to_ms $((t1 - t0)))"
		fi
		# Deleting through a mount that is still there would go into the lower (or hang).
		mountpoint -q "$VIEW_DIR/mnt" && { note "$VIEW_DIR/mnt still mounted; left in place"; return 0; }
	fi
	rm -rf "$VIEW_DIR"
}

# probe_stacks: drop the stacks that cannot run here, each with a printed note.
probe_stacks() {
	local s kept=()
	RECORD_MOUNT_TIME=0
	for s in "${STACKS[@]}"; do
		CUR_STACK=$s
		case $s in
		native) kept+=("$s"); continue ;;
		overlayfs)
			grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
			grep -qw overlay /proc/filesystems || { SKIPPED+=("$s: no overlay filesystem in this kernel"); continue; }
			;;
		fuse-overlayfs)
			command -v fuse-overlayfs >/dev/null || { SKIPPED+=("$s: fuse-overlayfs not installed"); continue; }
			;;
		antares-overlayd)
			[ -x "$DAEMON" ] || { SKIPPED+=("$s: no daemon at $DAEMON_PATH (build it, or pass --daemon)"); continue; }
			;;
		antares-baseline)
			[ -x "$BASELINE" ] || { SKIPPED+=("$s: no daemon at $BASELINE_PATH"); continue; }
			;;
		esac
		[ -e /dev/fuse ] || [ "$s" = overlayfs ] || { SKIPPED+=("$s: no /dev/fuse"); continue; }
		if stack_up "$s" ro && [ -d "$VIEW/linux/.git" ]; then
			kept+=("$s")
		else
			SKIPPED+=("$s: test mount failed (see failures)")
		fi
		stack_down
	done
	RECORD_MOUNT_TIME=1
	STACKS=("${kept[@]}")
	for s in "${SKIPPED[@]}"; do note "skipping $s"; done
}
