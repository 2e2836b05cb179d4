# Shared by the profile and OCI tests: run the syscall probe once without a filter (the
# baseline) and once under a policy, and compare each result with what the test expects.
# A test sources this, lists `expect PROBE RESULT` lines, then calls `check_policy POLICY`.
# RESULT is OK, an errno name, KILLED, or "baseline" (the filter lets the call through, so it
# gets whatever the kernel says without one). Exit 0 = pass, 77 = skip, else fail.
set -eu
: "${ANTARES_BUILD:?ANTARES_BUILD must point at the meson build directory}"
: "${ANTARES_SOURCE:?ANTARES_SOURCE must point at the source tree}"
TOOL=$(realpath "$ANTARES_BUILD/policy/antares-policy")
PROBE=$(realpath "$ANTARES_BUILD/tests/policy/syscall-probe")
PROFILES=$(realpath "$ANTARES_SOURCE/policy/profiles")
TEST_NAME=$(basename "$0" .sh)

declare -A EXPECT=()
expect() { EXPECT[$1]=$2; }
fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }

# The compat ABIs are probed only where they exist: i386 needs the kernel's IA32 emulation;
# x32 calls reach the filter even when the kernel lacks x32 (seccomp runs first).
compat_expect() {
	[ "$(uname -m)" = x86_64 ] || return 0
	if [ "$("$PROBE" i386:getpid)" != "i386:getpid OK" ]; then
		echo "# no IA32 emulation in this kernel: i386 probes skipped" >&2
	else
		for kv in "$@"; do
			case $kv in i386:*) expect "${kv%=*}" "${kv#*=}" ;; esac
		done
	fi
	for kv in "$@"; do
		case $kv in x32:*) expect "${kv%=*}" "${kv#*=}" ;; esac
	done
}

# check_policy POLICY [TOOL OPTIONS...]: every expectation must hold. As root, a denial must
# also differ from the baseline, or the test would not show that the filter did it.
check_policy() {
	local policy=$1 names base got bad=0
	shift
	mapfile -t names < <(printf '%s\n' "${!EXPECT[@]}" | sort)
	base=$("$PROBE" "${names[@]}")
	got=$("$TOOL" -d "$PROFILES" "$@" exec "$policy" -- "$PROBE" "${names[@]}") ||
		fail "antares-policy exec $policy failed"
	printf '# %-22s %-12s %-12s %s\n' probe baseline "$policy" expected >&2
	for n in "${names[@]}"; do
		local b g want=${EXPECT[$n]} mark=ok
		b=$(awk -v n="$n" '$1 == n { print $2 }' <<<"$base")
		g=$(awk -v n="$n" '$1 == n { print $2 }' <<<"$got")
		[ "$want" = baseline ] && want=$b
		if [ "$g" != "$want" ]; then
			mark=FAIL
			bad=1
		elif [ "$(id -u)" = 0 ] && [ "${EXPECT[$n]}" != baseline ] && [ "$want" != OK ] &&
			[ "$b" = "$want" ]; then
			mark="FAIL (same as without a filter)"
			bad=1
		fi
		printf '# %-22s %-12s %-12s %-12s %s\n' "$n" "$b" "$g" "$want" "$mark" >&2
	done
	[ $bad = 0 ] || fail "$policy: some system calls did not behave as the policy says"
	echo "$policy: ${#names[@]} probes behave as written"
}

# run_under POLICY CMD...: runs a real tool under the policy's filter.
run_under() {
	local policy=$1
	shift
	"$TOOL" -d "$PROFILES" exec "$policy" -- "$@"
}

# tools_work POLICY: the reference build tools do real work in a scratch directory under the
# policy's filter: gcc compiles and links, make -j2 and ninja build, git commits, sqlite3
# writes in WAL mode. Tools that are not installed are reported and skipped.
tools_work() {
	local policy=$1 dir n=0
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' RETURN
	cd "$dir"
	printf '#include <stdio.h>\nint main(void) { puts("hello from %s"); return 0; }\n' "$policy" >hello.c
	if command -v gcc >/dev/null; then
		run_under "$policy" gcc -O2 -o hello hello.c || fail "$policy: gcc failed"
		[ "$(run_under "$policy" ./hello)" = "hello from $policy" ] || fail "$policy: compiled program"
		n=$((n + 1))
	fi
	for i in 1 2 3 4; do echo "int f$i(void) { return $i; }" >"f$i.c"; done
	printf 'all: lib.a\nlib.a: f1.o f2.o f3.o f4.o\n\tar rcs $@ $^\n%%.o: %%.c\n\tcc -c -o $@ $<\n' >Makefile
	if command -v make >/dev/null; then
		run_under "$policy" make -s -j2 >/dev/null || fail "$policy: make -j2 failed"
		[ -f lib.a ] || fail "$policy: make produced nothing"
		n=$((n + 1))
	fi
	if command -v ninja >/dev/null; then
		printf 'rule cc\n  command = cc -c $in -o $out\nbuild n1.o: cc f1.c\nbuild n2.o: cc f2.c\n' >build.ninja
		run_under "$policy" ninja -j2 >/dev/null || fail "$policy: ninja failed"
		n=$((n + 1))
	fi
	if command -v git >/dev/null; then
		run_under "$policy" git init -q repo || fail "$policy: git init failed"
		cp hello.c repo/
		(cd repo && run_under "$policy" git add hello.c &&
			run_under "$policy" git -c user.name=t -c user.email=t@e commit -qm init &&
			[ "$(run_under "$policy" git log --format=%s)" = init ]) || fail "$policy: git commit failed"
		n=$((n + 1))
	fi
	if command -v sqlite3 >/dev/null; then
		[ "$(run_under "$policy" sqlite3 db 'PRAGMA journal_mode=WAL; CREATE TABLE t(x);
			INSERT INTO t VALUES (42); SELECT x FROM t;' | tail -1)" = 42 ] ||
			fail "$policy: sqlite3 WAL failed"
		n=$((n + 1))
	fi
	cd - >/dev/null
	echo "$policy: $n of gcc, make, ninja, git, sqlite3 worked under the filter"
}
