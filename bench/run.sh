#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Antares overlay benchmark: how much slower is a build inside the overlay than outside it?
#
# Mounts the same lower tree (the Debian kernel source, ~84k entries, made a git repository,
# plus a big data file) four ways, and times the same workloads on each, the stacks taking
# turns run by run:
#
#   native            the tree itself (writing workloads work on a scratch copy)
#   overlayfs         kernel overlayfs: what the kernel can do
#   fuse-overlayfs    the FUSE peer users would otherwise pick
#   antares-overlayd  our daemon (--daemon PATH; default ./build/daemon/antares-overlayd)
#
# Workloads: stat of every file (warm), git status (warm), untar + rm of 20k small files,
# sequential read of a 1 GiB lower file (page cache warm), sequential write of 1 GiB with
# fsync, copy-up of a 1 GiB lower file by a 1-byte append (with `cp --reflink=auto` of the
# same file as the reference), chmod of 1,000 lower files, 2,000 SQLite WAL autocommit
# inserts, and a kernel compile (make defconfig && make -j2 lib/). Also the daemons' peak
# RSS after the stat workload and the mount-to-ready time, and the machine's cost of a round
# trip between two processes (the floor under every FUSE request).
#
# Each cell is the median of several runs, with its ratio to native. The result is printed
# and written as Markdown and CSV (bench/results/latest.{md,csv}; quick.{md,csv} for --quick).
# doc/performance.md explains the workloads and keeps the reference numbers.
#
# Runs as root (it mounts). Unmounts everything it mounted when it exits, also on Ctrl-C. On a
# virtual machine that hands free memory back to its host (free page reporting), it holds
# that off for the run and restores the setting at exit (lib/util.sh, hold_host_memory).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
COMMAND_LINE="bench/run.sh $*"

usage() {
	cat <<EOF
Usage: bench/run.sh [OPTIONS]

  --runs N         timed runs per workload and stack (default 5; 3 for compile, see below)
  --compile-runs N runs of the compile workload (default 3)
  --quick          smoke run in a few minutes: 64 MiB files, 2,000 small files, 100 chmods,
                   200 inserts, a one-file compile, 1 run; writes results/quick.{md,csv}
  --only LIST      comma-separated workloads to run (default all):
                   ${WORKLOADS[*]}
  --stacks LIST    comma-separated stacks (default all): ${ALL_STACKS[*]}
  --daemon PATH    antares-overlayd to measure (default ./build/daemon/antares-overlayd)
  --baseline PATH  also measure another antares-overlayd build, as stack antares-baseline
                   (e.g. the commit before an optimisation: both in the same run, same noise)
  --daemon-options OPTS
                   -o options added for antares-overlayd and antares-baseline (default
                   "metacopy=on,writeback=0", what antares-sandbox mounts with; "" for the
                   daemon's defaults)
  --baseline-options OPTS
                   -o options added for antares-baseline only, after --daemon-options (e.g.
                   "io_uring=0" to compare a daemon with and without io_uring in one run)
  --uring          set the fuse module's enable_uring for the run (put back at exit), so that
                   antares-overlayd takes its requests through io_uring (Linux 6.14 and later;
                   off by default in the kernel, see io_uring= in antares-overlayd(1))
  --cache DIR      where the lower tree, inputs and scratch live (default /var/tmp/antares-bench);
                   the uppers are made there too, so it decides the filesystem measured
  --out PREFIX     write PREFIX.md and PREFIX.csv (default bench/results/latest)
  --no-install     do not apt-get install missing packages
  -h, --help       this help

Needs root. On a machine with free page reporting (a VM giving free memory back to its
host), reporting is held off for the run and the setting is restored at exit.
EOF
}

# shellcheck source=lib/util.sh
source "$BENCH_DIR/lib/util.sh"
# shellcheck source=lib/prepare.sh
source "$BENCH_DIR/lib/prepare.sh"
# shellcheck source=lib/stacks.sh
source "$BENCH_DIR/lib/stacks.sh"
# shellcheck source=lib/workloads.sh
source "$BENCH_DIR/lib/workloads.sh"
# shellcheck source=lib/report.sh
source "$BENCH_DIR/lib/report.sh"

# Mount everything in a private mount namespace of our own. Otherwise any process that makes a
# new mount namespace meanwhile (a rootless test's `unshare -m`, a container) takes a copy of
# our mounts, and a daemon then lives on after our `umount` until that namespace goes away:
# seen as FUSE daemons exiting 2-30 s after the unmount on a shared machine. Our mounts are
# then also invisible to everything outside the benchmark.
if [ -z "${ANTARES_BENCH_NS:-}" ] && [ "$(id -u)" = 0 ]; then
	ANTARES_BENCH_NS=1 exec unshare --mount --propagation private -- "$BASH" "$0" "$@"
fi

# Full sizes are the issue's; --quick shrinks every size, not just the run count, so that
# the smoke run exercises every code path in minutes.
RUNS=5 COMPILE_RUNS=3 QUICK=0 ONLY="" STACK_LIST="" INSTALL=1 OUT_PREFIX=""
DAEMON="$REPO_DIR/build/daemon/antares-overlayd"
CACHE=/var/tmp/antares-bench
RUNS_SET=0 COMPILE_RUNS_SET=0 BASELINE="" BASELINE_OPTIONS="" URING=0
# antares-sandbox mounts the overlay with metacopy=on,writeback=0 (helper/overlay.c); the sandbox
# is how the daemon is used, so that is what is measured unless told otherwise.
DAEMON_OPTIONS=metacopy=on,writeback=0
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2 RUNS_SET=1; shift 2 ;;
	--compile-runs) COMPILE_RUNS=$2 COMPILE_RUNS_SET=1; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--only) ONLY=$2; shift 2 ;;
	--stacks) STACK_LIST=$2; shift 2 ;;
	--daemon) DAEMON=$2; shift 2 ;;
	--baseline) BASELINE=$(realpath -m "$2"); shift 2 ;;
	--daemon-options) DAEMON_OPTIONS=$2; shift 2 ;;
	--baseline-options) BASELINE_OPTIONS=$2; shift 2 ;;
	--uring) URING=1; shift ;;
	--cache) CACHE=$2; shift 2 ;;
	--out) OUT_PREFIX=$2; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"
