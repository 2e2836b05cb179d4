#!/bin/bash
# Sandbox attack battery, part 3: reaching host services with --net none. Listeners run
# outside the sandbox (attack-probe): an abstract unix socket, TCP on 127.0.0.1, a path
# socket under /run/user (hidden by the default policy) and a path socket elsewhere in /run
# (also tried as /var/run/...). From inside with --net none all must be unreachable; each is
# reached from outside first, so the test cannot pass because nothing was listening.
#
# A network namespace does not cover file system sockets and a read-only mount does not stop
# connect(): --net none puts an empty tmpfs on /run for that (finding F1 of doc/security.md,
# fixed). What --net host (the default) leaves reachable is noted.

# make_root_fixture DIR OWNER (as root): directories for OWNER's path sockets in /run and in
# /run/user, which the test user cannot create.
make_root_fixture() {
	local d=$1 owner=$2 run runuser
	chown "root:$owner" "$d"
	chmod 0750 "$d"
	run=$(mktemp -d /run/antares-attack.XXXXXX)
	mkdir -p /run/user
	runuser=$(mktemp -d /run/user/antares-attack.XXXXXX)
	chown "$owner:$owner" "$run" "$runuser"
	chmod 0755 "$run" "$runuser"
	printf '%s\n' "$run" "$runuser" > "$d/cleanup"
	echo "$run" > "$d/run"
	echo "$runuser" > "$d/run-user"
}
. "$(dirname "$0")/../attack-lib.sh"
RUN=$(cat "$ATTACK_FIXTURE/run")
RUNUSER=$(cat "$ATTACK_FIXTURE/run-user")
P="$T/proj"
make_project "$P"
cd "$P"

ABSTRACT=antares-attack-$$-$RANDOM
# listen NAME KIND ARGS...: start an attack-probe listener in the background and wait until
# it has written its ready file $T/ready.NAME (the TCP one writes its port there).
listen() {
	local ready=$T/ready.$1
	"$HP" "listen-$2" "${@:3}" "$ready" &
	DAEMON_PIDS+=("$!")
	for _ in $(seq 1 200); do
		[ -s "$ready" ] || { [ "$2" != tcp ] && [ -e "$ready" ]; } && return 0
		sleep 0.05
	done
	fail "the $1 listener did not start"
}
listen abstract abstract "$ABSTRACT"
listen run path "$RUN/sock"
listen run-user path "$RUNUSER/sock"
listen tcp tcp
PORT=$(cat "$T/ready.tcp")

probes="echo abstract \$($AP connect-abstract $ABSTRACT)
	echo tcp \$($AP connect-tcp $PORT)
	echo run-user \$($AP connect-path $RUNUSER/sock)
	echo run \$($AP connect-path $RUN/sock)
	echo var-run \$($AP connect-path /var$RUN/sock)"
none=$(sbx --ephemeral --net none "${TOOLS_BIND[@]}" -- sh -c "$probes") || fail "--net none run failed: $none"
host=$(sbx --ephemeral "${TOOLS_BIND[@]}" -- sh -c "$probes") || fail "--net host run failed: $host"

denied net-none-abstract-socket "$(answer abstract "$none")" "$("$HP" connect-abstract "$ABSTRACT")"
denied net-none-tcp-loopback "$(answer tcp "$none")" "$("$HP" connect-tcp "$PORT")"
# /run/user holds the session bus and the user's systemd (systemd-run --user runs commands
# outside the sandbox): the default policy hides it, and a policy that does not fails here.
denied net-none-socket-in-run-user "$(answer run-user "$none")" "$("$HP" connect-path "$RUNUSER/sock")"
denied net-host-socket-in-run-user "$(answer run-user "$host")"
# The rest of /run: docker, dbus, systemd, databases listen there, and see the build's uid.
denied net-none-socket-in-run "$(answer run "$none")" "$("$HP" connect-path "$RUN/sock")"
denied net-none-socket-in-var-run "$(answer var-run "$none")" "$("$HP" connect-path "/var$RUN/sock")"
note "not defended with --net host (the default shares the host's network): abstract socket $(answer abstract "$host"), tcp $(answer tcp "$host"), socket in /run $(answer run "$host")"
attack_report

