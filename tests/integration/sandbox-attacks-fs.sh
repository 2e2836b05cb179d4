#!/bin/bash
# Sandbox attack battery, part 2: files. Every attempt is made from inside the sandbox and
# must fail or stay inside the view; where it can, the same attempt is made outside too.
#   setuid, setgid and file-capability programs in the project (a lower layer) and on the
#     host's /, owned by root or by an id the sandbox maps (--map-users): no id or capability
#     is gained (nosuid on every mount, no_new_privs, an empty bounding set)
#   device nodes in the project (/dev/mem's and /dev/zero's numbers, a loop block device)
#     do not open (nodev), and the command cannot make new ones
#   every mount of the view is nosuid and nodev, and read-only unless it is one of the
#     writable places the man page names
#   symbolic links and hard links in the project that point at hidden host files lead
#     nowhere, and writing through them never changes the host file
#   --bind/--ro-bind destinations with "..", through symbolic links of the project (absolute,
#     relative past the root, into /proc/self/root), and symbolic link sources: refused, or
#     mounted inside the view; never a mount or a new file on the host
# Rootless mode needs root-made files (setuid root, device nodes): see attack-lib.sh.

# make_root_fixture DIR OWNER (as root): DIR/proj, a project holding the setuid and device
# files; DIR/host, a setuid program outside the project. Only root and OWNER can enter DIR.
make_root_fixture() {
	local d=$1 owner=$2 start mapped
	chown "root:$owner" "$d"
	chmod 0750 "$d"
	mkdir "$d/proj" "$d/host"
	chown "$owner:$owner" "$d/proj"
	# id(1) shows euid=/egid= exactly when they differ from the real ids.
	install -o root -g root -m 4755 /usr/bin/id "$d/proj/suid-root-id"
	install -o root -g root -m 2755 /usr/bin/id "$d/proj/sgid-root-id"
	install -o root -g root -m 4755 /usr/bin/id "$d/host/suid-root-id"
	# An owner that --map-users maps inside the sandbox (uid 4242 there).
	mapped=4242
	if [ "$owner" != root ]; then
		start=$(awk -F: -v u="$owner" '$1 == u { print $2; exit }' /etc/subuid)
		mapped=$((${start:-100000} + 4241))
	fi
	install -o "$mapped" -g "$mapped" -m 6755 /usr/bin/id "$d/proj/suid-mapped-id"
	# A harmless capability is enough to see whether file capabilities apply.
	install -o root -g root -m 0755 /usr/bin/grep "$d/proj/fcap-grep"
	setcap cap_net_bind_service+ep "$d/proj/fcap-grep" 2>/dev/null || rm -f "$d/proj/fcap-grep"
	mknod -m 0666 "$d/proj/dev-mem" c 1 1
	mknod -m 0666 "$d/proj/dev-zero" c 1 5
	mknod -m 0666 "$d/proj/dev-loop" b 7 0
}
. "$(dirname "$0")/../attack-lib.sh"
F=$ATTACK_FIXTURE
FP=$F/proj

# --- setuid, setgid, file capabilities. ------------------------------------------------------
# gained OUTPUT: "OK:..." when id(1) shows an effective id of its own or grep a capability.
gained() {
	case "$1" in
	*euid=* | *egid=*) echo "OK:$1" ;;
	CapEff:*) [ "$(echo "$1" | awk '{ print $2 }')" = 0000000000000000 ] && echo "no capability" ||
		echo "OK:$1" ;;
	"") echo "no answer" ;;
	*) echo "unchanged" ;;
	esac
}
progs="$FP/suid-root-id $FP/sgid-root-id $FP/suid-mapped-id $F/host/suid-root-id"
[ -e "$FP/fcap-grep" ] || note "setcap failed: file capabilities not tried"
run_progs="echo owner \$(stat -c %u $FP/suid-mapped-id)
	for p in $progs; do echo \"\$p \$(\$p)\"; done
	[ -e $FP/fcap-grep ] && echo \"$FP/fcap-grep \$($FP/fcap-grep CapEff /proc/self/status)\""
out=$(sbx --ephemeral --project "$FP" -- sh -c "$run_progs") || fail "setuid run failed: $out"
maps=""
if is_root_mode || { grep -q "^$(id -un):" /etc/subuid && command -v newuidmap >/dev/null; }; then
	maps=$(sbx --ephemeral --map-users --project "$FP" -- sh -c "$run_progs") ||
		fail "setuid run with --map-users failed: $maps"
	# Otherwise the mapped-owner case would prove nothing.
	[ "$(answer owner "$maps")" = 4242 ] ||
		fail "suid-mapped-id is not owned by a mapped id (4242) with --map-users: $maps"
