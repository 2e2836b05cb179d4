#!/bin/bash
# --policy strict inside a real sandbox run: the syscall probe gets what strict.policy says
# (sockets, personality, io_uring, every namespace flag refused with EPERM; clone3 ENOSYS;
# plain calls, fork, pipes and memfds allowed), which differs from the default build profile
# where the two differ, so the filter loaded is strict's; and the example C project still
# builds with make -j2 and gcc, and git works, under it.
. "$(dirname "$0")/../sandbox-lib.sh"
command -v make >/dev/null && command -v cc >/dev/null || fail "make and a C compiler are needed"
P="$T/proj"
mkdir -p "$P"
cp -r "$TESTS_DIR/../examples/project/." "$P/"
(cd "$P" && git init -q . && git add -A && git commit -qm "example project") || fail "git init"
cd "$P"

SP=/tmp/antares-tools/policy/syscall-probe
probes=(getpid openat fork clone3 unshare-files unshare-user clone-user mount keyctl bpf ptrace
	ioctl-tiocsti ioctl-tiocsti-hi socket-inet socket-unix io_uring_setup personality setns
	chroot memfd_create pipe2 setuid sethostname)
strict=$(sbx --policy strict "${TOOLS_BIND[@]}" -- "$SP" "${probes[@]}") ||
	fail "the probe failed under strict: $strict"
build=$(sbx "${TOOLS_BIND[@]}" -- "$SP" "${probes[@]}") || fail "the probe failed under build: $build"

# expect PROBE STRICT BUILD: what each profile must give (BUILD "-": not compared).
bad=0
expect() {
	local s b
	s=$(awk -v n="$1" '$1 == n { print $2 }' <<<"$strict")
	b=$(awk -v n="$1" '$1 == n { print $2 }' <<<"$build")
	printf '# %-18s strict %-8s build %-8s\n' "$1" "$s" "$b" >&2
	[ "$s" = "$2" ] || { note "strict: $1 gave $s, want $2"; bad=1; }
	[ "$3" = - ] || [ "$b" = "$3" ] || { note "build: $1 gave $b, want $3"; bad=1; }
}
expect getpid OK OK
expect openat OK OK
expect fork OK OK
expect clone3 ENOSYS ENOSYS
expect unshare-files OK OK
expect unshare-user EPERM EPERM
expect clone-user EPERM EPERM
expect mount EPERM EPERM
expect keyctl EPERM EPERM
expect bpf EPERM EPERM
expect ptrace EPERM EPERM
expect ioctl-tiocsti EPERM EPERM
expect ioctl-tiocsti-hi EPERM EPERM
expect socket-inet EPERM OK
expect socket-unix EPERM OK
expect io_uring_setup EPERM ENOSYS
expect personality EPERM OK
expect setns EPERM EPERM
expect chroot EPERM EPERM
expect memfd_create OK OK
expect pipe2 OK OK
expect setuid OK OK
expect sethostname EPERM EPERM
[ $bad = 0 ] || fail "system calls under --policy strict do not behave as strict.policy says"

# What strict allows is enough for a C build, an incremental one, and git.
out=$(sbx --policy strict -- sh -c 'set -e
	make -j2 >/dev/null
	./hello
	make -j2
	git status --porcelain --untracked-files=no | wc -l') 2>&1 || fail "building under strict failed: $out"
note "$(echo "$out" | tr '\n' ';')"
case "$out" in *"is up to date"*) ;; *) fail "strict: the second make rebuilt or failed: $out" ;; esac
[ "$(echo "$out" | tail -n 1)" = 0 ] || fail "strict: git status: $out"
