#!/bin/bash
# An OCI seccomp profile (fixtures/oci-test.json, written for this test) imports and behaves as
# it says: errnoRet per rule, the default errno, KILL, TRACE as ENOSYS, LOG as allow, argument
# conditions (socket domain, docker's clone flag mask, personality), caps-conditional rules
# dropped, on every ABI; loaded directly and through a policy that includes and overrides it.
. "$(dirname "$0")/lib-probe.sh"
fixture=$(realpath "$(dirname "$0")/fixtures/oci-test.json")

expect getpid OK                # SCMP_ACT_LOG: allowed
expect openat OK
expect fork OK                  # clone allowed when (flags & 0x7E020000) == 0
expect clone-user EPERM         # a namespace flag: no rule matches, the default errno 1
expect unshare-user EPERM       # not listed: default
expect mount EACCES             # errnoRet 13
expect keyctl EOPNOTSUPP        # errnoRet 95
expect ptrace KILLED            # SCMP_ACT_KILL_PROCESS
expect bpf ENOSYS               # SCMP_ACT_TRACE without a tracer
expect socket-unix OK           # allowed when arg0 == AF_UNIX
expect socket-inet EPERM
expect personality OK           # personality(0xffffffff): one of two OR-ed conditions
expect add_key EPERM            # includes.caps CAP_SYS_ADMIN, which is not kept
expect reboot EPERM
expect ioctl-tiocsti EPERM      # the built-in TIOCSTI filter applies to imports too
expect ioctl-fionread baseline
compat_expect i386:getpid=OK i386:mount=EACCES x32:keyctl=EOPNOTSUPP x32:mount=EACCES
check_policy "$fixture"

# Included from a policy, which then overrides part of it.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/site.policy" <<POLICY
include "$fixture"
[syscalls]
deny = getpid : errno EIO
allow = reboot
POLICY
"$TOOL" check "$dir/site.policy" >/dev/null || fail "site.policy does not check"
EXPECT=()
expect getpid EIO
expect mount EACCES
expect reboot baseline
expect socket-unix OK
check_policy "$dir/site.policy"

# `print` shows the imported rules in the policy language, with their JSON positions.
out=$("$TOOL" print "$fixture")
grep -qx "deny = mount : errno EACCES  # $fixture:25" <<<"$out" ||
	fail "print does not show the imported mount rule with its origin"
grep -qx "allow = socket : when arg0 == 1  # $fixture:30" <<<"$out" ||
	fail "print does not show the conditional socket rule"
if grep -q add_key <<<"$out"; then fail "the caps-conditional rule was not dropped"; fi
echo "OCI fixture: imported, included, overridden and printed as specified"
