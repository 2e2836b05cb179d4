#!/bin/bash
# Bad input through a mounted overlay: names of 255 bytes (NAME_MAX) in a lower layer and made
# through the mount work everywhere (lookup, readdir, read, copy-up, rename of files and of a
# lower directory, unlink, link, symlink, mkdir; a symlink target of 4095 bytes); names of 256
# bytes fail with ENAMETOOLONG; extended attributes at the kernel's limits (a 64 KiB value,
# a 255-byte name) work through the mount, one byte more fails cleanly (E2BIG, ERANGE), and a
# file whose xattr names list to more than the 64 KiB listxattr(2) can return gives E2BIG;
# its copy-up is refused (EIO, one log line naming the file, the layer and E2BIG) rather than
# made without the xattrs, and leaves nothing in the upper or the work directory.
# Afterwards the daemon is still serving, unmounts cleanly, every lower layer is unchanged
# (layer_fingerprint) and a second mount over the same upper shows the same tree and xattrs.
#
# The layers live on a tmpfs: it takes 64 KiB xattr values and many names (ext4 takes one
# block).
. "$(dirname "$0")/../lib.sh"

FS=$T/fs
mkdir "$FS"
mount -t tmpfs -o size=256m,mode=0755 antares-names "$FS" || fail "cannot mount a tmpfs on $FS"
MOUNTS+=("$FS")
L=$FS/lower U=$FS/upper W=$FS/work M=$FS/mnt
mkdir "$L" "$U" "$W" "$M"

n() { head -c "$2" /dev/zero | tr '\0' "$1"; } # n CHAR COUNT: CHAR repeated COUNT times
N255=$(n f 251).txt D255=$(n d 255) S255=$(n s 255) T4095=/$(n t 4094)
N256=$(n g 256)
[ ${#N255} = 255 ] && [ ${#T4095} = 4095 ] || fail "bad test names"

# xattr OP...: extended attributes through python (setfattr takes values on its command line,
# and 64 KiB hex is past the kernel's limit for one argument). Prints OK[:detail] or the errno.
xattr() {
	python3 - "$@" <<'PY'
import errno, hashlib, os, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "set":      # set PATH NAME SIZE: a value of SIZE bytes, deterministic
        os.setxattr(path, sys.argv[3], bytes(i % 251 for i in range(int(sys.argv[4]))),
                    follow_symlinks=False)
        print("OK")
    elif op == "get":    # get PATH NAME: size and hash of the value
        v = os.getxattr(path, sys.argv[3], follow_symlinks=False)
        print("OK:%d:%s" % (len(v), hashlib.sha256(v).hexdigest()[:16]))
    elif op == "many":   # many PATH COUNT: COUNT names of 206 bytes each
        for i in range(int(sys.argv[3])):
            os.setxattr(path, "user.m%04d" % i + "y" * 200, b"v", follow_symlinks=False)
        print("OK")
    elif op == "count":  # count PATH: how many names listxattr returns
        print("OK:%d" % len(os.listxattr(path, follow_symlinks=False)))
    elif op == "dump":   # dump PATH: every name=value hash, sorted (empty when E2BIG)
        for k in sorted(os.listxattr(path, follow_symlinks=False)):
            print(k, hashlib.sha256(os.getxattr(path, k, follow_symlinks=False)).hexdigest()[:16])
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}
# expect WHAT WANT GOT: one check.
expect() { [ "$3" = "$2" ] || fail "$1: want '$2', got '$3'"; }

# The lower layer: long names, a lower directory with content, a long symlink target, and
# files with xattrs at the limits.
echo content > "$L/$N255"
echo gone > "$L/rm-$(n r 252)"
mkdir "$L/$D255"
echo inner > "$L/$D255/$N255"
ln -s "$T4095" "$L/$S255"
echo big > "$L/big"
echo many > "$L/many"
expect "64 KiB xattr on the lower" OK "$(xattr set "$L/big" user.big 65536)"
expect "400 xattr names on the lower" OK "$(xattr many "$L/many" 400)"
big_value=$(xattr get "$L/big" user.big)
lower_before=$(layer_fingerprint "$L")

ovl_mount "$M" "lowerdir=$L,upperdir=$U,workdir=$W"
cd "$M"
# --- Names of 255 bytes. -----------------------------------------------------------------------
ls | grep -qx "$N255" || fail "readdir does not list the 255-byte lower file"
ls | grep -qx "$D255" || fail "readdir does not list the 255-byte lower directory"
expect "read the 255-byte lower file" content "$(cat "$N255")"
echo appended >> "$N255" || fail "appending to the 255-byte lower file (copy-up) failed"
expect "copy-up of the 255-byte file" "$(printf 'content\nappended')" "$(cat "$N255")"
mv "$N255" "$(n m 255)" || fail "renaming a 255-byte file to another 255-byte name failed"
[ ! -e "$N255" ] && [ -f "$(n m 255)" ] || fail "the rename of a 255-byte name did not take"
rm "rm-$(n r 252)" || fail "removing a 255-byte lower file (a whiteout of that name) failed"
[ ! -e "rm-$(n r 252)" ] || fail "the removed 255-byte lower file is still there"
mv "$D255" "$(n e 255)" || fail "renaming a 255-byte lower directory failed"
expect "the renamed lower directory's content" inner "$(cat "$(n e 255)/$N255")"
expect "the 4095-byte symlink target" "$T4095" "$(readlink "$S255")"
echo new > "$(n c 255)" || fail "creating a 255-byte file failed"
mkdir "$(n k 255)" || fail "mkdir of a 255-byte name failed"
ln "$(n c 255)" "$(n h 255)" || fail "a hard link of a 255-byte name failed"
ln -s "$T4095" "$(n l 255)" || fail "a symlink with a 255-byte name and a 4095-byte target failed"
# --- Names of 256 bytes: ENAMETOOLONG, from every call. -----------------------------------
for op in "touch $N256" "mkdir $N256" "mv $(n c 255) $N256" "ln $(n c 255) $N256" \
	"ln -s x $N256" "stat $N256"; do
	# shellcheck disable=SC2086 # word splitting wanted: OP is a command line
	out=$($op 2>&1) && fail "'${op%% *} <256-byte name>' succeeded"
	case "$out" in *"File name too long"*) ;; *) fail "'${op%% *} <256-byte name>': $out" ;; esac
