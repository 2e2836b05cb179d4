# Helpers for the sandbox attack battery (tests/integration/sandbox-attacks*.sh), on top of
# sandbox-lib.sh. Each attempt is made from inside the sandbox with attack-probe and must fail;
# where it can be tried outside the sandbox too, that "control" is recorded, so a pass cannot
# come from the host refusing the attempt anyway. Failures are collected and reported at the
# end (attack_report), so one run shows every attack that got through.

# Root-made fixtures for rootless mode: lib.sh re-runs the test as the unprivileged user, who
# cannot make setuid-root files, device nodes or a directory in /run. A test that needs them
# defines make_root_fixture DIR before sourcing this file; it runs as root (also in root mode),
# in a directory outside /tmp (the sandbox shows the host's /var/tmp, read-only), and the
# directory reaches the rootless run as the script's first argument. Paths the fixture makes
# elsewhere (a directory in /run) are listed in DIR/cleanup, one a line, and removed with it.
remove_root_fixture() {
	[ -n "${ATTACK_FIXTURE:-}" ] || return 0
	if [ -f "$ATTACK_FIXTURE/cleanup" ]; then
		local p
		while IFS= read -r p; do rm -rf -- "$p"; done < "$ATTACK_FIXTURE/cleanup"
	fi
	rm -rf -- "$ATTACK_FIXTURE"
}
if [ "${MODE:-root}" = rootless ] && [ "$(id -u)" = 0 ] && [ -z "${ANTARES_IN_USERNS:-}" ] &&
	declare -F make_root_fixture >/dev/null; then
	ATTACK_FIXTURE=$(mktemp -d /var/tmp/antares-attack.XXXXXX)
	trap remove_root_fixture EXIT # lib.sh's rootless branch sets no trap of its own
	make_root_fixture "$ATTACK_FIXTURE" antares-test
	set -- "$ATTACK_FIXTURE" "$@"
fi

. "$(dirname "${BASH_SOURCE[0]}")/sandbox-lib.sh"

AP=/tmp/antares-tools/attack-probe # inside the sandbox (TOOLS_BIND)
HP=$TOOLS/attack-probe              # outside
[ -x "$HP" ] || fail "attack-probe not built at $HP"

# In root mode the fixture is made here; in rootless mode it came as $1.
if declare -F make_root_fixture >/dev/null; then
	if is_root_mode; then
		ATTACK_FIXTURE=$(mktemp -d /var/tmp/antares-attack.XXXXXX)
		trap 'remove_root_fixture; cleanup' EXIT
		make_root_fixture "$ATTACK_FIXTURE" root
	else
		ATTACK_FIXTURE=${1:?the root-made fixture directory}
	fi
fi

ATTACKS_FAILED=()
ATTACKS_TRIED=0

# denied NAME INSIDE [CONTROL]: the attempt NAME gave INSIDE in the sandbox (attack-probe's
# answer: OK[:detail] or an errno name); anything but OK is a refusal. CONTROL is what the
# same attempt gave outside ("" when it cannot be tried there).
denied() {
	local name=$1 inside=$2 control=${3:-} how="outside: not tried"
	ATTACKS_TRIED=$((ATTACKS_TRIED + 1))
	case "$control" in
	"") ;;
	OK*) how="outside: succeeds ($control)" ;;
	*) how="outside: the host refuses too ($control)" ;;
	esac
	case "$inside" in
	OK* | "") ATTACKS_FAILED+=("$name: inside the sandbox it gave '${inside:-no answer}'; $how") ;;
	esac
	note "attack $name: inside ${inside:-no answer}; $how" 2>&3
}

# attack_failed NAME WHY: an attempt judged by the test itself got through.
attack_failed() {
	ATTACKS_TRIED=$((ATTACKS_TRIED + 1))
	ATTACKS_FAILED+=("$1: $2")
	note "attack $1: NOT STOPPED: $2" 2>&3
}

# attack_stopped NAME HOW: an attempt judged by the test itself was stopped.
attack_stopped() {
	ATTACKS_TRIED=$((ATTACKS_TRIED + 1))
	note "attack $1: $2" 2>&3
}

# answer NAME OUTPUT: the answer on the line "NAME ANSWER" of OUTPUT.
answer() {
	echo "$2" | awk -v n="$1" '$1 == n { sub(/^[^ ]* ?/, ""); print; exit }'
}

attack_report() {
	if [ "${#ATTACKS_FAILED[@]}" -gt 0 ]; then
		printf '  %s\n' "${ATTACKS_FAILED[@]}" >&2
		fail "${#ATTACKS_FAILED[@]} of $ATTACKS_TRIED attacks were not stopped (details above)"
	fi
	note "$ATTACKS_TRIED attacks tried, all stopped"
}