[[ $COMPILE_RUNS =~ ^[1-9][0-9]*$ ]] || die "--compile-runs wants a positive number"
[ "$(id -u)" = 0 ] || die "run as root: the benchmark mounts overlays"

if [ "$QUICK" = 1 ]; then
	BIG_MB=64 SMALL_FILES=2000 CHMOD_FILES=100 SQL_INSERTS=200 COMPILE_TARGET=lib/string.o
	[ "$RUNS_SET" = 1 ] || RUNS=1
	[ "$COMPILE_RUNS_SET" = 1 ] || COMPILE_RUNS=1
	: "${OUT_PREFIX:=$BENCH_DIR/results/quick}"
else
	# lib/ takes ~50 s natively with -j2 on the reference machine (doc/performance.md).
	BIG_MB=1024 SMALL_FILES=20000 CHMOD_FILES=1000 SQL_INSERTS=2000 COMPILE_TARGET=lib/
	: "${OUT_PREFIX:=$BENCH_DIR/results/latest}"
fi
# A pass that takes this long is a hung daemon, not a slow one.
PASS_TIMEOUT=1800

DAEMON=$(realpath -m "$DAEMON")
CACHE=$(realpath -m "$CACHE")
LOWER="$CACHE/lower"

# What to run.
SELECTED=("${WORKLOADS[@]}")
if [ -n "$ONLY" ]; then
	IFS=, read -r -a SELECTED <<<"$ONLY"
	for wl in "${SELECTED[@]}"; do
		printf '%s\n' "${WORKLOADS[@]}" | grep -qx -- "$wl" || die "unknown workload '$wl' (known: ${WORKLOADS[*]})"
	done
fi
[ -n "$BASELINE" ] && ALL_STACKS+=(antares-baseline)
STACKS=("${ALL_STACKS[@]}")
if [ -n "$STACK_LIST" ]; then
	IFS=, read -r -a STACKS <<<"$STACK_LIST"
	for s in "${STACKS[@]}"; do
		printf '%s\n' "${ALL_STACKS[@]}" | grep -qx -- "$s" || die "unknown stack '$s' (known: ${ALL_STACKS[*]})"
	done
	# Ratios are to native: always measure it.
	printf '%s\n' "${STACKS[@]}" | grep -qx native || STACKS=(native "${STACKS[@]}")
fi
SKIPPED=()

