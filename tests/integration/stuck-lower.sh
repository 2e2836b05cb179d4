#!/bin/bash
# A lower layer that stops answering holds up only the requests that need it. The stuck layer
# is another antares-overlayd mount whose daemon is stopped (SIGSTOP): each of our lookups of
# a name that is not in the upper layer waits in it until it is continued. With four such
# lookups waiting in the root directory, the mount still serves, within seconds: a lookup of
# an upper file in that same directory (the kernel serialises lookups in a directory unless
# the daemon asked for parallel ones, devio.c), a write and fsync through an open file, a
# read, a new file and a listing in another directory; twice. After the stuck layer
# continues, the waiting lookups end (ENOENT) and both mounts unmount cleanly.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed (apt-get install python3)"

# The layer that will get stuck: a mount of its own.
mkdir -p "$T/in/lower" "$T/in/upper" "$T/in/work" "$T/in/mnt"
echo inner >"$T/in/lower/from-inner"
ovl_mount "$T/in/mnt" "lowerdir=$T/in/lower,upperdir=$T/in/upper,workdir=$T/in/work"
INNER=$LAST_DAEMON_PID

make_layers
M=$T/mnt
echo upper >"$T/upper/written"
echo upper >"$T/upper/in-root-1"
echo upper >"$T/upper/in-root-2"
mkdir "$T/upper/fresh"
echo fresh >"$T/upper/fresh/old"
# writeback=0: the write itself is a request, not only the fsync after it.
ovl_mount "$M" "lowerdir=$T/in/mnt:$T/lower2,upperdir=$T/upper,workdir=$T/work,writeback=0"
OUTER=$LAST_DAEMON_PID
[ "$(cat "$M/from-inner")" = inner ] || fail "the stacked mount does not show the inner layer"

# The probe opens what it needs first (lookups that would need the stuck layer); in each round
# it then waits for its go file, and serves a write, fsync, read, create and listing.
python3 - "$M" "$T/go" >"$T/probe" 2>&1 <<'PY' &
import os, sys, time
m, go = sys.argv[1], sys.argv[2]
fd = os.open(f"{m}/written", os.O_RDWR)
fresh = os.open(f"{m}/fresh", os.O_RDONLY | os.O_DIRECTORY)
print("ready", flush=True)
for r in (1, 2):
    while not os.path.exists(f"{go}.{r}"):
        time.sleep(0.05)
    t0 = time.monotonic()
    assert os.stat(f"{m}/in-root-{r}").st_size == 6, f"round {r}: stat of an upper file"
    line = f"written in round {r}\n".encode()
    os.pwrite(fd, line, 0)
    os.fsync(fd)
    assert os.pread(fd, 100, 0).startswith(line), f"round {r}: read back"
    n = os.open(f"new-{r}", os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644, dir_fd=fresh)
    os.write(n, b"new\n")
    os.close(n)
    names = sorted(os.listdir(fresh))
    assert f"new-{r}" in names and "old" in names, f"round {r}: listing {names}"
    print(f"served {r} in {time.monotonic() - t0:.2f} s", flush=True)
PY
probe=$!
for _ in $(seq 1 200); do grep -q ready "$T/probe" && break; sleep 0.05; done
grep -q ready "$T/probe" || fail "the probe did not start: $(cat "$T/probe")"

resume() { kill -CONT "$INNER" 2>/dev/null || true; }
# kill -STOP returns before the daemon has stopped: one thread takes the signal, and the others
# stop only when it has told them and they next run. Until then they still serve, which made
# round 1 fail about once in six under the sanitizers. Wait until every thread is stopped.
all_stopped() {
	local t
	for t in /proc/"$INNER"/task/*/stat; do
		[ "$(sed 's/.*) //' "$t" 2>/dev/null | cut -d' ' -f1)" = T ] || return 1
	done
}
# round N: four lookups wait in the stopped layer while the probe is served. The second round
# starts with the threads the first one made idle, not fresh ones.
round() {
	local r=$1 p stuck=()
	kill -STOP "$INNER"
	for _ in $(seq 1 500); do all_stopped && break; sleep 0.01; done
	all_stopped || { resume; fail "round $r: the inner daemon did not stop within 5 s of SIGSTOP"; }
	for i in 1 2 3 4; do
		stat "$M/missing-$r-$i" >/dev/null 2>&1 &
		stuck+=($!)
	done
	sleep 1
	for p in "${stuck[@]}"; do
		kill -0 "$p" 2>/dev/null || { resume; fail "round $r: a lookup in the stopped layer did not wait for it"; }
	done
	touch "$T/go.$r"
	for _ in $(seq 1 300); do grep -q "^served $r " "$T/probe" && break; sleep 0.05; done
	if ! grep -q "^served $r " "$T/probe"; then
		resume
		fail "round $r: with four lookups waiting in a stopped lower layer, a lookup of an upper file beside them, a write, read, create and listing were not served within 15 s: $(cat "$T/probe")"
	fi
	for p in "${stuck[@]}"; do
		kill -0 "$p" 2>/dev/null || { resume; fail "round $r: a lookup in the stopped layer ended before it was continued"; }
	done
	resume
	for p in "${stuck[@]}"; do
		wait "$p" && fail "round $r: a lookup of a missing name succeeded"
	done
	note "round $r: $(grep "^served $r " "$T/probe") with four lookups waiting in a stopped lower layer"
}
round 1
round 2
wait "$probe" || fail "the probe failed: $(cat "$T/probe")"
[ "$(head -n 1 "$T/upper/written")" = "written in round 2" ] || fail "the write did not reach the upper layer"
[ -f "$T/upper/fresh/new-1" ] && [ -f "$T/upper/fresh/new-2" ] || fail "the new files are not in the upper layer"
LAST_DAEMON_PID=$OUTER ovl_umount "$M"
LAST_DAEMON_PID=$INNER ovl_umount "$T/in/mnt"
