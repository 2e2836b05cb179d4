# Helpers for the antares-sandbox tests, on top of lib.sh. The sandbox creates its own user
# namespace, so in rootless mode these tests run as the plain unprivileged user (SANDBOX_TEST).
SANDBOX_TEST=1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SANDBOX="$ANTARES_BUILD/helper/antares-sandbox"
[ -x "$SANDBOX" ] || fail "antares-sandbox not built at $SANDBOX"
# The test tools live under /tmp in rootless mode, which the sandbox replaces by a tmpfs:
# tests that need them inside bind them with "${TOOLS_BIND[@]}".
TOOLS_BIND=(--ro-bind "$TOOLS" /tmp/antares-tools)
PROBE=/tmp/antares-tools/sandbox-probe

export XDG_STATE_HOME="$T/state" HOME="$T/home"
mkdir -p "$HOME"
export GIT_AUTHOR_NAME=Antares GIT_AUTHOR_EMAIL=antares@example.invalid
export GIT_COMMITTER_NAME=Antares GIT_COMMITTER_EMAIL=antares@example.invalid
export GIT_CONFIG_NOSYSTEM=1

sbx() { "$SANDBOX" "$@"; }

# make_project DIR: a git repository with a committed tracked_file.
make_project() {
	mkdir -p "$1"
	(cd "$1" && git init -q . && printf 'line 1\n' > tracked_file && git add tracked_file &&
		git commit -qm initial) || fail "cannot create the project in $1"
}

# Host mount points at or below DIR (there must never be any).
mounts_under() {
	awk -v d="$1" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo
}

# Every process below PID, recursively.
descendants() {
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# expect_one_line FILE WORD...: FILE holds exactly one line and it has every WORD.
expect_one_line() {
	local f=$1 w
	shift
	[ "$(wc -l < "$f")" = 1 ] || { cat "$f" >&2; fail "want exactly one line of error, got $(wc -l < "$f")"; }
	for w in "$@"; do
		grep -qF -- "$w" "$f" || fail "error line lacks '$w': $(cat "$f")"
	done
	note "error line: $(cat "$f")"
}
