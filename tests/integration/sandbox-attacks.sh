#!/bin/bash
# Sandbox attack battery, part 1: the terminal, other processes and kernel facilities. Every
# attempt is made from inside the sandbox (tests/tools/attack-probe) and must fail; where it
# can, the same attempt is made outside too, to show the refusal is the sandbox's doing.
#   terminal   TIOCSTI on stdin and on /dev/tty, taking the terminal back with setsid and
#              TIOCSCTTY, TIOCLINUX; the sandbox runs under a pseudo-terminal of its own
#   processes  ptrace attach/seize and kill of antares-sandbox, its setup process and
#              antares-overlayd (host pids passed in), kill(-1); /proc/PID/root and cwd of a
#              process outside; pid 1's memory and descriptors; inherited descriptors
#   kernel     open_by_handle_at, new user namespaces (unshare, clone, clone3, unshare -U),
#              mount, umount of every mount of the view (the tmpfs hiding $HOME among
#              them: policy-agnostic), remount, pivot_root, fsopen, open_tree,
#              keyctl, add_key, request_key, bpf, perf_event_open, userfaultfd, writable files
#              in /proc and /sys (/proc/sys/kernel/core_pattern above all)
. "$(dirname "$0")/../attack-lib.sh"
P="$T/proj"
make_project "$P"
cd "$P"
SECRET_DIR=$T/secret-dir # hidden in the sandbox (/tmp is a tmpfs there), readable outside
mkdir "$SECRET_DIR"
echo "host secret" > "$SECRET_DIR/secret"
SECRET=$SECRET_DIR/secret
# Under the build profile $HOME is read-only but ~/.ssh is hidden: the secret lives there.
mkdir -p "$HOME/.ssh" && echo "home secret" > "$HOME/.ssh/secret"

# --- The terminal. ---------------------------------------------------------------------------
# Text pushed into a terminal's input queue is echoed by the line discipline, so what the
# terminal showed tells whether an injection worked, whatever the probe said.
ctl=$("$HP" pty-run "$HP" tiocsti ANTARES-CONTROL-INJECTION | tr -d '\r')
case "$ctl" in
*ANTARES-CONTROL-INJECTION*) ctl_sti="OK (the terminal echoed it)" ;;
*) ctl_sti=$(echo "$ctl" | tail -n 1) ;;
esac
ctl_devtty=$("$HP" pty-run "$HP" tiocsti-devtty ANTARES-CONTROL-DEVTTY | tr -d '\r' | sed 's/^ANTARES-CONTROL-DEVTTY//')
ctl_steal=$("$HP" pty-run "$HP" steal-tty ANTARES-CONTROL-STEAL | tr -d '\r' |
	sed 's/^ANTARES-CONTROL-STEAL//; s/^sctty-ok-then-OK$/OK (stole the terminal, injected)/')
out=$("$HP" pty-run "$SANDBOX" --ephemeral "${TOOLS_BIND[@]}" -- sh -c "
	test -t 0 && echo stdin-is-a-terminal yes
	echo tiocsti \$($AP tiocsti ANTARES-INJECTED-1)
	echo tiocsti-devtty \$($AP tiocsti-devtty ANTARES-INJECTED-2)
	echo steal-tty \$($AP steal-tty ANTARES-INJECTED-3)
	echo tioclinux \$($AP tioclinux)
	" | tr -d '\r') || fail "the sandbox under a pseudo-terminal failed: $out"
[ "$(answer stdin-is-a-terminal "$out")" = yes ] || fail "stdin is not the terminal in the sandbox: $out"
denied tiocsti "$(answer tiocsti "$out")" "$ctl_sti"
denied tiocsti-devtty "$(answer tiocsti-devtty "$out")" "$ctl_devtty"
denied steal-tty-then-tiocsti "$(answer steal-tty "$out")" "$ctl_steal"
denied tioclinux "$(answer tioclinux "$out")" # only a virtual console answers it outside
case "$out" in
*ANTARES-INJECTED*) attack_failed terminal-echo "text pushed from the sandbox reached the terminal: $out" ;;
*) attack_stopped terminal-echo "nothing pushed from the sandbox reached the terminal" ;;
esac

