#!/bin/bash
# More bad input for antares-overlayd, beyond bad-input.sh: malformed -o strings (only commas,
# control characters, bytes that are not UTF-8, a value with no number in it, 100 KiB), and
# absurd layer paths (longer than PATH_MAX, a 256-byte component). Each is refused before
# anything happens: the documented status (1: bad options or layers; 2: the kernel refused
# the mount), exactly one line on stderr, nothing mounted, no layer touched. Then paths that
# are odd but valid (a newline, bytes that are not UTF-8, spaces, escaped ':' and ',', 4000
# bytes long) and 100 lower layers mount and behave: files read from the right layer, writes
# land in the upper, the lower layers stay as they were.
. "$(dirname "$0")/../lib.sh"

L=$T/L # layers and mountpoint of the refusal cases, rebuilt for each
LO=$L/lower UP=$L/upper WK=$L/work MNT=$L/mnt
GOOD="lowerdir=$LO,upperdir=$UP,workdir=$WK"
n() { head -c "$2" /dev/zero | tr '\0' "$1"; } # n CHAR COUNT

setup_layout() {
	rm -rf "$L"
	mkdir -p "$LO" "$UP" "$WK" "$MNT"
	echo lower > "$LO/file"
}
# A lower layer deeper than PATH_MAX (4096): 17 components of 250 bytes.
DEEP=$T/deep
mkdir "$DEEP"
(cd "$DEEP" && for _ in $(seq 1 17); do mkdir "$(n d 250)" && cd "$(n d 250)"; done && mkdir l) ||
	fail "cannot build the deep directory"
