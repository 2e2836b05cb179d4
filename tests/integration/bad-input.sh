#!/bin/bash
# Every bad command line or layer layout is refused before anything happens: exit status 1,
# exactly one line on stderr naming the problem, nothing mounted, nothing written (every
# layer, the workdir and the mountpoint compare byte- and timestamp-identical before/after).
. "$(dirname "$0")/../lib.sh"

L=$T/L # all layers and the mountpoint; rebuilt from scratch for every case
LO1=$L/lower1 LO2=$L/lower2 UP=$L/upper WK=$L/work MNT=$L/mnt
GOOD="lowerdir=$LO1:$LO2,upperdir=$UP,workdir=$WK"

# A second filesystem for "upper and work on different filesystems". Root mode mounts it
# directly; rootless mode is userns-root in its own mount namespace, where tmpfs is allowed.
mkdir "$T/tmpfs"
mount -t tmpfs -o size=1m,mode=0755 antares-test "$T/tmpfs" || fail "cannot mount a tmpfs on $T/tmpfs"
MOUNTS+=("$T/tmpfs")

# The layout every case starts from: real content (with xattrs) in each layer, an empty
# workdir, and the extra directories the nesting cases point into.
setup_layout() {
	rm -rf "$L" "$T/tmpfs/work"
	mkdir -p "$LO1/sub" "$LO2/dir" "$UP/inner" "$WK" "$MNT" "$L/work2/up" "$L/work3/work/data" \
		"$T/tmpfs/work"
	echo top > "$LO1/file"
	echo bottom > "$LO2/dir/file"
	echo upper > "$UP/kept"
	echo precious > "$L/work3/work/data/file" # a lower layer someone put inside a workdir
	setfattr -n user.origin -v lower1 "$LO1/file"
	echo "not a directory" > "$L/afile"
	ln -s lower1 "$L/lower1-link"
}

# Content, modes, owners and xattrs (layer_fingerprint), plus mtime and ctime of every object,
# so even a file created and removed again (a probe) shows up.
state() {
	layer_fingerprint "$L"
	layer_fingerprint "$T/tmpfs"
	(cd "$L" && find . "$T/tmpfs" -printf '%p %y %T@ %C@\n' | sort)
}

# Mounts anywhere under $T, so a stray mount through --fd or a wrong path is seen too.
mounts_under_t() {
	awk -v t="$T/" 'index($5, t) == 1 { print $5, $9 }' /proc/self/mountinfo | sort
}

