#!/bin/bash
# File descriptor exhaustion: the daemon runs with a hard RLIMIT_NOFILE of 96 (it raises its
# soft limit to the hard one at start, so the hard one is what counts) while an application
# keeps hundreds of files open through the mount. Opens, lookups of new directories, listings
# and copy-ups then fail with EMFILE (or ENFILE) for the application: not EIO, not a crash.
# The failure is logged, a failed copy-up leaves no debris and no partial upper file, and once
# the application closes its files the daemon serves everything again. (Each directory the
# kernel has looked up holds an fd per layer in the daemon, doc/daemon.md: the 40 directories
# here fit in the limit once the files are closed.) Finally the daemon is unmounted while
# directories the kernel still caches hold all of its fds: it exits with status 0 (libfuse
# cancels its worker threads then, and glibc used to abort for want of an fd to load
# libgcc_s with).
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed (apt-get install python3)"
command -v prlimit >/dev/null || fail "prlimit is not installed (util-linux)"
make_layers
mkdir "$T/lower1/files" "$T/lower1/dirs"
for i in $(seq 0 399); do echo "file $i" > "$T/lower1/files/f$i"; done
for i in $(seq 0 39); do mkdir "$T/lower1/dirs/d$i" && echo "in $i" > "$T/lower1/dirs/d$i/x"; done
mkdir "$T/lower1/more"
for i in $(seq 0 149); do mkdir "$T/lower1/more/e$i"; done
echo lower > "$T/lower1/copyme"
OVERLAYD_WRAPPER="prlimit --nofile=96:96 --"
# writeback=1: every open file then holds a handle with an fd in the daemon. With
# writeback=0 the kernel opens files alone and the daemon keeps fds on file data within a
# quarter of its limit (open-files.sh), so held files never exhaust it.
ovl_mount "$T/mnt" "$OVL_OPTS,writeback=1"
pid=$LAST_DAEMON_PID
log="$T/daemon.mnt.log"
note "daemon limit: $(grep 'open files' /proc/$pid/limits)"

python3 - "$T/mnt" "$T/upper" "$T/work/work" <<'EOF' || fail "see above"
import errno, os, sys, time
m, upper, work = sys.argv[1:4]
EXHAUSTED = (errno.EMFILE, errno.ENFILE)
def die(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)
def expect_exhausted(what, fn):
    try:
        fn()
    except OSError as e:
        if e.errno not in EXHAUSTED:
            die(f"{what}: {e}, want EMFILE or ENFILE")
        return
    die(f"{what} succeeded while the daemon has no file descriptors left")

# 1. Hold files open until the daemon runs out: the application sees EMFILE, not EIO.
held, first_err = [], None
for i in range(400):
    try:
        held.append(open(f"{m}/files/f{i}"))
    except OSError as e:
        if e.errno not in EXHAUSTED:
            die(f"open #{i}: {e}, want EMFILE or ENFILE")
        first_err = i
        break
if first_err is None:
    die("400 open files through the mount never exhausted a daemon limited to 96 fds")
print(f"# the daemon ran out of fds after {first_err} open files", file=sys.stderr)

# 2. While exhausted: more opens, lookups of directories never seen, listings, copy-up.
expect_exhausted("another open", lambda: open(f"{m}/files/f399"))
expect_exhausted("lookup of a new directory", lambda: os.stat(f"{m}/dirs/d7/x"))
expect_exhausted("listing a directory", lambda: os.listdir(f"{m}/dirs"))
def append():
    with open(f"{m}/copyme", "a") as f:
        f.write("more\n")
expect_exhausted("append to a lower file (copy-up)", append)
if os.listdir(work):
    die(f"debris in WORKDIR/work after a failed copy-up: {os.listdir(work)}")
if os.path.exists(f"{upper}/copyme"):
    die("a copy of copyme reached the upper layer although its copy-up failed")

# 3. Release the files: the daemon recovers (releases reach it asynchronously: retry).
# close() must not fail: the daemon may not be able to spare an fd for its flush, but an
# error from close() reads as lost data to the application.
for f in held:
    try:
        f.close()
    except OSError as e:
        die(f"close() of a file opened through the mount failed: {e}")
deadline = time.time() + 30
while True:
    try:
        append()
        break
    except OSError as e:
        if e.errno not in EXHAUSTED or time.time() > deadline:
            die(f"the copy-up still fails after the files were closed: {e}")
        time.sleep(0.1)
with open(f"{m}/copyme") as f:
    if f.read() != "lower\nmore\n":
        die("copyme has the wrong content after recovery")
for i in range(40):
    with open(f"{m}/dirs/d{i}/x") as f:
        if f.read() != f"in {i}\n":
            die(f"dirs/d{i}/x reads wrong after recovery")
if len(os.listdir(f"{m}/files")) != 400:
    die("the listing of files/ is incomplete after recovery")
print("# recovered after the application closed its files", file=sys.stderr)

# 4. Exhaust it with directories alone (each looked-up one holds an fd), for the unmount.
full = 0
for i in range(150):
    try:
        os.stat(f"{m}/more/e{i}/.")
    except OSError as e:
        if e.errno not in EXHAUSTED:
            die(f"stat of more/e{i}: {e}, want EMFILE or ENFILE")
        full += 1
if not full:
    die("150 directories never exhausted a daemon limited to 96 fds")
EOF
kill -0 "$pid" || fail "the daemon died of fd exhaustion"
grep -q 'Too many open files' "$log" || { cat "$log" >&2; fail "fd exhaustion was not logged"; }
note "log: $(grep -m1 'Too many open files' "$log")"
ovl_umount "$T/mnt" # fails unless the daemon exits with status 0
