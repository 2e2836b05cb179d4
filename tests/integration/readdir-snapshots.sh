#!/bin/bash
# Directory listings while the directory changes. The kernel opens directories without asking
# the daemon, so a listing belongs to the directory, not to an open handle: each reader that
# starts at offset 0 gets a snapshot of its own, named in the offsets it is given back. A reader
# part-way through a merged directory (lower names, upper names, whiteouts) keeps seeing its
# snapshot (every name that was there once, none twice) while names are created and removed
# and other readers list the directory from the start; a rewind lists the directory as it is
# now; a seek back to an offset the reader was given continues from there; a listing through
# the mount equals the merged layers.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed (apt-get install python3)"
make_layers
D=big
mkdir "$T/lower1/$D" "$T/lower2/$D"
for i in $(seq -w 0 1499); do : > "$T/lower2/$D/lower2-file-$i"; done
for i in $(seq -w 0 999); do : > "$T/lower1/$D/lower1-file-$i"; done
ovl_mount "$T/mnt" "$OVL_OPTS"
cd "$T/mnt/$D"
for i in $(seq -w 0 499); do : > "upper-file-$i"; done
rm lower2-file-01?? # 100 whiteouts over lower names

cat > "$T/readdir.py" <<'PY'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_getdents64 = 217  # x86_64

def getdents(fd, size=4096):
    """One getdents64 call: [(name, d_off)]."""
    buf = ctypes.create_string_buffer(size)
    n = libc.syscall(SYS_getdents64, fd, buf, size)
    if n < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    out, pos = [], 0
    while pos < n:
        ino, off, reclen, typ = struct.unpack_from("<QqHB", buf.raw, pos)
        name = buf.raw[pos + 19:pos + reclen].split(b"\0", 1)[0].decode()
        out.append((name, off))
        pos += reclen
    return out

def rest(fd):
    out = []
    while True:
        chunk = getdents(fd)
        if not chunk:
            return out
        out += chunk

def names(entries):
    return [n for n, _ in entries if n not in (".", "..")]

d, rnd = sys.argv[1], int(sys.argv[2])
gone = [f"lower1-file-{500 + 50 * rnd + i:03}" for i in range(50)]
made = [f"new-{rnd}-file-{i:02}" for i in range(50)]
problems = []
before = set(os.listdir(d))
a = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
first = getdents(a)
mark = first[len(first) // 2][1]  # an offset to come back to
after_mark = [n for n, _ in first[len(first) // 2 + 1:]]

# Change the directory, and list it from the start through other descriptors meanwhile.
for n in made:
    open(f"{d}/{n}", "w").close()
for n in gone:
    os.unlink(f"{d}/{n}")
now = (before | set(made)) - set(gone)
for _ in range(3):
    b = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    listing = names(rest(b))
    os.close(b)
    if sorted(listing) != sorted(now):
        problems.append(f"another reader's listing differs from the directory: "
                        f"{len(listing)} names, want {len(now)}")

seen = names(first) + names(rest(a))
dups = {n for n in seen if seen.count(n) > 1}
if dups:
    problems.append(f"the first reader saw {len(dups)} names twice, e.g. {sorted(dups)[:3]}")
missing = before - set(seen)
if missing:
    problems.append(f"the first reader missed {len(missing)} names, e.g. {sorted(missing)[:3]}")
if set(seen) != before:
    problems.append(f"the first reader's listing is not the directory as it was when it "
                    f"started ({len(set(seen))} names, want {len(before)})")

# Seek back to an offset the reader was given: the listing continues after that entry.
os.lseek(a, mark, os.SEEK_SET)
again = names(getdents(a))
if again[:len(after_mark)] != [n for n in after_mark if n not in (".", "..")][:len(again)]:
    problems.append(f"after a seek back the listing continues with {again[:2]}, "
                    f"want {after_mark[:2]}")
# A rewind lists the directory as it is now.
os.lseek(a, 0, os.SEEK_SET)
if sorted(names(rest(a))) != sorted(now):
    problems.append("after a rewind the listing is not the directory as it is now")
os.close(a)
print(f"{len(before)} names at the start, {len(now)} after the changes")
if problems:
    sys.exit("\n".join(problems))
PY
for round in 0 1 2; do
	out=$(python3 "$T/readdir.py" "$T/mnt/$D" "$round" 2>&1) ||
		fail "listings while the directory changes, round $round: $out"
	note "round $round: $out"
done

# The listing through the mount is the merge of the layers.
want=$( (ls -A "$T/upper/$D"; ls -A "$T/lower1/$D"; ls -A "$T/lower2/$D") |
	grep -v -x -F -f <(cd "$T/upper/$D" && find . -maxdepth 1 -type c -printf '%P\n') | sort -u)
[ "$(ls -A | sort)" = "$want" ] ||
	fail "the listing differs from the merged layers: $(diff <(ls -A | sort) <(echo "$want") | head -5)"
cd /
ovl_umount "$T/mnt"