# Which daemon this is, for the report: its version, and the commit of the source tree it
# was built from when it sits in a meson build directory of a git checkout.
daemon_desc() {
	local bin=$1 src desc
	[ -x "$bin" ] || return 0
	desc=" ($("$bin" --version 2>/dev/null | head -n 1 || true)"
	src=$(dirname "$(dirname "$(dirname "$bin")")")
	if git -C "$src" rev-parse --short HEAD >/dev/null 2>&1; then
		desc="$desc, source $src at $(git -C "$src" rev-parse --short HEAD)"
		[ -n "$(git -C "$src" status --porcelain -- daemon 2>/dev/null)" ] && desc="$desc + uncommitted daemon changes"
	fi
	echo "$desc; binary built $(date -u -r "$bin" '+%Y-%m-%d %H:%M UTC'))"
}
DAEMON_DESC=$(daemon_desc "$DAEMON")
BASELINE_DESC=""
[ -n "$BASELINE" ] && BASELINE_DESC=$(daemon_desc "$BASELINE")

# --- preparation (cached) ---
[ "$INSTALL" = 1 ] && install_packages
mkdir -p "$CACHE/state"
prepare_tree
prepare_big
prepare_inputs
prepare_helpers
TREE_ENTRIES=$("$BIN/statall" "$LOWER/linux")
set_workloads
# The workload commands run in child shells: give them the inputs.
export BIN BIG_NAME BIG_MB SMALL_TAR CHMOD_LIST SQL_FILE COMPILE_TARGET

# Scratch for this run (uppers, native copies), on the same filesystem as the lower, and a
# log directory that outlives it for failures.
SCRATCH=$(mktemp -d "$CACHE/run.XXXXXX")
# On ext4, make every run's directory (one per mount) start in an inode group of its own, as a
# top-level directory would. Without it, each run creates its files among the inodes the run
# before it just deleted, and on an ext4 without a journal (the machine this was written on)
# the allocator then reads and skips every inode freed in the last 5 minutes, one by one, for
# each create: untarring 20,000 files natively took 7.4 s instead of 0.5 s, and whichever stack
# ran after a big delete paid for it. A filesystem that has no such flag just ignores it.
# It was not always enough: the untar row also drops the page cache before each run
# (lib/util.sh, forget_freed_inodes).
chattr +T "$SCRATCH" 2>/dev/null || true
RAW="$SCRATCH/raw.tsv"
# Run a copy of the daemon: a rebuild of the source tree during a long run must not mix two
# versions in one table. The report still names the path and commit given.
DAEMON_PATH=$DAEMON
if [ -x "$DAEMON" ]; then
	cp "$DAEMON" "$SCRATCH/antares-overlayd"
	DAEMON="$SCRATCH/antares-overlayd"
fi
BASELINE_PATH=$BASELINE
if [ -n "$BASELINE" ] && [ -x "$BASELINE" ]; then
	cp "$BASELINE" "$SCRATCH/antares-baseline"
	BASELINE="$SCRATCH/antares-baseline"
fi
: >"$RAW"
LOG_DIR="$CACHE/logs/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$LOG_DIR"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

uring_setup
note "FUSE over io_uring: $URING_STATE"
note "warming the page cache with the lower layer"
warm_lower
hold_host_memory
note "host memory: $HOST_MEMORY"
# The machine's cost of a round trip between two processes, the floor under every FUSE
# request (bench/pingpong.c); the report prints it with the machine's other facts.
ROUND_TRIP=$("$BIN/pingpong") || ROUND_TRIP=""
note "round trip between two processes (µs, anywhere / on one CPU): ${ROUND_TRIP:-not measured}"

CPU_BEFORE=$(cpu_snapshot)
probe_stacks
note "stacks: ${STACKS[*]}; workloads: ${SELECTED[*]}; runs: $RUNS (compile $COMPILE_RUNS)"
START=$(now_us)
for wl in "${SELECTED[@]}"; do
	run_workload "$wl"
done
OTHER_CPU=$(other_cpu_share "$CPU_BEFORE" "$(cpu_snapshot)")
note "all workloads took $(($(($(now_us) - START)) / 1000000)) s; other processes used $OTHER_CPU% of the CPU meanwhile"

mkdir -p "$(dirname "$OUT_PREFIX")"
write_report "$OUT_PREFIX.md" "$OUT_PREFIX.csv"
cp "$RAW" "$LOG_DIR/raw.tsv"
echo
cat "$OUT_PREFIX.md"
echo
note "written: $OUT_PREFIX.md, $OUT_PREFIX.csv (raw samples: $LOG_DIR/raw.tsv)"