# --- Other processes. ------------------------------------------------------------------------
# A process outside with its working directory in the hidden directory, to reach through
# /proc/PID/cwd and /proc/PID/root.
(cd "$SECRET_DIR" && exec sleep 1000) &
sleeper=$!
DAEMON_PIDS+=("$sleeper")
X=$T/exchange # pids in, answers out
mkdir "$X"
# The sandbox waits for the host pids of its own antares-sandbox, setup process and daemon,
# then attacks them; kill(-1) comes last, and the probe waits until the host was looked at.
"$SANDBOX" --ephemeral "${TOOLS_BIND[@]}" --bind "$X" /tmp/x --keep-fd 8 -- sh -c '
	for i in $(seq 1 1200); do [ -e /tmp/x/go ] && break; sleep 0.05; done
	. /tmp/x/pids
	for who in helper setup daemon sleeper; do
		eval pid=\$$who
		echo "ptrace-$who $('"$AP"' ptrace $pid)"
		echo "seize-$who $('"$AP"' seize $pid)"
		echo "kill0-$who $('"$AP"' kill $pid 0)"
		echo "kill9-$who $('"$AP"' kill $pid 9)"
		echo "root-$who $('"$AP"' read /proc/$pid/root$secret)"
		echo "cwd-$who $('"$AP"' read /proc/$pid/cwd/secret)"
	done
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		echo "visible-root-$p $('"$AP"' read /proc/$p/root$secret)"
		echo "visible-cwd-$p $('"$AP"' read /proc/$p/cwd/secret)"
	done
	echo "pid1-mem $('"$AP"' mem-write 1)"
	echo "pid1-fds $('"$AP"' fds 1)"
	echo "self-fds $('"$AP"' fds)"
	sleep 1000 &  # a process for kill(-1) to kill
	# exec: the probe is the command itself, the one process kill(-1) spares besides pid 1
	exec '"$AP"' kill-all-wait /tmp/x/looked > /tmp/x/kill-all
	' > "$X/answers" 2>&1 8< "$P/tracked_file" 9< "$SECRET" &