DEEP_L=$DEEP$(for _ in $(seq 1 17); do printf '/%s' "$(n d 250)"; done)/l
[ ${#DEEP_L} -gt 4096 ] || fail "the deep path is only ${#DEEP_L} bytes"

FAILED=()
cases=0
# Content, xattrs and times of everything in $L; with status 2 (the kernel refused the mount,
# after every option and layer was accepted) but the workdir, which is prepared by then.
layout_state() {
	local want=$1
	for d in "$LO" "$UP" "$MNT" $([ "$want" = 2 ] || echo "$WK"); do
		layer_fingerprint "$d"
		find "$d" -printf '%p %T@ %C@\n' | sort
	done
}

# refused STATUS NAME ARGS...: the daemon with ARGS exits with STATUS, one line, no trace.
refused() {
	local want=$1 name=$2 rc=0 problems=()
	shift 2
	cases=$((cases + 1))
	setup_layout
	local before
	before=$(layout_state "$want")
	timeout 20 "$OVERLAYD" "$@" > "$T/out" 2> "$T/err" || rc=$?
	note "case $cases: $name: exit $rc: $(head -c 300 "$T/err" | tr '\n' '|')"
	[ "$rc" = "$want" ] || problems+=("exit status $rc, want $want")
	[ "$(wc -l < "$T/err")" = 1 ] || problems+=("stderr has $(wc -l < "$T/err") lines, want 1")
	grep -q '^antares-overlayd: .' "$T/err" || problems+=("stderr does not start with 'antares-overlayd: '")
	[ ! -s "$T/out" ] || problems+=("wrote to stdout")
	if mountpoint -q "$MNT"; then
		problems+=("something is mounted")
		umount "$MNT" || umount -l "$MNT"
	fi
	[ "$(layout_state "$want")" = "$before" ] || problems+=("the layers changed")
	[ "${#problems[@]}" = 0 ] || FAILED+=("$name: ${problems[*]}")
}

# --- Malformed -o strings. -------------------------------------------------------------------
refused 1 "only commas" -o ',,,' "$MNT"
refused 1 "lowerdir==..., a path that starts with =" -o "lowerdir==$LO" "$MNT"
refused 1 "a newline in an unknown option" -o "$GOOD,frob
nicate" "$MNT"
refused 1 "an escape sequence in an unknown option" -o "$GOOD,frob$(printf '\033[2J')" "$MNT"
refused 1 "an option name that is not UTF-8" -o "$GOOD,$(printf '\377\376')" "$MNT"
refused 1 "timeout=nan" -o "$GOOD,timeout=nan" "$MNT"
refused 1 "timeout=inf" -o "$GOOD,timeout=inf" "$MNT"
refused 1 "timeout=1e999" -o "$GOOD,timeout=1e999" "$MNT"
refused 1 "timeout=-1" -o "$GOOD,timeout=-1" "$MNT"
refused 1 "max_read= with a sign" -o "$GOOD,max_read=-1" "$MNT"
refused 1 "max_read= beyond 32 bits" -o "$GOOD,max_read=99999999999999999999999" "$MNT"
refused 1 "max_read= just beyond 32 bits" -o "$GOOD,max_read=4294967296" "$MNT"
refused 1 "a 100 KiB lowerdir" -o "lowerdir=/$(n a 102400)" "$MNT"
refused 1 "a 100 KiB unknown option" -o "$GOOD,$(n a 102400)" "$MNT"
# What the kernel refuses comes back as status 2 (antares-overlayd(1), EXIT STATUS).
refused 2 "fsname= of 10000 bytes" -o "$GOOD,fsname=$(n f 10000)" "$MNT"

# --- Absurd paths. ---------------------------------------------------------------------------
refused 1 "a lowerdir longer than PATH_MAX" -o "lowerdir=$DEEP_L,upperdir=$UP,workdir=$WK" "$MNT"
refused 1 "an upperdir longer than PATH_MAX" -o "lowerdir=$LO,upperdir=$DEEP_L,workdir=$WK" "$MNT"
refused 1 "a mountpoint longer than PATH_MAX" -o "$GOOD" "$DEEP_L"
refused 1 "a 256-byte path component" -o "lowerdir=$L/$(n x 256),upperdir=$UP,workdir=$WK" "$MNT"
# A newline in a layer path is shown as \n: every message is one line (finding F3 of
# doc/security.md, fixed in the shared logger).
refused 1 "a lowerdir with a newline that does not exist" -o "lowerdir=$L/no
such,upperdir=$UP,workdir=$WK" "$MNT"
[ "$(cat "$T/err")" = "antares-overlayd: lowerdir $L/no\\nsuch: No such file or directory: create the directory or fix the path" ] ||
	FAILED+=("newline in a missing lowerdir: the message is '$(cat "$T/err")'")

note "$cases refusal cases, $((cases - ${#FAILED[@]})) refused cleanly"
if [ "${#FAILED[@]}" -gt 0 ]; then
	printf '  %s\n' "${FAILED[@]}" >&2
	fail "${#FAILED[@]} of $cases bad inputs were not refused cleanly"
fi

# --- Odd but valid paths: they mount and behave. ----------------------------------------------
esc() { printf '%s' "$1" | sed 's/[\\:,]/\\&/g'; } # the -o escaping of antares-overlayd(1)
ODD=$T/odd
NL=$'new\nline' BIN=$'\377\376bytes' SP="with space" PUNCT='co:lon,com\ma'
mkdir -p "$ODD/$NL" "$ODD/$BIN" "$ODD/$SP" "$ODD/$PUNCT" "$ODD/up-$NL" "$ODD/wk-$BIN" "$ODD/m"
LONG=$ODD/$(for _ in $(seq 1 15); do printf "%s/" "$(n o 254)"; done)
LONG=${LONG%/}
mkdir -p "$LONG"
[ ${#LONG} -gt 3800 ] && [ ${#LONG} -lt 4096 ] || fail "the long path is ${#LONG} bytes"
echo from-nl > "$ODD/$NL/a"
echo from-bin > "$ODD/$BIN/b"
echo from-space > "$ODD/$SP/c"
echo from-punct > "$ODD/$PUNCT/d"
echo from-long > "$LONG/e"
echo shadowed > "$ODD/$BIN/a" # below $NL: hidden by it
lowers_before=$(layer_fingerprint "$ODD")
opts="lowerdir=$(esc "$ODD/$NL"):$(esc "$ODD/$BIN"):$(esc "$ODD/$SP"):$(esc "$ODD/$PUNCT"):$(esc "$LONG")"
opts="$opts,upperdir=$(esc "$ODD/up-$NL"),workdir=$(esc "$ODD/wk-$BIN")"
ovl_mount "$ODD/m" "$opts"
got=$(cd "$ODD/m" && cat a b c d e)
[ "$got" = "$(printf 'from-nl\nfrom-bin\nfrom-space\nfrom-punct\nfrom-long')" ] ||
	fail "odd layer paths: the mount shows '$got'"
echo written > "$ODD/m/new" && echo more >> "$ODD/m/b" || fail "writing through the mount failed"
ovl_umount "$ODD/m"
[ "$(cat "$ODD/up-$NL/new")" = written ] && [ "$(cat "$ODD/up-$NL/b")" = "$(printf 'from-bin\nmore')" ] ||
	fail "writes did not land in the upper with the odd name"
rm -rf "$ODD/up-$NL"/* "$ODD/wk-$BIN"/*
[ "$(layer_fingerprint "$ODD")" = "$lowers_before" ] || fail "a lower layer with an odd path changed"

# --- 100 lower layers; the -o option given 100 times. ---------------------------------------
MANY=$T/many
mkdir -p "$MANY/up" "$MANY/wk" "$MANY/m"
list=""
for i in $(seq 1 100); do
	mkdir "$MANY/l$i"
	echo "$i" > "$MANY/l$i/top"
	echo "$i" > "$MANY/l$i/only-$i"
	list="$list${list:+:}$MANY/l$i"
done
args=()
for i in $(seq 1 99); do args+=(-o "lowerdir=$MANY/l$i"); done # the last lowerdir= counts
ovl_mount "$MANY/m" "lowerdir=$list,upperdir=$MANY/up,workdir=$MANY/wk" "${args[@]}" -o "lowerdir=$list"
[ "$(cat "$MANY/m/top")" = 1 ] || fail "100 layers: the topmost layer does not win"
[ "$(cat "$MANY/m/only-100")" = 100 ] || fail "100 layers: the bottom layer is not visible"
[ "$(ls "$MANY/m" | wc -l)" = 101 ] || fail "100 layers: $(ls "$MANY/m" | wc -l) entries, want 101"
ovl_umount "$MANY/m"
note "odd paths, 100 layers and 100 -o options mount and behave"
