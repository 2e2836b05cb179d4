#!/bin/bash
# SIGKILL of antares-sandbox (the helper on the host) at a random moment, from its start-up
# to the middle of a build that copies up and writes: within seconds no process of the run is
# left (not the daemon, not the sandboxed command, nothing holding a file or a working
# directory under the test's tree), nothing is mounted on the host, the project (the lower
# layer) is unchanged, and the next run on the same state directory starts, finds its upper
# layer consistent and its work directory emptied. CRASH_TRIALS/2 trials (10 by default; the
# long form CRASH_TRIALS=200 makes 100), CRASH_SEED to repeat a run.
. "$(dirname "$0")/../sandbox-lib.sh"
# Half of crash-daemon's CRASH_TRIALS (a sandbox start costs more than a mount), at least 1.
TRIALS=$(( ${CRASH_TRIALS:-20} / 2 ))
[ "$TRIALS" -ge 1 ] || TRIALS=1
SEED=${CRASH_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED
note "trials $TRIALS, CRASH_SEED=$SEED"
P="$T/proj"
make_project "$P"
head -c $((8 << 20)) /dev/urandom > "$P/big"
mkdir "$P/src" && for i in $(seq 1 50); do echo "int f$i;" > "$P/src/f$i.c"; done
git -C "$P" add -A && git -C "$P" commit -qm files
fp() { (cd "$P" && find . -path ./.git -prune -o -printf '%p %m %s %T@\n' | sort && sha256sum big src/*) ; }
fp > "$T/proj.fp"

# Processes (other than this shell) holding a file, or a working directory, under $T. The
# scan runs from / so that it does not find itself.
leftovers() {
	local p
	for p in $(cd / && find /proc/[0-9]*/cwd /proc/[0-9]*/fd -maxdepth 1 -lname "$T/*" \
		-printf '%h\n' 2>/dev/null | sed -E 's|^/proc/([0-9]+).*|\1|' | sort -u); do
		case "$p" in "$$" | "$BASHPID") continue ;; esac
		echo "$p:$({ tr '\0' ' ' < /proc/"$p"/cmdline; } 2>/dev/null | cut -c1-80)"
	done
}

# survivors "PID:START...": those of the listed processes still alive (not zombies).
# Returns 0 whatever it finds: under set -e, a false test ending the loop (the last process
# a zombie, say) would otherwise end the whole test without a word.
survivors() {
	local ps p st
	for ps in $1; do
		p=${ps%%:*}
		st=$(awk '{print $3 ":" $22}' /proc/"$p"/stat 2>/dev/null) || continue
		if [ "${st#*:}" = "${ps#*:}" ] && [ "${st%%:*}" != Z ]; then
			echo "$p (state ${st%%:*}): $({ tr '\0' ' ' < /proc/"$p"/cmdline; } 2>/dev/null | cut -c1-80); "
		fi
	done
	return 0
}

cd "$P"
killed_running=0
for trial in $(seq 1 "$TRIALS"); do
	marker="crash-$SEED-$trial"
	# The build: copy-ups of a big and many small files, new files and directories.
	"$SANDBOX" -- sh -c "i=0; while :; do i=\$((i+1)); echo $marker \$i >> big; \
		for f in src/*.c; do echo \"/* \$i */\" >> \$f; done; mkdir -p out/\$i; \
		cp big out/\$i/copy; echo \$i > out/n; done" > "$T/run.out" 2>&1 &
	helper=$!
	delay_ms=$((RANDOM % 1500))
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	# pid:start time, so that a pid reused by an unrelated process is not mistaken for ours
	tree=$(for p in $(descendants "$helper"); do
		echo "$p:$(awk '{print $22}' /proc/"$p"/stat 2>/dev/null)"
	done | tr '\n' ' ')
	kill -9 "$helper" 2>/dev/null || fail "trial $trial: the sandbox ended by itself: $(cat "$T/run.out")"
	wait "$helper" 2>/dev/null || true
	[ -n "$tree" ] && killed_running=$((killed_running + 1))
	# Everything must go by itself (PDEATHSIG chain, pid namespace, FUSE abort): allow 10 s.
	left=""
	for i in $(seq 1 100); do
		left="$(leftovers)$(survivors "$tree")"
		[ -z "$left" ] && break
		sleep 0.1
	done
	[ -z "$left" ] || fail "trial $trial (kill after ${delay_ms}ms, tree: $tree): processes left: $left"
	[ -z "$(mounts_under "$T")" ] || fail "trial $trial: mounts left on the host: $(mounts_under "$T")"
	grep -qF " $P " /proc/self/mountinfo && fail "trial $trial: the project path is mounted on the host"
	fp | cmp -s - "$T/proj.fp" || fail "trial $trial: the project (lower layer) changed"
	[ $((trial % 5)) = 0 ] && note "trial $trial: kill after ${delay_ms}ms, tree was: $tree"
done
note "$TRIALS kills, $killed_running while the sandbox's processes were running"

# The next run works on the same state: the lock is free, work/ gets emptied, the upper is
# consistent (every copied-up file starts with its original content).
want=$(sha256sum < big)
out=$("$SANDBOX" -- sh -c 'head -c 8388608 big | sha256sum; for f in src/*.c; do head -n 1 "$f"; done | grep -c "^int f"' 2>&1) ||
	fail "the sandbox does not start after the kills: $out"
[ "$(echo "$out" | head -n 1)" = "$want" ] || fail "the copied-up big does not start with its original: $out"
[ "$(echo "$out" | tail -n 1)" = 50 ] || fail "a copied-up source file lost its first line: $out"
state=$(ls -d "$XDG_STATE_HOME"/antares/*/ | head -n 1)
[ -d "$state/work/work" ] && [ -z "$(ls -A "$state/work/work")" ] ||
	fail "the work directory was not emptied by the next run: $(ls -A "$state/work/work" 2>&1)"
"$SANDBOX" --diff >/dev/null || fail "--diff fails after the kills"
fp | cmp -s - "$T/proj.fp" || fail "the project (lower layer) changed"
true
