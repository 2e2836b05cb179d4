#!/bin/bash
# With requests over io_uring, each queue's threads (named ring-qN) stay on the queue's CPU N,
# so that a caller and the thread serving it wake each other on one CPU. A thread that has
# just served a big READ (64 KiB or more: the readahead of a big file) may run on any CPU
# until it serves a small request again, so that a reader and our copy of its data do not
# take turns on one CPU (daemon/uring.c, pin_for_next). Checked through the allowed CPUs of
# each ring thread (/proc/PID/task/*/status): all held on their queue's CPU after mounting
# and after lookups and a small read; at least one free after a 16 MiB read from CPU 0;
# fewer free once lookups from CPU 0 have kept every entry of queue 0 busy (four callers at
# once: with one, the kernel may hand every request to an entry of a thread still held).
# The data read back is the lower file's.
. "$(dirname "$0")/../lib.sh"
[ -n "${ANTARES_URING:-}" ] ||
	skip "about requests over io_uring: it runs in the uring suite (ANTARES_URING=1)"
command -v taskset >/dev/null || skip "taskset (util-linux) is needed to choose the caller's CPU"
taskset -c 0,1 true 2>/dev/null || skip "this test needs CPUs 0 and 1 to run on"
make_layers
M=$T/mnt
head -c $((16 << 20)) /dev/urandom >"$T/lower1/big.bin"
head -c 4096 /dev/urandom >"$T/lower1/small.bin"
ovl_mount "$M" "$OVL_OPTS"
PID=$LAST_DAEMON_PID

# ring_threads: one line per ring thread of the daemon, "NAME ALLOWED-CPUS".
ring_threads() {
	local task name
	for task in /proc/"$PID"/task/*; do
		name=$(cat "$task/comm" 2>/dev/null) || continue
		case $name in
		ring-q*) echo "$name $(awk '/^Cpus_allowed_list:/ { print $2 }' "$task/status")" ;;
		esac
	done
}
# free_threads: how many ring threads may run on more than one CPU.
free_threads() {
	ring_threads | awk '$2 ~ /[-,]/' | wc -l
}
# lookups CPU TAG: four callers at once on CPU, each looking up 50 names that do not exist.
lookups() {
	local j pids=()
	for j in 1 2 3 4; do
		taskset -c "$1" bash -c 'for i in $(seq 1 50); do [ -e "$1/none-$2-$i" ] && exit 1; done; exit 0' \
			_ "$M" "$2-$j" &
		pids+=($!)
	done
	for j in "${pids[@]}"; do wait "$j" || fail "a name that does not exist was found"; done
}

threads=$(ring_threads)
[ -n "$threads" ] || fail "the daemon has no thread named ring-qN, though it takes io_uring"
while read -r name cpus; do
	[ "$cpus" = "${name#ring-q}" ] ||
		fail "after mounting, $name may run on CPUs $cpus, not only its queue's CPU ${name#ring-q}"
done <<<"$threads"

lookups 0 first
lookups 1 first
taskset -c 0 cat "$M/small.bin" >/dev/null || fail "reading small.bin failed"
[ "$(free_threads)" = 0 ] ||
	fail "lookups and a 4 KiB read let a ring thread leave its CPU: $(ring_threads | tr '\n' ' ')"

taskset -c 0 dd if="$M/big.bin" of="$T/copy.bin" bs=1M status=none || fail "reading big.bin failed"
cmp -s "$T/lower1/big.bin" "$T/copy.bin" || fail "big.bin read back differently"
after_read=$(free_threads)
[ "$after_read" -ge 1 ] ||
	fail "after a 16 MiB read (READs of 128 KiB) every ring thread is still held on one CPU: $(ring_threads | tr '\n' ' ')"

# Small requests from CPU 0, until each entry of queue 0 has served one (five rounds at most).
for round in 1 2 3 4 5; do
	lookups 0 "after-$round"
	after_small=$(free_threads)
	[ "$after_small" -lt "$after_read" ] && break
done
[ "$after_small" -lt "$after_read" ] ||
	fail "five rounds of lookups from CPU 0 held none of the $after_read free ring threads on its CPU again: $(ring_threads | tr '\n' ' ')"

ovl_umount "$M"
cmp -s "$T/lower1/big.bin" "$T/copy.bin" || fail "the lower file changed"
echo ok
