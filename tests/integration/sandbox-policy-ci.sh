#!/bin/bash
# --policy ci: its limits reach the command (nofile, nproc, fsize, core as ci.policy says,
# lowered to this process's hard limits where those are lower), there is no network but
# loopback (net = none), --net host overrides that, and a compiler still works.
. "$(dirname "$0")/../sandbox-lib.sh"
P="$T/proj"
make_project "$P"
cd "$P"

# min WANT HARD: what the sandbox may set (it cannot raise its own hard limit).
min() { if [ "$2" = unlimited ] || [ "$1" -le "$2" ]; then echo "$1"; else echo "$2"; fi; }
nofile=$(min 8192 "$(ulimit -Hn)")
nproc=$(min 8192 "$(ulimit -Hu)")
fsize=$(min 17179869184 "$( [ "$(ulimit -Hf)" = unlimited ] && echo unlimited || echo $(($(ulimit -Hf) * 1024)))")

out=$(sbx --policy ci -- sh -c 'ulimit -n; ulimit -Hn; ulimit -c; cat /proc/self/limits') ||
	fail "ci run failed: $out"
[ "$(sed -n 1p <<<"$out")" = "$nofile" ] || fail "ulimit -n under ci: $(sed -n 1p <<<"$out"), want $nofile"
[ "$(sed -n 2p <<<"$out")" = "$nofile" ] || fail "ulimit -Hn under ci: $(sed -n 2p <<<"$out"), want $nofile"
[ "$(sed -n 3p <<<"$out")" = 0 ] || fail "ulimit -c under ci: $(sed -n 3p <<<"$out"), want 0"
limit() { awk -v l="$1" 'index($0, l) == 1 { print $(NF - 2), $(NF - 1) }' <<<"$out"; }
[ "$(limit "Max processes")" = "$nproc $nproc" ] || fail "Max processes: $(limit "Max processes"), want $nproc"
[ "$(limit "Max file size")" = "$fsize $fsize" ] || fail "Max file size: $(limit "Max file size"), want $fsize"
[ "$(limit "Max core file size")" = "0 0" ] || fail "Max core file size: $(limit "Max core file size")"
note "ci limits: nofile $nofile, nproc $nproc, fsize $fsize, core 0"

# The default profile (build) sets none of these: the command has the caller's nofile.
[ "$(sbx -- sh -c 'ulimit -n')" = "$(ulimit -n)" ] || fail "build changed the open file limit"

# No network but loopback, up; --net host on the command line wins.
ifaces() { awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' | sort | tr '\n' ' '; }
[ "$(sbx --policy ci -- cat /proc/net/dev | ifaces)" = "lo " ] || fail "ci: interfaces besides lo"
# Up: a connection to a closed port is refused (a loopback that is down: unreachable).
out=$(sbx --policy ci -- bash -c 'exec 3<> /dev/tcp/127.0.0.1/1' 2>&1) && fail "port 1 accepted a connection"
case "$out" in *"Connection refused"*) ;; *) fail "ci: loopback is not up: $out" ;; esac
host=$(ifaces < /proc/net/dev)
[ "$(sbx --policy ci --net host -- cat /proc/net/dev | ifaces)" = "$host" ] ||
	fail "--net host does not override ci's net = none"
[ "$host" != "lo " ] || note "the host has only lo: --net host shows the same as none here"

# A compiler works under ci's filter and limits.
printf 'int main(void) { return 42; }\n' > "$P/rc.c"
rc=0; sbx --policy ci -- sh -c 'cc -o rc rc.c && ./rc' || rc=$?
[ "$rc" = 42 ] || fail "cc under ci: status $rc"
