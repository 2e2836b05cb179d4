#!/bin/bash
# A policy's [environment], [namespaces] and [limits] in a real run: mode = clear keeps only
# the allow-list (names and LC_* patterns), then set and unset; hostname in a private uts
# namespace; uid/gid from the policy unless --uid/--gid say otherwise; ipc/uts = host share the
# host's namespaces (a hostname is then ignored, with a warning); user-map = subid maps a range
# like --map-users; kept capabilities are in every set; a limit above our own hard limit is
# clamped, and --verbose says so.
. "$(dirname "$0")/../sandbox-lib.sh"
P="$T/proj"
make_project "$P"
cd "$P"
cat > "$T/env.policy" <<'EOP'
include build
[namespaces]
hostname = antares-box
uid = 1000
gid = 100
[environment]
mode = clear
allow = PATH KEEP_ME LC_*
set = FOO=bar "SPACED=a b" KEEP_ME=replaced-later
set = KEEP_ME=set
unset = LC_DROP
EOP

out=$(KEEP_ME=kept LC_TEST=lc LC_DROP=gone OTHER=other sbx --policy "$T/env.policy" -- \
	sh -c 'env | grep -v "^PWD=" | sort; hostname; id -u; id -g') || fail "env policy run: $out"
note "$(echo "$out" | tr '\n' ';')"
want=$(printf 'FOO=bar\nKEEP_ME=set\nLC_TEST=lc\nPATH=%s\nSPACED=a b\nantares-box\n1000\n100' "$PATH")
[ "$out" = "$want" ] || fail "environment, hostname and ids: got
$out
want
$want"
# The command line wins: --uid/--gid over the policy's.
[ "$(sbx --policy "$T/env.policy" --uid 7 --gid 8 -- sh -c 'echo $(id -u):$(id -g)')" = 7:8 ] ||
	fail "--uid/--gid do not override the policy's uid/gid"
# The default profile keeps the environment but for the agents.
[ "$(SSH_AUTH_SOCK=/x OTHER=other sbx -- sh -c 'echo ${SSH_AUTH_SOCK:-unset} $OTHER')" = "unset other" ] ||
	fail "build: SSH_AUTH_SOCK must go, the rest stay"

# Kept capabilities: in every set, for uid 0 inside and (through the ambient set) any other.
printf 'include build\n[capabilities]\nkeep = CAP_CHOWN CAP_FOWNER\n' > "$T/caps.policy"
for uid in 0 1000; do
	out=$(sbx --policy "$T/caps.policy" --uid $uid -- sh -c 'grep ^Cap /proc/self/status | tr -d "\t" | tr "\n" " "')
	[ "$out" = "CapInh:0000000000000009 CapPrm:0000000000000009 CapEff:0000000000000009 CapBnd:0000000000000009 CapAmb:0000000000000009 " ] ||
		fail "keep = CAP_CHOWN CAP_FOWNER as uid $uid: $out"
done

# ipc and uts shared with the host; a hostname cannot apply then.
printf 'include build\n[namespaces]\nipc = host\nuts = host\nhostname = ignored\n' > "$T/share.policy"
out=$(sbx --policy "$T/share.policy" -- sh -c 'readlink /proc/self/ns/ipc /proc/self/ns/uts; hostname' 2> "$T/err") ||
	fail "shared namespaces: $out"
[ "$out" = "$(readlink /proc/self/ns/ipc /proc/self/ns/uts; hostname)" ] || fail "ipc/uts = host: $out"
grep -q "hostname ignored is ignored" "$T/err" || fail "no warning about the ignored hostname: $(cat "$T/err")"
[ "$(sbx -- readlink /proc/self/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ] || fail "build: ipc is not private"

# user-map = subid: the same map as --map-users.
if is_root_mode || { grep -q "^$(id -un):" /etc/subuid && command -v newuidmap >/dev/null; }; then
	printf 'include build\n[namespaces]\nuser-map = subid\n' > "$T/subid.policy"
	[ "$(sbx --policy "$T/subid.policy" -- cat /proc/self/uid_map)" = "$(sbx --map-users -- cat /proc/self/uid_map)" ] ||
		fail "user-map = subid maps differently from --map-users"
	[ "$(sbx --policy "$T/subid.policy" -- sh -c 'wc -l < /proc/self/uid_map')" -ge 2 ] || fail "user-map = subid: one id"
else
	note "no subordinate ids for $(id -un): user-map = subid not tested"
fi

# A limit above our hard limit is lowered to it, and --verbose says so.
printf 'include build\n[limits]\nnofile = 1024:2048\n' > "$T/limits.policy"
out=$(ulimit -Sn 512 && ulimit -Hn 512 && sbx --verbose --policy "$T/limits.policy" -- sh -c 'echo $(ulimit -n):$(ulimit -Hn)' 2> "$T/verbose") ||
	fail "clamped limits run: $out"
[ "$out" = 512:512 ] || fail "nofile 1024:2048 under a hard limit of 512: $out"
grep -q "nofile 1024:2048 is above this process's hard limit 512: clamped to 512:512" "$T/verbose" ||
	{ cat "$T/verbose" >&2; fail "--verbose does not report the clamped limit"; }
[ "$(sbx --policy "$T/limits.policy" -- sh -c 'echo $(ulimit -n):$(ulimit -Hn)')" = 1024:2048 ] ||
	fail "nofile 1024:2048 is not applied as written where it can be"