helper=$!
DAEMON_PIDS+=("$helper")
setup="" daemon=""
for _ in $(seq 1 200); do
	setup=$(cat /proc/"$helper"/task/*/children 2>/dev/null | awk '{ print $1 }')
	for p in $(descendants "$helper"); do
		case "$(tr '\0' ' ' < /proc/"$p"/cmdline 2>/dev/null)" in *antares-overlayd*) daemon=$p ;; esac
	done
	[ -n "$setup" ] && [ -n "$daemon" ] && break
	sleep 0.05
done
[ -n "$daemon" ] || fail "could not find the sandbox's antares-overlayd"
printf 'helper=%s setup=%s daemon=%s sleeper=%s secret=%s\n' "$helper" "$setup" "$daemon" \
	"$sleeper" "$SECRET" > "$X/pids"
# What the daemon inherited (it should hold /dev/fuse and layers only).
daemon_fds=$(ls -l /proc/"$daemon"/fd/ 2>&1 | awk 'NR > 1 { print $NF }' | tr '\n' ' ')
touch "$X/go"
for _ in $(seq 1 1200); do [ -s "$X/kill-all" ] && break; sleep 0.05; done
[ -s "$X/kill-all" ] || { cat "$X/answers" >&2; fail "the sandbox never reached kill(-1)"; }
alive=""
for p in "$helper" "$setup" "$daemon" "$sleeper"; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
touch "$X/looked"
wait "$helper" || true # its command was killed by its own kill(-1)
out=$(cat "$X/answers")

for who in helper setup daemon sleeper; do
	ctl=""
	[ "$who" = sleeper ] && ctl=$("$HP" seize "$sleeper") # no stop, so safe to try outside
	denied "ptrace-$who" "$(answer "ptrace-$who" "$out")"
	denied "seize-$who" "$(answer "seize-$who" "$out")" "$ctl"
	[ "$who" = sleeper ] && ctl=$("$HP" kill "$sleeper" 0)
	denied "kill-$who" "$(answer "kill0-$who" "$out")" "$ctl"
	denied "sigkill-$who" "$(answer "kill9-$who" "$out")"
	[ "$who" = sleeper ] && ctl=$("$HP" read "/proc/$sleeper/root$SECRET")
	denied "proc-root-$who" "$(answer "root-$who" "$out")" "$ctl"
	[ "$who" = sleeper ] && ctl=$("$HP" read "/proc/$sleeper/cwd/secret")
	denied "proc-cwd-$who" "$(answer "cwd-$who" "$out")" "$ctl"
done
# Every process the sandbox can see: none of their roots or working directories leads out.
for line in $(echo "$out" | awk '$1 ~ /^visible-/ { print $1 "=" $2 }'); do
	denied "${line%%=*}" "${line#*=}"
done
n_visible=$(echo "$out" | grep -c '^visible-root-')
[ "$n_visible" -ge 2 ] || fail "the sandbox saw $n_visible processes in /proc: $out"
if [ "$alive" = " $helper $setup $daemon $sleeper" ]; then
	attack_stopped kill-all "kill(-1, SIGKILL) inside ($(cat "$X/kill-all")) left antares-sandbox, setup, daemon and the outside process alive"
else
	attack_failed kill-all "after kill(-1, SIGKILL) inside only these were alive:$alive (of $helper $setup $daemon $sleeper)"
fi
denied pid1-mem-write "$(answer pid1-mem "$out")"
# pid 1 holds nothing (listing may be allowed, descriptors above 2 must not be there).
case "$(answer pid1-fds "$out")" in
OK:0\ 1\ 2 | E[A-Z]*) attack_stopped pid1-fds "pid 1's descriptors: $(answer pid1-fds "$out")" ;;
*) attack_failed pid1-fds "pid 1 holds descriptors the command can reach: $(answer pid1-fds "$out")" ;;
esac
# The caller's fd 9 (the secret) is closed, --keep-fd 8 passes.
if [ "$(answer self-fds "$out")" = "0 1 2 8" ]; then
	attack_stopped inherited-fds "the command holds 0 1 2 8 (--keep-fd 8) and not the caller's fd 9"
else
	attack_failed inherited-fds "the command holds '$(answer self-fds "$out")', want '0 1 2 8'"
fi
case "$daemon_fds" in
*"$SECRET"*) attack_failed daemon-fds "antares-overlayd inherited the caller's fd 9: $daemon_fds" ;;
*) attack_stopped daemon-fds "antares-overlayd holds: $daemon_fds" ;;
esac

# --- Kernel facilities. ----------------------------------------------------------------------
# A file handle of the hidden secret, made outside: open_by_handle_at on a file system the
# sandbox shows (the root, when the host's /tmp is on it) would bypass every path check.
handle=$("$HP" handle-name "$SECRET") || fail "name_to_handle_at on $SECRET failed"
fs_root=$(stat -c %m "$SECRET")
out=$(sbx --ephemeral "${TOOLS_BIND[@]}" -- sh -c "
	echo handle \$($AP handle-open $fs_root $handle)
	for ns in user mnt net pid cgroup; do echo unshare-\$ns \$($AP unshare \$ns); done
	echo clone-user \$($AP clone-user)
	echo clone3-user \$($AP clone3-user)
	unshare -U true 2>/dev/null && echo unshare-cmd OK || echo unshare-cmd failed
	echo mount \$($AP mount /mnt)
	before=\$(cat /proc/self/mountinfo)
	awk '{ print \$5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		echo \"\$($AP umount \"\$m\") \$m\"; done > /tmp/umounts
	echo umount-tried \$(wc -l < /tmp/umounts)
	echo umount-every-mount \$(grep '^OK' /tmp/umounts | head -n 5)
	[ \"\$(cat /proc/self/mountinfo)\" = \"\$before\" ] && echo view-unchanged yes
	echo home-secret \$($AP read '$HOME/.ssh/secret')
	echo remount-rw \$($AP remount-rw /)
	echo pivot-root \$($AP pivot-root /)
	echo fsopen \$($AP fsopen)
	echo open-tree \$($AP open-tree /)
	for k in keyctl add-key request-key bpf perf userfaultfd; do echo \$k \$($AP \$k); done
	echo core-pattern \$($AP open-write /proc/sys/kernel/core_pattern)
	echo sysrq-trigger \$($AP open-write /proc/sysrq-trigger)
	echo proc-writable \$($AP writable-scan /proc | grep '^writable ' | grep -v '^writable /proc/pressure/' | cut -d' ' -f2 | tr '\n' ' ')
	echo sys-writable \$($AP writable-scan /sys | grep '^writable ' | cut -d' ' -f2 | tr '\n' ' ')
	") || fail "kernel probes failed: $out"
in_userns() { unshare -Urm "$@"; }
denied open_by_handle_at "$(answer handle "$out")" "$("$HP" handle-open "$fs_root" "$handle")"
denied unshare-user "$(answer unshare-user "$out")" "$("$HP" unshare user)"
for ns in mnt net pid cgroup; do
	denied "unshare-$ns" "$(answer "unshare-$ns" "$out")" "$(in_userns "$HP" unshare "$ns")"
done
denied clone-newuser "$(answer clone-user "$out")" "$("$HP" clone-user)"
denied clone3-newuser "$(answer clone3-user "$out")" "$("$HP" clone3-user)"
denied "unshare -U" "$(answer unshare-cmd "$out")" "$(unshare -U true && echo OK)"
denied mount "$(answer mount "$out")" "$(in_userns "$HP" mount /mnt)"
mkdir "$T/m"
# umount of every mount point of the view, deepest first (the tmpfs over $HOME and /run/user
# too): none may succeed, and the view must look the same afterwards.
[ "$(answer umount-tried "$out")" -ge 20 ] || fail "umount was tried on $(answer umount-tried "$out") mounts only"
w=$(answer umount-every-mount "$out")
denied umount-every-mount "${w:-refused for all $(answer umount-tried "$out") mounts}" \
	"$(in_userns sh -c "mount -t tmpfs none '$T/m' && '$HP' umount '$T/m'")"
[ "$(answer view-unchanged "$out")" = yes ] && attack_stopped view-after-umounts "the view is unchanged" ||
	attack_failed view-after-umounts "the mount table of the view changed"
# A policy that hides $HOME keeps it hidden (the default does; others may show it read-only).
if [ "$(sbx --ephemeral -- sh -c "test -e '$HOME/.ssh/secret' || echo hidden")" = hidden ]; then
	denied hidden-home-after-umounts "$(answer home-secret "$out" | sed 's/^OK:home secret$/OK/')"
fi
denied remount-rw "$(answer remount-rw "$out")"
denied pivot_root "$(answer pivot-root "$out")"
denied fsopen "$(answer fsopen "$out")" "$(in_userns "$HP" fsopen)"
denied open_tree "$(answer open-tree "$out")" "$(in_userns "$HP" open-tree /)"
denied keyctl "$(answer keyctl "$out")" "$("$HP" keyctl)"
denied add_key "$(answer add-key "$out")" "$("$HP" add-key)"
# request_key answers ENOKEY when the call is allowed (there is no such key).
denied request_key "$(answer request-key "$out" | sed 's/^ENOKEY$/OK (ENOKEY)/')" \
	"$("$HP" request-key | sed 's/^ENOKEY$/OK (ENOKEY)/')"
denied bpf "$(answer bpf "$out")" "$("$HP" bpf)"
denied perf_event_open "$(answer perf "$out")" "$("$HP" perf)"
denied userfaultfd "$(answer userfaultfd "$out")" "$("$HP" userfaultfd)"
denied write-core_pattern "$(answer core-pattern "$out")" "$("$HP" open-write /proc/sys/kernel/core_pattern)"
denied write-sysrq-trigger "$(answer sysrq-trigger "$out")"
# PSI files in /proc/pressure are writable by design (per-descriptor triggers, for anyone).
w=$(answer proc-writable "$out")
if [ -z "$w" ]; then attack_stopped write-proc "no file in /proc (outside per-process ones and /proc/pressure) opens for writing"
else attack_failed write-proc "$(echo "$w" | wc -w) files open for writing: $(echo "$w" | cut -d' ' -f1-8) ..."; fi
w=$(answer sys-writable "$out")
if [ -z "$w" ]; then attack_stopped write-sys "no file in /sys opens for writing"
else attack_failed write-sys "$(echo "$w" | wc -w) files open for writing: $(echo "$w" | cut -d' ' -f1-8) ..."; fi

attack_report