# Daemons of this test still running (a case that wrongly detached); zombies do not count.
live_daemons() {
	local p
	for p in $(pgrep -x antares-overlay || true); do
		grep -qs "$L" "/proc/$p/cmdline" || continue
		[ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
		echo "$p"
	done
}

baseline_mounts=$(mounts_under_t)
n=0
FAILED=()

# refused NAME ARGS...: run the daemon with ARGS on a fresh layout and check the refusal.
refused() {
	local name=$1
	shift
	n=$((n + 1))
	setup_layout
	local before after rc=0 out=$T/case$n.out err=$T/case$n.err problems=()
	before=$(state)
	timeout 20 "$OVERLAYD" "$@" >"$out" 2>"$err" || rc=$?
	note "case $n: $name"
	note "    exit $rc, stderr: $(sed 's/^/| /' "$err" | tr '\n' ' ')"

	[ "$rc" = 1 ] || problems+=("exit status $rc, want 1")
	[ "$(wc -l < "$err")" = 1 ] && [ -z "$(tail -c1 "$err")" ] ||
		problems+=("stderr has $(wc -l < "$err") lines, want exactly one")
	head -n1 "$err" | grep -q '^antares-overlayd: .' || problems+=("stderr does not start with 'antares-overlayd: '")
	[ ! -s "$out" ] || problems+=("wrote to stdout: $(head -c 200 "$out")")
	if mountpoint -q "$MNT"; then
		problems+=("something is mounted on the mountpoint")
		umount "$MNT" || umount -l "$MNT"
	fi
	[ "$(mounts_under_t)" = "$baseline_mounts" ] || problems+=("a mount appeared: $(mounts_under_t | tr '\n' ' ')")
	# A daemon that wrongly detached may still be working: let it finish before comparing.
	for _ in $(seq 1 100); do
		[ -z "$(live_daemons)" ] && break
		sleep 0.05
	done
	local stray
	stray=$(live_daemons)
	if [ -n "$stray" ]; then
		problems+=("daemon still running: pid $stray")
		kill $stray 2>/dev/null || true # word splitting wanted: one pid per word
	fi
	after=$(state)
	[ "$before" = "$after" ] ||
		problems+=("layers changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -4 | tr '\n' ' ')")

	local p
	for p in "${problems[@]}"; do note "    PROBLEM: $p"; done
	[ "${#problems[@]}" = 0 ] || FAILED+=("case $n ($name): $(printf '%s; ' "${problems[@]:0:2}")...")
}

# --- Command line. ---------------------------------------------------------------------------
refused "no -o at all" "$MNT"
refused "-o without a value" -o
refused "unknown command-line flag" -x -o "$GOOD" "$MNT"
refused "no mountpoint" -o "$GOOD"
refused "too many positional arguments" -o "$GOOD" overlay "$MNT" extra
refused "--log-level unknown" --log-level loud -o "$GOOD" "$MNT"
refused "--log in a missing directory" --log "$T/no-such-dir/log" -o "$GOOD" "$MNT"
refused "--fd not a number" --fd abc -o "$GOOD"
refused "--fd negative" --fd -1 -o "$GOOD"
refused "--fd not an open descriptor" --fd 99 -o "$GOOD"
refused "--fd open, but not /dev/fuse" --fd 5 -o "$GOOD" 5</dev/null
refused "--fd and a MOUNTPOINT both" --fd 5 -o "$GOOD" "$MNT" 5<>/dev/fuse

# --- -o options. -----------------------------------------------------------------------------
refused "missing lowerdir" -o "upperdir=$UP,workdir=$WK" "$MNT"
refused "empty lowerdir entry" -o "lowerdir=$LO1::$LO2,upperdir=$UP,workdir=$WK" "$MNT"
refused "upperdir without workdir" -o "lowerdir=$LO1:$LO2,upperdir=$UP" "$MNT"
refused "workdir without upperdir" -o "lowerdir=$LO1:$LO2,workdir=$WK" "$MNT"
refused "unknown -o option" -o "$GOOD,frobnicate" "$MNT"
refused "unsupported fuse-overlayfs option" -o "$GOOD,uidmapping=0:0:1" "$MNT"
refused "bad overlay option value" -o "$GOOD,timeout=soon" "$MNT"
refused "bad FUSE mount option value" -o "$GOOD,max_read=lots" "$MNT"

# --- Missing or wrong layers. ----------------------------------------------------------------
refused "lowerdir does not exist" -o "lowerdir=$LO1:$L/nonexistent,upperdir=$UP,workdir=$WK" "$MNT"
refused "lowerdir is a regular file" -o "lowerdir=$L/afile,upperdir=$UP,workdir=$WK" "$MNT"
refused "upperdir does not exist" -o "lowerdir=$LO1,upperdir=$L/nonexistent,workdir=$WK" "$MNT"
refused "workdir is a regular file" -o "lowerdir=$LO1,upperdir=$UP,workdir=$L/afile" "$MNT"
refused "mountpoint does not exist" -o "$GOOD" "$L/nonexistent"
refused "mountpoint is a regular file" -o "$GOOD" "$L/afile"

# --- Layers that overlap or sit on the wrong filesystem. ---------------------------------------
refused "workdir inside upperdir" -o "lowerdir=$LO1,upperdir=$UP,workdir=$UP/inner" "$MNT"
refused "upperdir inside workdir" -o "lowerdir=$LO1,upperdir=$L/work2/up,workdir=$L/work2" "$MNT"
refused "upper and work on different filesystems" -o "lowerdir=$LO1,upperdir=$UP,workdir=$T/tmpfs/work" "$MNT"
refused "same lowerdir twice" -o "lowerdir=$LO1:$LO1,upperdir=$UP,workdir=$WK" "$MNT"
refused "same lowerdir twice, once through a symlink" -o "lowerdir=$LO1:$L/lower1-link,upperdir=$UP,workdir=$WK" "$MNT"
refused "upperdir is a lowerdir" -o "lowerdir=$LO1:$LO2,upperdir=$LO2,workdir=$WK" "$MNT"
refused "upperdir inside a lowerdir" -o "lowerdir=$LO1:$LO2,upperdir=$LO1/sub,workdir=$WK" "$MNT"
# The daemon writes into the workdir (work/, probes, copy-up temporaries) and empties
# WORKDIR/work/ at start: a workdir inside a lower layer, or a lower layer inside the workdir,
# must be refused like kernel overlayfs does, or lower content is modified or deleted.
refused "workdir inside a lowerdir" -o "lowerdir=$LO1:$LO2,upperdir=$UP,workdir=$LO1/sub" "$MNT"
refused "lowerdir inside the workdir" -o "lowerdir=$LO1:$L/work3/work/data,upperdir=$UP,workdir=$L/work3" "$MNT"

note "$n cases, $((n - ${#FAILED[@]})) refused cleanly"
if [ "${#FAILED[@]}" -gt 0 ]; then
	printf '  %s\n' "${FAILED[@]}" >&2
	fail "${#FAILED[@]} of $n bad inputs were not refused cleanly (details above)"
fi