done
[ -z "$(ls "$U" | awk 'length($0) > 255')" ] || fail "a name over 255 bytes reached the upper"
# --- Extended attributes at the limits. ------------------------------------------------------
expect "the 64 KiB lower xattr through the mount" "$big_value" "$(xattr get big user.big)"
expect "set a 64 KiB xattr through the mount" OK "$(xattr set big user.big2 65536)"
expect "read it back" "$big_value" "$(xattr get big user.big2)"
expect "an xattr value of 65537 bytes" E2BIG "$(xattr set big user.big3 65537)"
expect "an xattr name of 255 bytes" OK "$(xattr set big "user.$(n a 250)" 1)"
expect "an xattr name of 256 bytes" ERANGE "$(xattr set big "user.$(n a 251)" 1)"
expect "listxattr of 82 KiB of names" E2BIG "$(xattr count many)"
# Finding F2 of doc/security.md: such a copy-up used to keep none of the xattrs, silently.
out=$(chmod 0600 many 2>&1) && fail "chmod (copy-up) of the file with 400 unlistable xattrs succeeded"
case "$out" in *"Input/output error"*) ;; *) fail "chmod of the file with 400 xattrs: $out" ;; esac
[ ! -e "$U/many" ] || fail "the refused copy-up left $U/many"
[ -z "$(ls -A "$W/work")" ] || fail "the refused copy-up left debris in the work directory: $(ls -A "$W/work")"
grep -q "copy-up many refused: listxattr on lower layer 0 .*Argument list too long" "$T/daemon.mnt.log" ||
	fail "no log line names the refused copy-up: $(tail -n 3 "$T/daemon.mnt.log")"
expect "the file's mode after the refused chmod" 644 "$(stat -c %a many)"
stat big > /dev/null || fail "the daemon stopped serving"
view=$(tree_snapshot "$M")
xattrs=$(for f in big "$(n m 255)" "$(n c 255)"; do xattr dump "$f"; done)
cd /
ovl_umount "$M"
[ "$(layer_fingerprint "$L")" = "$lower_before" ] || fail "the lower layer changed"
# --- A second mount over the same upper shows the same. ------------------------------------
ovl_mount "$M" "lowerdir=$L,upperdir=$U,workdir=$W"
[ "$(tree_snapshot "$M")" = "$view" ] ||
	fail "the remounted tree differs: $(diff <(echo "$view") <(tree_snapshot "$M") | head -5)"
[ "$(cd "$M" && for f in big "$(n m 255)" "$(n c 255)"; do xattr dump "$f"; done)" = "$xattrs" ] ||
	fail "the remounted xattrs differ"
ovl_umount "$M"
