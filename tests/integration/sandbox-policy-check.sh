#!/bin/bash
# --check-policy and --print-policy (issue 5): 0 and "NAME: ok" for every shipped profile; 1
# and file:line:column diagnostics for a bad file (an included one named as such), for a
# policy that parses but does not compile, and for an unknown name; --print-policy prints the
# resolved policy, which checks again. The search path: the source tree's profiles for the
# build tree's binary (root mode), ~/.config/antares/policy, and ANTARES_POLICY_PATH replacing
# all of it.
. "$(dirname "$0")/../sandbox-lib.sh"
cd "$T"

for p in build ci strict container; do
	out=$(sbx --check-policy "$p" 2> "$T/err") || fail "--check-policy $p: status $?: $(cat "$T/err")"
	[ "$out" = "$p: ok" ] && [ ! -s "$T/err" ] || fail "--check-policy $p printed '$out' $(cat "$T/err")"
done

# A bad file: every problem, each as file:line:column: message, status 1, nothing on stdout.
printf '[syscalls]\ndeny = opnat\n[namespaces]\nnet = nowhere\n' > "$T/bad.policy"
rc=0; sbx --check-policy "$T/bad.policy" > "$T/out" 2> "$T/err" || rc=$?
[ "$rc" = 1 ] || fail "--check-policy of a bad file: status $rc, want 1"
[ ! -s "$T/out" ] || fail "--check-policy of a bad file printed on stdout: $(cat "$T/out")"
grep -qxF "$T/bad.policy:2:8: unknown syscall 'opnat'; did you mean 'openat'?" "$T/err" &&
	grep -q "^$T/bad.policy:4:7: " "$T/err" || { cat "$T/err" >&2; fail "--check-policy: diagnostics"; }
note "$(tr '\n' ';' < "$T/err")"
# ... also through an include, and for what only compiling finds.
printf 'include build\ninclude bad.policy\n' > "$T/top.policy"
rc=0; sbx --check-policy "$T/top.policy" 2> "$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "^$T/bad.policy:2:8: unknown syscall 'opnat'" "$T/err" ||
	fail "an error in an included file: status $rc, $(cat "$T/err")"
printf '[syscalls]\ndefault = errno ENOSYS\nallow = personality\ndeny = personality : errno EINVAL when arg0 == 1 and arg1 == 2\n' > "$T/nocompile.policy"
rc=0; sbx --check-policy "$T/nocompile.policy" 2> "$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "^$T/nocompile.policy:4:8: the conditional rule for 'personality'" "$T/err" ||
	fail "a policy seccomp cannot express: status $rc, $(cat "$T/err")"
rc=0; sbx --check-policy nonesuch 2> "$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "^no policy named 'nonesuch' (searched: " "$T/err" ||
	fail "an unknown name: status $rc, $(cat "$T/err")"
rc=0; sbx --check-policy 2> /dev/null || rc=$?
[ "$rc" = 125 ] || fail "--check-policy without a value is a bad option (125), got $rc"

# --print-policy: the resolved text, includes expanded and groups listed; it checks again.
sbx --print-policy build > "$T/build.txt" 2> "$T/err" || fail "--print-policy build: $(cat "$T/err")"
head -n 1 "$T/build.txt" | grep -qx "# Policy 'build', fully resolved. Files read, in order:" ||
	fail "--print-policy build: header $(head -n 1 "$T/build.txt")"
for l in "#   .*/build.policy" "#   .*/build-base.policy" "default = errno ENOSYS  # .*build-base.policy:[0-9]*" \
	"allow = @system-service @sandbox @pkey  # .*" "#   @keyring: .*" "home = ro  # .*build.policy:[0-9]*" \
	"hide = ?~/.ssh  # .*" "unset = SSH_AUTH_SOCK  # .*"; do
	grep -qx -- "$l" "$T/build.txt" || fail "--print-policy build has no line matching '$l'"
done
cp "$T/build.txt" "$T/printed.policy"
[ "$(sbx --check-policy "$T/printed.policy")" = "$T/printed.policy: ok" ] || fail "the printed policy does not check"
rc=0; sbx --print-policy "$T/bad.policy" > /dev/null 2> "$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "^$T/bad.policy:2:8: " "$T/err" || fail "--print-policy of a bad file: status $rc"

# The search path. Root mode runs the build tree's binary: it uses the source tree's profiles.
if is_root_mode; then
	grep -qF "$(realpath "$PROFILES")" <<<"$(sbx --check-policy nonesuch 2>&1)" ||
		fail "the build tree's binary does not search the source tree's profiles"
fi
mkdir -p "$HOME/.config/antares/policy" "$T/pdir"
printf '[namespaces]\nhostname = mine\n' > "$HOME/.config/antares/policy/mine.policy"
[ "$(env -u ANTARES_POLICY_PATH "$SANDBOX" --check-policy mine)" = "mine: ok" ] ||
	fail "~/.config/antares/policy is not searched"
printf '[namespaces]\nhostname = other\n' > "$T/pdir/other.policy"
export ANTARES_POLICY_PATH="$T/nowhere:$T/pdir"
[ "$(sbx --check-policy other)" = "other: ok" ] || fail "ANTARES_POLICY_PATH is not searched"
rc=0; sbx --check-policy build 2> "$T/err" || rc=$?
[ "$rc" = 1 ] && grep -qF "no policy named 'build' (searched: $T/nowhere, $T/pdir)" "$T/err" ||
	fail "ANTARES_POLICY_PATH does not replace the search path: $(cat "$T/err")"
