# Helpers for the antares-sandbox tests, on top of lib.sh. The sandbox creates its own user
# namespace, so in rootless mode these tests run as the plain unprivileged user (SANDBOX_TEST).
SANDBOX_TEST=1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

exec 3>&2 # the test's own stderr, for notes from helpers whose stderr is being captured

SANDBOX="$ANTARES_BUILD/helper/antares-sandbox"
[ -x "$SANDBOX" ] || fail "antares-sandbox not built at $SANDBOX"
# The test tools live under /tmp in rootless mode, which the sandbox replaces by a tmpfs:
# tests that need them inside bind them with "${TOOLS_BIND[@]}".
TOOLS_BIND=(--ro-bind "$TOOLS" /tmp/antares-tools)
PROBE=/tmp/antares-tools/sandbox-probe

export XDG_STATE_HOME="$T/state" HOME="$T/home"
mkdir -p "$HOME"
# Profiles: the source tree's, found by the build tree's antares-sandbox itself as root; the
# staged copy of rootless mode gets ANTARES_POLICY_PATH from lib.sh. No one's own profiles.
unset XDG_CONFIG_HOME
is_root_mode && unset ANTARES_POLICY_PATH
PROFILES=$TESTS_DIR/../policy/profiles
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

# without_userns CMD...: run CMD where no user namespace can be created. As root this is the
# global sysctl user.max_user_namespaces=0, restored right after CMD (a short window: it
# affects the whole machine). Where even root may not change it (no CAP_SYS_RESOURCE, as on
# some CI machines) and rootless, the same limit is set in a user namespace of the test's own,
# which only its descendants see: the kernel checks the limit of every ancestor namespace.
without_userns() {
	local old rc=0
	old=$(sysctl -n user.max_user_namespaces)
	if is_root_mode && sysctl -qw user.max_user_namespaces=0 2>/dev/null; then
		"$@" || rc=$?
		sysctl -qw user.max_user_namespaces="$old"
		return $rc
	fi
	is_root_mode && note "cannot change the global sysctl here: using a namespace of our own" 2>&3
	unshare -Ur sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"' sh "$@"
}

# without_fuse CMD...: run CMD where /dev/fuse is a node the sandbox's namespace may not
# open: a file owned by an id that is not mapped there, bound over /dev/fuse in a mount
# namespace of the test's own (root: a file of uid 12345; rootless: root's /etc/shadow).
without_fuse() {
	local fake=/etc/shadow
	if is_root_mode; then
		fake=$T/fake-fuse
		: > "$fake"
		chown 12345:12345 "$fake"
		chmod 0600 "$fake"
		unshare -m sh -c 'mount --bind "$0" /dev/fuse && exec "$@"' "$fake" "$@"
	else
		unshare -Urm sh -c 'mount --bind "$0" /dev/fuse && exec "$@"' "$fake" "$@"
	fi
}
