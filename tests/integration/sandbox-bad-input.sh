#!/bin/bash
# Bad input for antares-sandbox, beyond sandbox-errors.sh: layouts the overlay cannot serve
# (--upper at or inside the project, the state directory inside the project, a layer given
# twice or equal to the project, a lower that is a file), absurd paths (a project or working
# directory longer than PATH_MAX), bad numbers (--keep-fd, --uid), too many layers, a
# --rootfs that names nothing. Each is refused with status 125 and one line naming the
# problem, before anything is created: the project is byte- and timestamp-identical after.
# Then paths that are odd but valid work: a project whose path has a newline, bytes that are
# not UTF-8, ':' and ',' and a 255-byte name (its state directory name is cut to fit), a
# --lower and a --bind with such names.
. "$(dirname "$0")/../sandbox-lib.sh"
P="$T/proj"
make_project "$P"
mkdir "$T/low"
echo "not a directory" > "$T/afile"
n() { head -c "$2" /dev/zero | tr '\0' "$1"; } # n CHAR COUNT
snap() { layer_fingerprint "$1"; find "$1" -printf '%p %T@ %C@\n' | sort; }

# refused WORDS... -- ARGS: antares-sandbox ARGS (from the project) exits 125 with one line
# holding every WORD, and neither the project nor any mount on the host changed.
refused() {
	local words=() rc=0 before
	while [ "$1" != -- ]; do words+=("$1"); shift; done
	shift
	before=$(snap "$P")
	(cd "$P" && "$SANDBOX" "$@") > "$T/out" 2> "$T/err" || rc=$?
	[ "$rc" = 125 ] || { cat "$T/err" >&2; fail "'$*' exited with $rc, want 125"; }
	expect_one_line "$T/err" "${words[@]}"
	[ "$(snap "$P")" = "$before" ] || fail "'$*' changed the project: $(diff <(echo "$before") <(snap "$P") | head -4)"
	[ -z "$(mounts_under "$T")" ] || fail "mounts left on the host after '$*'"
}

# --- Layouts the overlay cannot serve. ------------------------------------------------------
refused "the state directory $P/.state lies inside the project $P" "--upper DIR outside it" \
	-- --upper "$P/.state" -- true
refused "the state directory $P lies inside the project $P" -- --upper . -- true
refused "--upper $P/no/such: its parent $P/no" "No such file or directory" -- --upper "$P/no/such" -- true
refused "--lower $P is the project directory" -- --lower "$P" -- true
refused "--lower $T/low is given twice" -- --lower "$T/low" --lower "$T/low/" -- true
refused "--lower $T/afile" "Not a directory" -- --lower "$T/afile" -- true
mkdir -p "$T/st/upper/inner"
refused "--lower $T/st/upper/inner lies inside the upper layer $T/st/upper" \
	-- --upper "$T/st" --lower "$T/st/upper/inner" -- true
# The default state directory inside the project (a project at $HOME, say).
XDG_STATE_HOME="$P/state" refused "the state directory $P/state/antares/" \
	"lies inside the project $P" -- -- true
[ ! -e "$P/state" ] || fail "the state directory was created inside the project"

# --- Absurd paths and numbers. --------------------------------------------------------------
DEEP=$T/deep # a directory deeper than PATH_MAX, reached with relative cd
mkdir "$DEEP"
(cd "$DEEP" && for _ in $(seq 1 17); do mkdir "$(n d 250)" && cd "$(n d 250)"; done && mkdir .antares) ||
	fail "cannot build the deep directory"
DEEP_P=$DEEP$(for _ in $(seq 1 17); do printf '/%s' "$(n d 250)"; done)
refused "project directory $DEEP/ddd" "File name too long" -- --project "$DEEP_P" -- true
rc=0
(cd "$DEEP" && for _ in $(seq 1 17); do cd "$(n d 250)"; done && "$SANDBOX" -- true) 2> "$T/err" || rc=$?
[ "$rc" = 125 ] || fail "a working directory longer than PATH_MAX: status $rc"
expect_one_line "$T/err" "find the current directory" "longer than PATH_MAX"
refused "--keep-fd '1' is not an open file descriptor above 2" -- --keep-fd 1 -- true
refused "--keep-fd '99999' is not an open file descriptor" -- --keep-fd 99999 -- true
refused "--keep-fd '-3'" -- --keep-fd -3 -- true
refused "--uid '65536' must be a number 0-65535" -- --uid 65536 -- true
refused "--gid '' must be a number" -- --gid "" -- true
refused "--rootfs ':::' names no directory" -- --rootfs ::: -- true
many=()
for i in $(seq 1 65); do mkdir -p "$T/many/$i"; many+=(--lower "$T/many/$i"); done
refused "too many --lower layers" -- "${many[@]}" -- true
refused "bind destination 'relative/dst' must be an absolute path" -- --bind /usr relative/dst -- true

# --- Odd but valid paths. ---------------------------------------------------------------------
ODD="$T/odd new
line $(printf '\377\376') co:lon,comma $(n p 200)"
make_project "$ODD"
LOW="$T/low new
line:,"
mkdir "$LOW"
echo from-lower > "$LOW/lower-file"
mkdir "$T/bsrc"
echo bound > "$T/bsrc/b"
before=$(snap "$ODD")
out=$(cd "$ODD" && sbx --lower "$LOW" --bind "$T/bsrc" "/tmp/dst
with:colon" -- sh -c 'pwd; cat tracked_file lower-file "/tmp/dst
with:colon/b"; echo new > new-file') || fail "a project with an odd path: $out"
[ "$out" = "$(printf '%s\nline 1\nfrom-lower\nbound' "$ODD")" ] || fail "a project with an odd path shows: $out"
[ "$(cd "$ODD" && sbx --lower "$LOW" --diff)" = "A new-file" ] ||
	fail "--diff with an odd project path: $(cd "$ODD" && sbx --lower "$LOW" --diff)"
[ "$(snap "$ODD")" = "$before" ] || fail "the project with an odd path changed"
# A 255-byte project name: NAME-HASH of its state directory would be 272 bytes.
LONGNAME=$T/$(n q 255)
make_project "$LONGNAME"
[ "$(cd "$LONGNAME" && sbx -- cat tracked_file)" = "line 1" ] || fail "a project with a 255-byte name"
[ -n "$(ls "$XDG_STATE_HOME/antares" | awk 'length($0) <= 255 && /^qqqq/')" ] ||
	fail "no state directory for the 255-byte project: $(ls "$XDG_STATE_HOME/antares")"
note "odd project, lower and bind paths, and a 255-byte project name work"
