# Shared helpers for the integration tests: run as root or rootless (an unprivileged user in
# its own user namespace), mount/unmount antares-overlayd, snapshot trees, report results.
# Each test script sources this file, then runs one scenario. Exit 0 = pass, 77 = skip (with
# the reason on stderr), anything else = fail.
set -eu

: "${MODE:=root}"
: "${ANTARES_BUILD:?ANTARES_BUILD must point at the meson build directory}"
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=$(basename "$0" .sh)
TEST_USER=antares-test

fail() { echo "FAIL [$TEST_NAME/$MODE]: $*" >&2; exit 1; }
skip() { echo "SKIP [$TEST_NAME/$MODE]: $*" >&2; exit 77; }
note() { echo "# $*" >&2; }

# SANDBOX_TEST=1 (set before sourcing, see sandbox-lib.sh): the test drives antares-sandbox,
# which creates its own user namespace, so rootless mode runs it as the plain unprivileged
# user, without a namespace made beforehand.
: "${SANDBOX_TEST:=}"

# ANTARES_URING=1 (the tests' "uring" runs, tests/meson.build): the fuse module's enable_uring
# is set while the test runs, so that the daemon takes its requests through io_uring
# (daemon/uring.c), and put back at exit; ovl_mount checks that every mount does. Only root
# may set it, so a rootless run sets it before it drops to the test user.
URING_PARAM=/sys/module/fuse/parameters/enable_uring
URING_WAS=
if [ -n "${ANTARES_URING:-}" ] && [ -z "${ANTARES_IN_USERNS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip "ANTARES_URING=1 needs root, to set $URING_PARAM"
	[ -w "$URING_PARAM" ] ||
		skip "this kernel has no FUSE over io_uring ($URING_PARAM is missing: it needs Linux 6.14 or later, with CONFIG_FUSE_IO_URING)"
	URING_WAS=$(cat "$URING_PARAM")
	echo Y >"$URING_PARAM"
	trap 'echo "$URING_WAS" >"$URING_PARAM"' EXIT
fi

# Rootless mode: re-run this script as an unprivileged user inside `unshare -Urm`. The build
# products and tests are staged in a world-readable directory, since the checkout may live
# somewhere (like /root) the test user cannot read.
if [ "$MODE" = rootless ] && [ -z "${ANTARES_IN_USERNS:-}" ]; then
	if [ "$(id -u)" = 0 ]; then
		if ! id "$TEST_USER" >/dev/null 2>&1; then
			useradd -m "$TEST_USER" 2>/dev/null || skip "cannot create user $TEST_USER (useradd failed)"
		fi
		# Distributions ship /dev/fuse as 0666; make sure ours is.
		chmod 0666 /dev/fuse 2>/dev/null || true
		stage=$(mktemp -d /tmp/antares-stage.XXXXXX)
		chmod 0755 "$stage"
		mkdir -p "$stage/build/daemon" "$stage/build/helper" "$stage/build/tests" "$stage/tests"
		cp "$ANTARES_BUILD/daemon/antares-overlayd" "$stage/build/daemon/"
		[ -x "$ANTARES_BUILD/helper/antares-sandbox" ] && cp "$ANTARES_BUILD/helper/antares-sandbox" "$stage/build/helper/"
		cp -r "$ANTARES_BUILD/tests/." "$stage/build/tests/" 2>/dev/null || true
		cp -r "$TESTS_DIR/." "$stage/tests/"
		[ -d "$TESTS_DIR/../examples" ] && cp -r "$TESTS_DIR/../examples" "$stage/examples"
		[ -d "$TESTS_DIR/../man" ] && cp -r "$TESTS_DIR/../man" "$stage/man"
		# The staged antares-sandbox is not the build tree's, so it would look for the
		# installed profiles: give it the source tree's (its documented override).
		mkdir -p "$stage/policy" && cp -r "$TESTS_DIR/../policy/profiles" "$stage/policy/"
		chmod -R a+rX "$stage"
		script_abs=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
		rel=${script_abs#"$TESTS_DIR"/}
		userns="unshare -Urm"
		[ -n "$SANDBOX_TEST" ] && userns=""
		# Knobs of the long-form and sanitizer runs travel into the unprivileged run.
		passenv=()
		for v in ANTARES_SANITIZE OVERLAYD_BASE_OPTS CRASH_TRIALS CRASH_SEED STRESS_SECONDS \
			STRESS_JOBS STRESS_WATCHDOG IOMODEL_SEEDS IOMODEL_OPS KEEP_TEST_DIR ANTARES_URING; do
			[ -n "${!v:-}" ] && passenv+=("$v=${!v}")
		done
		set +e
		setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups \
			env -i PATH="$PATH" HOME="/tmp" MODE=rootless ANTARES_IN_USERNS=1 \
			ANTARES_BUILD="$stage/build" LANG=C.UTF-8 "${passenv[@]}" \
			ANTARES_POLICY_PATH="$stage/policy/profiles" \
			$userns bash "$stage/tests/$rel" "$@"
		rc=$?
		set -e
		rm -rf "$stage"
		exit $rc
	fi
	unshare -Urm true 2>/dev/null || skip "user namespaces are not available to $(id -un)"
	[ -n "$SANDBOX_TEST" ] || exec env ANTARES_IN_USERNS=1 unshare -Urm bash "$0" "$@"
fi

OVERLAYD="$ANTARES_BUILD/daemon/antares-overlayd"
TOOLS="$ANTARES_BUILD/tests"
[ -x "$OVERLAYD" ] || fail "antares-overlayd not built at $OVERLAYD"

T=$(mktemp -d "${TMPDIR:-/tmp}/antares-$TEST_NAME.XXXXXX")
chmod 0755 "$T"
MOUNTS=()
DAEMON_PIDS=()

# ANTARES_SANITIZE=1 (scripts/run-sanitizers.sh, with ANTARES_BUILD an ASan+UBSan build): every
# sanitizer report of a program this test runs goes to $T/sanitizer/, and the test fails at
# exit if anything is there: leaks at a clean unmount, memory errors, undefined behaviour.
if [ -n "${ANTARES_SANITIZE:-}" ]; then
	SAN_DIR="$T/sanitizer"
	mkdir -p "$SAN_DIR"
	chmod 0777 "$SAN_DIR"
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$SAN_DIR/asan"
	export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$SAN_DIR/ubsan"
fi

# Reports left by sanitizers (ANTARES_SANITIZE): print them and fail.
sanitizer_check() {
	[ -n "${SAN_DIR:-}" ] || return 0
	local f found=""
	for f in "$SAN_DIR"/*; do
		[ -e "$f" ] || continue
		found=1
		echo "# sanitizer report $f:" >&2
		sed 's/^/#   /' "$f" | head -80 >&2
	done
	[ -z "$found" ] || { echo "FAIL [$TEST_NAME/$MODE]: sanitizer reports (above)" >&2; return 1; }
}

cleanup() {
	local rc=$? m
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
	done
	local p i
	for p in "${DAEMON_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	# Daemons write their leak reports as they exit: wait for them (10 s at most).
	for p in "${DAEMON_PIDS[@]}"; do
		for i in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	done
	sanitizer_check || rc=1
	[ -z "$URING_WAS" ] || echo "$URING_WAS" >"$URING_PARAM" || true
	if [ -n "${KEEP_TEST_DIR:-}" ]; then
		echo "# kept $T" >&2
	else
		rm -rf "$T" 2>/dev/null || { chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"; }
	fi
	exit $rc
}
trap cleanup EXIT

# ovl_mount MNT OPTIONS [extra daemon args...]: start the daemon in the foreground (in the
# background of this shell) and wait until the mount is there.
ovl_mount() {
	local mnt=$1 opts=$2
	shift 2
	# OVERLAYD_BASE_OPTS: options every mount starts with (a test's own options win), so
	# a whole suite can run in another mode: the sanitizer run uses writeback=0.
	opts="${OVERLAYD_BASE_OPTS:+$OVERLAYD_BASE_OPTS,}$opts"
	local log="$T/daemon.$(basename "$mnt").log"
	# OVERLAYD_WRAPPER: a command prefix (e.g. setpriv dropping capabilities) for fault tests.
	${OVERLAYD_WRAPPER:-} "$OVERLAYD" -f -o "$opts" --log "$log" --log-level info "$@" "$mnt" 2>>"$log" &
	local pid=$!
	DAEMON_PIDS+=("$pid")
	MOUNTS+=("$mnt")
	local i
	for i in $(seq 1 200); do
		if mountpoint -q "$mnt"; then
			LAST_DAEMON_PID=$pid
			[ -z "${ANTARES_URING:-}" ] || uring_check "$log"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "antares-overlayd exited before mounting $mnt"; }
		sleep 0.05
	done
	fail "mount of $mnt did not appear within 10s"
}

# uring_check LOG: the daemon that writes LOG (at --log-level info) takes its requests through
# io_uring; it says so once its queues are started, right after the kernel's INIT.
uring_check() {
	local i
	for i in $(seq 1 100); do
		grep -q 'requests come through io_uring' "$1" && return 0
		sleep 0.05
	done
	cat "$1" >&2
	fail "ANTARES_URING is set, but antares-overlayd does not take its requests through io_uring"
}

# ovl_umount MNT: unmount and wait for the daemon to exit cleanly.
ovl_umount() {
	local mnt=$1 pid=${LAST_DAEMON_PID:-}
	umount "$mnt" || fusermount3 -u "$mnt" || fail "cannot unmount $mnt"
	if [ -n "$pid" ]; then
		local rc=0 i
		for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		wait "$pid" || rc=$?
		[ "$rc" = 0 ] || fail "antares-overlayd exited with status $rc after unmount"
	fi
}

# ovl_requests OPCODE [MNT]: how many OPCODE requests (LOOKUP, READ...) the daemon of MNT
# (default $T/mnt) has received so far, from libfuse's request trace: mount it with -d.
ovl_requests() {
	grep -c "opcode: $1 " "$T/daemon.$(basename "${2:-$T/mnt}").log" || true
}

# ovl_read_bytes [MNT]: how many bytes the daemon of MNT has sent in answer to READs so far
# (the payload of each reply, without its 16-byte header), from the same trace.
ovl_read_bytes() {
	awk '/opcode: READ / { for (i = 1; i < NF; i++) if ($i == "unique:") r[$(i + 1)] = 1 }
	     / success, outsize: / { for (i = 1; i < NF; i++) if ($i == "unique:" && ($(i + 1) in r)) {
		     split($0, a, "outsize: "); n += a[2] - 16 } }
	     END { print n + 0 }' "$T/daemon.$(basename "${1:-$T/mnt}").log"
}

# weak_mount BACKING MNT OPTIONS: serve BACKING at MNT through tests/tools/weakfs, a FUSE
# filesystem with chosen faults; sets WEAK_PID. Cleanup unmounts in the order of mounting
# (lazily when a mount on top keeps it busy).
weak_mount() {
	local backing=$1 mnt=$2 opts=$3 log="$T/weakfs.$(basename "$2").log" i
	[ -x "$TOOLS/weakfs" ] || fail "weakfs not built at $TOOLS/weakfs (tests/meson.build)"
	mkdir -p "$mnt"
	"$TOOLS/weakfs" "$backing" "$mnt" -f -o "$opts" 2>>"$log" &
	WEAK_PID=$!
	DAEMON_PIDS+=("$WEAK_PID")
	MOUNTS+=("$mnt")
	for i in $(seq 1 200); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$WEAK_PID" 2>/dev/null || { cat "$log" >&2; fail "weakfs exited before mounting $mnt"; }
		sleep 0.05
	done
	fail "weakfs mount of $mnt did not appear within 10s"
}

# The standard layout: $T/lower1 (top) $T/lower2, $T/upper, $T/work, $T/mnt.
make_layers() {
	mkdir -p "$T/lower1" "$T/lower2" "$T/upper" "$T/work" "$T/mnt"
	OVL_OPTS="lowerdir=$T/lower1:$T/lower2,upperdir=$T/upper,workdir=$T/work"
}

# tree_snapshot DIR: one line per object: path, type, mode, size and content hash (or
# link target); OWNERS=1 adds uid:gid. Sorted, so two trees compare with diff.
tree_snapshot() {
	# A fixed number of processes, whatever the size of the tree: one find, one sort, one
	# sha256sum for all contents (process start-up is most of the cost on a slow machine:
	# seven per object made bad-input.sh take over a minute).
	(
		cd "$1" || exit 1
		local p meta link y m s o t h
		local -A info target hash
		local -a files=()
		while IFS= read -r -d '' p && IFS= read -r -d '' meta && IFS= read -r -d '' link; do
			info[$p]=$meta
			target[$p]=$link
			[ "${meta%% *}" = f ] && files+=("$p")
		done < <(find . -mindepth 1 -printf '%P\0%y %m %s %U:%G\0%l\0')
		# -z: NUL-terminated lines and names printed as they are ("HASH  NAME"). A file that
		# cannot be read gets no line, so its hash stays empty.
		if [ "${#files[@]}" -gt 0 ]; then
			while IFS= read -r -d '' p; do
				hash[${p:66}]=${p:0:16}
			done < <(sha256sum -z -- "${files[@]}" 2>/dev/null)
		fi
		while IFS= read -r -d '' p; do
			read -r y m s o <<<"${info[$p]}"
			h=""
			case $y in
			f) t="regular file"; [ "$s" = 0 ] && t="regular empty file"; h=${hash[$p]:-} ;;
			d) t=directory; s=- ;;
			l) t="symbolic link"; h="-> ${target[$p]}"; m=- ;;
			c) t="character special file" ;;
			b) t="block special file" ;;
			p) t=fifo ;;
			s) t=socket ;;
			*) t="unknown ($y)" ;;
			esac
			[ -n "${OWNERS:-}" ] || o=""
			printf '%s|%s|%s|%s|%s%s\n' "$p" "$t" "$m" "$s" "$h" "${o:+ $o}"
		done < <(if [ "${#info[@]}" -gt 0 ]; then printf '%s\0' "${!info[@]}" | sort -z; fi)
	)
}

# Byte-level fingerprint of a layer, including xattrs, to prove it was not modified.
layer_fingerprint() {
	OWNERS=1 tree_snapshot "$1"
	(cd "$1" && getfattr -R -h -d -m - --absolute-names . 2>/dev/null | grep -v '^$' || true)
}

is_root_mode() { [ "$MODE" = root ]; }
