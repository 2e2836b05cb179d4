#!/bin/bash
# Acceptance 2: inside the sandbox every capability set is empty, no_new_privs is set and a
# seccomp filter is loaded; mount, unshare -U, keyctl, bpf, ptrace (of the daemon too) and
# TIOCSTI fail with EPERM; host paths outside the view are absent; /usr is read-only. All under
# the default profile, build, which shows the home directory read-only with credentials hidden
# (the built-in policy before it hid the whole home directory; strict still does).
. "$(dirname "$0")/../sandbox-lib.sh"
P="$T/proj"
make_project "$P"
cd "$P"
echo secret > "$HOME/secret"
mkdir -p "$HOME/.ssh" && echo key > "$HOME/.ssh/id_test" && echo token > "$HOME/.git-credentials"
echo hostfile > "$T/outside-project"

status=$(sbx -- cat /proc/self/status) || fail "cat /proc/self/status failed"
for f in CapEff CapPrm CapBnd CapAmb CapInh; do
	v=$(echo "$status" | awk -v f="$f:" '$1 == f { print $2 }')
	[ "$v" = 0000000000000000 ] || fail "$f is '$v' inside the sandbox"
done
[ "$(echo "$status" | awk '$1 == "NoNewPrivs:" { print $2 }')" = 1 ] || fail "NoNewPrivs is not 1"
[ "$(echo "$status" | awk '$1 == "Seccomp:" { print $2 }')" = 2 ] || fail "Seccomp is not 2 (filter)"

# The daemon runs outside the sandbox's pid namespace: find its host pid to try ptrace on it.
"$SANDBOX" -- sleep 1000 &
helper=$!
DAEMON_PIDS+=("$helper") # killed at exit whatever happens
daemon=""
for _ in $(seq 1 100); do
	for p in $(descendants "$helper"); do
		case "$(tr '\0' ' ' < /proc/"$p"/cmdline 2>/dev/null)" in *antares-overlayd*) daemon=$p ;; esac
	done
	[ -n "$daemon" ] && break
	sleep 0.05
done
[ -n "$daemon" ] || fail "could not find the running antares-overlayd"
# --ephemeral: the first sandbox holds the project's upper layer.
out=$(sbx --ephemeral "${TOOLS_BIND[@]}" -- sh -c "
	for p in mount unshare-user clone-user keyctl bpf tiocsti tiocsti-highbits; do
		echo \"\$p \$($PROBE \$p < /dev/null)\"
	done
	echo \"ptrace-daemon \$($PROBE ptrace $daemon)\"
	echo \"ptrace-init \$($PROBE ptrace 1)\"
	echo \"clone3 \$($PROBE clone3)\"
	echo \"fork \$($PROBE fork)\"
	unshare -U true 2>/dev/null; echo \"unshare-cmd \$?\"
	mount -t tmpfs none /mnt 2>/dev/null; echo \"mount-cmd \$?\"
	cat /proc/[0-9]*/cmdline | tr '\0' ' '; echo
	") || fail "probe run failed: $out"
note "$(echo "$out" | tr '\n' ';')"
for p in mount unshare-user clone-user keyctl bpf tiocsti tiocsti-highbits ptrace-daemon ptrace-init; do
	echo "$out" | grep -qx "$p EPERM" || fail "$p did not fail with EPERM: $(echo "$out" | grep "^$p")"
done
echo "$out" | grep -qx "clone3 ENOSYS" || fail "clone3 must fail with ENOSYS (libc falls back to clone)"
echo "$out" | grep -qx "fork OK" || fail "a plain fork must work"
echo "$out" | grep -q "^unshare-cmd [1-9]" || fail "unshare -U succeeded"
echo "$out" | grep -q "^mount-cmd [1-9]" || fail "mount succeeded"
case "$(echo "$out" | tail -n 1)" in
*antares-overlayd* | *"sleep 1000"*) fail "/proc shows processes from outside the sandbox" ;;
esac
kill "$helper"
wait "$helper" && fail "the sandbox killed by SIGTERM exited 0"

# Host paths outside the view are absent; the root is read-only; /tmp and /dev are private;
# the home directory is read-only and its credentials are hidden.
out=$(sbx -- sh -c "
	test \"\$(cat '$HOME/secret')\" = secret && echo home-readable
	touch '$HOME/new' 2> /dev/null || echo home-read-only
	test -d '$HOME/.ssh' && test -z \"\$(ls -A '$HOME/.ssh')\" && echo ssh-hidden
	test -e '$HOME/.git-credentials' && ! test -s '$HOME/.git-credentials' && echo credentials-hidden
	test -e '$T/outside-project' && echo host-tmp-visible
	test -e '$T/state' && echo state-visible
	ls /dev | tr '\n' ' '; echo
	touch /usr/antares-probe 2>&1
	touch /tmp/ok && echo tmp-writable
	touch tracked_file && echo project-writable
	") || true
note "$(echo "$out" | tr '\n' ';')"
for w in home-readable home-read-only ssh-hidden credentials-hidden; do
	echo "$out" | grep -qx "$w" || fail "build: not $w"
done
case "$out" in *host-tmp-visible*) fail "the host's /tmp is visible in the sandbox" ;; esac
case "$out" in *state-visible*) fail "the state directory is visible in the sandbox" ;; esac
echo "$out" | grep -qx "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero " ||
	fail "/dev is not the minimal set: $(echo "$out" | sed -n 1p)"
echo "$out" | grep -q "Read-only file system" || fail "writing /usr did not fail with EROFS"
echo "$out" | grep -qx tmp-writable || fail "/tmp is not writable"
echo "$out" | grep -qx project-writable || fail "the project is not writable"
[ ! -e /usr/antares-probe ] || fail "a file appeared in the host's /usr"
out=$(sbx --policy strict -- sh -c "test -e '$HOME/secret' && echo home-visible; true") ||
	fail "strict run failed: $out"
[ -z "$out" ] || fail "strict: \$HOME is visible in the sandbox"
