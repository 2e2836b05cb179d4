#!/bin/bash
# Listing a directory whose entries the kernel already holds. The kernel asks for attributes
# (READDIRPLUS) when a listing starts at offset 0, also when it has looked up every name in it
# before, as a first `git status` does (an lstat of every tracked file, then a listing of every
# directory). Names the kernel holds are listed without attributes, so the daemon stats none of
# them again: counted with strace on the daemon. What the listing reports must not change:
# every name once, and each name's d_ino the number stat reports, also for a copied-up file
# (which keeps its lower number) and both names of a hard link; names never looked up still
# come with attributes (stat after the listing costs no LOOKUP).
. "$(dirname "$0")/../lib.sh"
command -v strace >/dev/null || fail "strace is not installed (apt-get install strace)"
command -v python3 >/dev/null || fail "python3 is not installed (apt-get install python3)"
make_layers
M=$T/mnt
mkdir -p "$T/lower1/held/sub" "$T/lower2/held" "$T/lower1/fresh"
for i in $(seq -w 0 39); do
	echo "held $i" >"$T/lower1/held/h-$i"
	echo "fresh $i" >"$T/lower1/fresh/f-$i"
done
echo below >"$T/lower2/held/h-low"
ln -s h-00 "$T/lower1/held/h-sym"
echo linked >"$T/lower1/held/h-link1"
ln "$T/lower1/held/h-link1" "$T/lower1/held/h-link2"

# LeakSanitizer cannot work under ptrace (the sanitizer run): other tests check leaks.
no_lsan="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
OVERLAYD_WRAPPER="env $no_lsan strace -f -qq -e trace=newfstatat -o $T/strace" \
	ovl_mount "$M" "$OVL_OPTS" -d
chmod 0600 "$M/held/h-00" # copied up: the upper file, the lower file's number
[ -e "$T/upper/held/h-00" ] || fail "chmod did not copy held/h-00 up"
# By name, not by a glob: a glob would list the directory first.
names=$(cd "$T/lower1/held" && ls) names="$names h-low"
(cd "$M/held" && stat -c '%i %n' $names >/dev/null)
# strace's line for a call starts with its arguments, whole or "<unfinished ...>".
stats() { grep -c "newfstatat([0-9]*, \"$1" "$T/strace" || true; }
before=$(stats h-)
[ "$before" -ge 44 ] || fail "looking up 44 names made the daemon stat $before of them (strace sees too little)"

# d_ino against stat's st_ino, for every name of DIR; the listing comes first.
check_listing() {
	python3 - "$M/$1" "$2" <<'EOF'
import os, sys
d, want = sys.argv[1], int(sys.argv[2])
entries = {e.name: e.inode() for e in os.scandir(d)}
if len(entries) != want:
    sys.exit(f"{d}: {len(entries)} names listed, want {want}: {sorted(entries)}")
bad = [f"{n}: d_ino {i}, st_ino {os.lstat(os.path.join(d, n)).st_ino}"
       for n, i in sorted(entries.items()) if i != os.lstat(os.path.join(d, n)).st_ino]
if bad:
    sys.exit(f"{d}: listed numbers differ from stat's:\n" + "\n".join(bad))
EOF
}
check_listing held 45 || fail "the listing of held/ is wrong (above)"
sleep 0.2 # strace writes its line after the call returns
after=$(stats h-)
echo "held/: $before stats of its names by the lookups, $after after the listing" >&2
[ "$after" -eq "$before" ] ||
	fail "listing held/, whose 44 names the kernel holds, made the daemon stat $((after - before)) of them again"

stat "$M/fresh" >/dev/null
lookups=$(ovl_requests LOOKUP)
check_listing fresh 40 || fail "the listing of fresh/ is wrong (above)"
[ "$(ovl_requests LOOKUP)" -eq "$lookups" ] ||
	fail "stat after listing fresh/ cost $(($(ovl_requests LOOKUP) - lookups)) LOOKUPs: the listing came without attributes"

# A name whose object moved away is looked up again, not listed from the old entry.
mv "$M/held/h-01" "$M/held/moved"
echo new >"$M/held/h-01"
check_listing held 46 || fail "the listing of held/ after a rename is wrong (above)"
[ "$(cat "$M/held/h-01")" = new ] || fail "held/h-01 reads $(cat "$M/held/h-01"), want the new file"
ovl_umount "$M"