else
	note "no subordinate ids for $(id -un): setuid programs of mapped ids not tried"
fi
for p in $progs $FP/fcap-grep; do
	[ -e "$p" ] || continue
	if [ "${p##*/}" = fcap-grep ]; then ctl=$("$p" CapEff /proc/self/status); else ctl=$("$p"); fi
	name=${p#"$F"/}
	denied "exec-$name" "$(gained "$(answer "$p" "$out")")" "$(gained "$ctl")"
	[ -z "$maps" ] || denied "exec-$name-map-users" "$(gained "$(answer "$p" "$maps")")"
done

# --- Device nodes. ---------------------------------------------------------------------------
out=$(sbx --ephemeral --project "$FP" "${TOOLS_BIND[@]}" -- sh -c "
	for n in dev-mem dev-zero dev-loop; do echo \"\$n \$($AP read $FP/\$n)\"; done
	chmod 0644 $FP/dev-zero 2>/dev/null; echo \"copied-up \$($AP read $FP/dev-zero)\"
	mknod /tmp/mem c 1 1 2>/dev/null && echo mknod OK || echo mknod failed
	mknod $FP/mem c 1 1 2>/dev/null && echo mknod-project OK || echo mknod-project failed
	") || fail "device node run failed: $out"
denied open-dev-mem-node "$(answer dev-mem "$out")"
denied open-dev-zero-node "$(answer dev-zero "$out")" "$("$HP" read "$FP/dev-zero" | tr -d '\0')"
denied open-block-node "$(answer dev-loop "$out")"
denied open-dev-zero-node-after-chmod "$(answer copied-up "$out")"
denied mknod-tmp "$(answer mknod "$out")"
denied mknod-project "$(answer mknod-project "$out")"

# --- Mount flags of the whole view. ----------------------------------------------------------
P="$T/proj"
make_project "$P"
cd "$P"
mkdir "$T/bsrc"
out=$(sbx --ephemeral --bind "$T/bsrc" /tmp/b -- cat /proc/self/mountinfo) || fail "mountinfo: $out"
bad=$(echo "$out" | awk -v p="$P" -v h="$HOME" '
	{ mp = $5; split($6, o, ","); ro = 0; nosuid = 0; nodev = 0
	  for (i in o) { ro += o[i] == "ro"; nosuid += o[i] == "nosuid"; nodev += o[i] == "nodev" } }
	mp ~ /^\/dev\/(null|zero|full|random|urandom|tty)$/ { next }  # the device nodes themselves
	!nosuid { print mp " is not nosuid"; }
	!nodev && mp != "/dev/pts" { print mp " is not nodev" }
	# Writable: the project, /tmp and the bind, /proc, /dev/pts, /dev/shm, and what the policy
	# puts at or under $HOME and /run/user (the default hides them under an empty tmpfs).
	!ro && mp != p && mp != "/tmp" && mp != "/tmp/b" && mp != "/proc" && mp != "/dev/pts" &&
	    mp != "/dev/shm" && mp != h && index(mp, h "/") != 1 && mp != "/run/user" &&
	    index(mp, "/run/user/") != 1 { print mp " is writable" }')
if [ -z "$bad" ]; then
	attack_stopped mount-flags "$(echo "$out" | wc -l) mounts in the view: all nosuid, nodev but /dev/pts, read-only but the writable places"
else
	attack_failed mount-flags "$(echo "$bad" | tr '\n' ';')"
fi

# --- Links in the project to hidden host files. ---------------------------------------------
HOSTFILE=$T/hostfile # hidden in the sandbox (/tmp is a tmpfs there)
echo "host file" > "$HOSTFILE"
chmod 0644 "$HOSTFILE"
ln -s "$HOSTFILE" "$P/abs-link"
ln -s ../hostfile "$P/rel-link"
ln "$HOSTFILE" "$P/hard-link" # the same inode, in the lower layer
host_before=$(stat -c '%s %a %Y %i' "$HOSTFILE"; cat "$HOSTFILE")
lower_before=$(layer_fingerprint "$P")
out=$(sbx --ephemeral "${TOOLS_BIND[@]}" -- sh -c "
	echo abs \$($AP read abs-link)
	echo rel \$($AP read rel-link)
	echo 'through abs' >> abs-link 2>/dev/null
	echo abs-write \$($AP read abs-link)
	echo 'through rel' >> rel-link 2>/dev/null
	echo rel-write \$($AP read rel-link)
	chmod 0600 abs-link 2>/dev/null
	touch -h abs-link; mv abs-link abs-moved; mv rel-link rel-moved; echo links-moved \$?
	echo 'through hard' >> hard-link; chmod 0600 hard-link; echo hard-write \$?
	echo hard \$($AP read hard-link)
	") || fail "link run failed: $out"
denied read-abs-symlink-to-host "$(answer abs "$out")" "$("$HP" read "$P/abs-link")"
denied read-rel-symlink-to-host "$(answer rel "$out")" "$("$HP" read "$P/rel-link")"
# Writing through the links may create a file, but only in the sandbox's own /tmp: reading
# back shows the sandbox's text alone, never the host file's.
for w in abs-write rel-write; do
	case "$(answer "$w" "$out")" in
	*"host file"*) attack_failed "$w-symlink-to-host" "wrote into the host file: $(answer "$w" "$out")" ;;
	*) attack_stopped "$w-symlink-to-host" "landed in the sandbox's /tmp: $(answer "$w" "$out")" ;;
	esac
done
[ "$(answer hard-write "$out")" = 0 ] || fail "writing the hard-linked project file failed: $out"
if [ "$(stat -c '%s %a %Y %i' "$HOSTFILE"; cat "$HOSTFILE")" = "$host_before" ] &&
	[ "$(layer_fingerprint "$P")" = "$lower_before" ]; then
	attack_stopped write-through-links "the host file and the project are unchanged after writes through symbolic and hard links"
else
	attack_failed write-through-links "changed: host file '$(cat "$HOSTFILE")', project: $(diff <(echo "$lower_before") <(layer_fingerprint "$P") | head -3 | tr '\n' ' ')"
fi

# --- Bind destinations and sources. ----------------------------------------------------------
VICTIM=$T/victim # a host directory the destinations aim at; hidden in the sandbox
mkdir "$VICTIM"
echo victim > "$VICTIM/file"
echo "bind source" > "$T/bsrc/marker"
ln -s "$VICTIM" "$P/to-victim"
ln -s /tmp "$P/to-tmp"
ln -s ../../../../../../../../../.. "$P/to-root"
ln -s /proc/self/root/etc "$P/magic"
ln -s "$T/bsrc" "$T/src-link"
mounts_before=$(mounts_under "$T"; mounts_under /etc)
victim_before=$(layer_fingerprint "$VICTIM")

# bind_case NAME SHOULD DST [SRC [OPTION]]: OPTION (--bind) SRC DST, then read the marker at
# DST inside. SHOULD is "view" (mounted inside the view) or "refused" (125, one error line).
bind_case() {
	local name=$1 should=$2 dst=$3 src=${4:-$T/bsrc} opt=${5:---bind} rc=0
	out=$(sbx --ephemeral "$opt" "$src" "$dst" -- sh -c "cat '$dst/marker'" 2> "$T/err") || rc=$?
	case "$should:$rc:$out" in
	"view:0:bind source") attack_stopped "bind-$name" "mounted inside the view" ;;
	refused:125:*) [ "$(wc -l < "$T/err")" = 1 ] || fail "bind-$name: not one error line: $(cat "$T/err")"
		attack_stopped "bind-$name" "refused: $(cat "$T/err")" ;;
	*) attack_failed "bind-$name" "want $should, got status $rc, output '$out', error '$(cat "$T/err")'" ;;
	esac
}
bind_case dotdot-to-hidden-host-dir view "/tmp/../../..$VICTIM"
bind_case through-project-symlink-to-hidden-host-dir refused "$P/to-victim/sub"
bind_case through-project-symlink-to-tmp view "$P/to-tmp/antares-attack-$$"
bind_case through-project-symlink-past-root refused "$P/to-root/etc/antares-attack"
bind_case through-magic-link refused "$P/magic/antares-attack"
bind_case ro-dotdot-to-hidden-host-dir view "/tmp/../../..$VICTIM/ro" "$T/bsrc" --ro-bind
bind_case ro-through-project-symlink-past-root refused "$P/to-root/etc/antares-attack" "$T/bsrc" --ro-bind
bind_case dotdot-past-root-to-readonly refused "/tmp/../../../../etc/antares-attack"
bind_case symlink-source view /tmp/from-link "$T/src-link"
bind_case missing-source refused /tmp/nothing "$T/no-such-source"

if [ "$(mounts_under "$T"; mounts_under /etc)" = "$mounts_before" ] &&
	[ "$(layer_fingerprint "$VICTIM")" = "$victim_before" ] && [ ! -e /etc/antares-attack ] &&
	[ ! -e "/tmp/antares-attack-$$" ]; then
	attack_stopped bind-host-effects "no mount appeared on the host; $VICTIM, /etc and /tmp are unchanged"
else
	attack_failed bind-host-effects "mounts: $(mounts_under "$T"; mounts_under /etc); victim: $(ls "$VICTIM"); $(ls -d /tmp/antares-attack-$$ /etc/antares-attack 2>&1)"
fi

attack_report
