#!/bin/bash
# The daily-use options beyond the acceptance lines: --project, --lower, --upper, --ephemeral,
# --bind/--ro-bind (destinations resolved inside the view), --net none, --uid/--gid,
# --map-users, --keep-fd, --rootfs, --policy/--check-policy/--print-policy, --verbose.
. "$(dirname "$0")/../sandbox-lib.sh"
P="$T/proj"
make_project "$P"
mkdir -p "$P/sub/dir"
cd "$P/sub/dir"

# The project is found from a subdirectory, and the command starts there.
[ "$(sbx -- pwd)" = "$P/sub/dir" ] || fail "the command does not start in the current directory"
sbx -- touch new-in-sub
[ "$(sbx --diff)" = "A sub/dir/new-in-sub" ] || fail "--diff from a subdirectory: $(sbx --diff)"
mkdir -p "$T/other"
# --project from elsewhere: $T/other is not in the view (/tmp is a fresh tmpfs), so the
# command starts in the project.
[ "$(cd "$T/other" && sbx --project "$P" -- sh -c 'pwd; cat tracked_file')" = \
	"$(printf '%s\nline 1' "$P")" ] || fail "--project from outside the project"
cd "$P"

# --lower: above the project; --diff compares against it when given the same layers.
mkdir -p "$T/lower" && echo from-lower > "$T/lower/tracked_file" && echo extra > "$T/lower/extra"
[ "$(sbx --lower "$T/lower" -- cat tracked_file extra)" = "$(printf 'from-lower\nextra')" ] ||
	fail "--lower is not above the project"
# --upper DIR: state in DIR/upper; --ephemeral leaves nothing.
sbx --upper "$T/myupper" -- sh -c 'echo mine > mine'
[ "$(cat "$T/myupper/upper/mine")" = mine ] || fail "--upper DIR: no DIR/upper/mine"
[ "$(sbx --upper "$T/myupper" --diff)" = "A mine" ] || fail "--upper --diff"
sbx --ephemeral -- sh -c 'echo gone > eph' || fail "--ephemeral run failed"
[ "$(sbx --ephemeral -- sh -c 'test -e eph && echo kept || echo gone')" = gone ] || fail "--ephemeral kept a file"
sbx --diff | grep -q eph && fail "--ephemeral wrote to the state directory"

# --bind / --ro-bind.
mkdir -p "$T/src" && echo hello > "$T/src/f"
out=$(sbx --bind "$T/src" /tmp/a/../rw --ro-bind "$T/src" /tmp/ro -- sh -c '
	cat /tmp/rw/f; echo written > /tmp/rw/new; test -e /tmp/a && echo a-exists
	echo x > /tmp/ro/g 2>/dev/null || echo ro-refused') || fail "--bind run failed: $out"
[ "$out" = "$(printf 'hello\nro-refused')" ] || fail "--bind/--ro-bind: $out"
[ "$(cat "$T/src/new")" = written ] || fail "a write through --bind did not reach the host"
ln -s /nonexistent/escape "$P/dangling"
rc=0; sbx --bind "$T/src" "$P/dangling/x" -- true 2> "$T/err" || rc=$?
[ "$rc" = 125 ] || fail "a bind onto a dangling symlink: status $rc"
[ ! -e /nonexistent ] || fail "a bind destination was created on the host"
rm "$P/dangling"

# --net none: only loopback, up.
out=$(sbx --net none -- cat /proc/net/dev) || fail "--net none failed"
[ "$(echo "$out" | tail -n +3 | awk -F: '{ gsub(/ /, "", $1); print $1 }' | tr '\n' ' ')" = "lo " ] ||
	fail "--net none: interfaces $(echo "$out" | tail -n +3)"
[ "$(sbx --net none -- cat /proc/net/route | wc -l)" = 1 ] || fail "--net none: routes beyond loopback"

# --uid / --gid: the files you own appear owned by those ids.
[ "$(sbx --uid 1000 --gid 100 -- sh -c 'id -u; id -g; stat -c %u:%g tracked_file')" = \
	"$(printf '1000\n100\n1000:100')" ] || fail "--uid/--gid"

# --map-users: a range of ids; files of other ids, then --reset in a namespace with the map.
if is_root_mode || { grep -q "^$(id -un):" /etc/subuid && command -v newuidmap >/dev/null; }; then
	# The default policy keeps no CAP_CHOWN, so the command cannot give files away; the
	# map itself is what is checked: your id at 0 plus a range of 65535 more.
	out=$(sbx --map-users -- sh -c 'id -u; awk "{ n += \$3 } END { print NR, (n >= 131072) }" /proc/self/uid_map /proc/self/gid_map; touch made') ||
		fail "--map-users run failed: $out"
	[ "$out" = "$(printf '0\n4 1')" ] || fail "--map-users: $out"
	sbx --map-users --reset || fail "--map-users --reset failed"
	[ -z "$(sbx --diff)" ] || fail "--reset left: $(sbx --diff)"
else
	note "no subordinate ids for $(id -un): --map-users not tested"
fi

# --keep-fd: that descriptor passes, the others are closed.
exec 7> "$T/fd7" 8> "$T/fd8"
sbx --keep-fd 7 -- sh -c 'echo via7 >&7; echo via8 >&8' 2> /dev/null || true
exec 7>&- 8>&-
[ "$(cat "$T/fd7")" = via7 ] || fail "--keep-fd 7 did not pass fd 7"
[ ! -s "$T/fd8" ] || fail "fd 8 leaked into the sandbox"

# --rootfs: a tiny image (dash, cat and their libraries) plus a layer above it.
img="$T/img"
for b in /bin/sh /bin/cat; do
	for f in "$(readlink -f "$b")" $(ldd "$b" | grep -o '/[^ ]*'); do
		mkdir -p "$img/base$(dirname "$f")" && cp -L "$f" "$img/base$f"
	done
done
mkdir -p "$img/base/bin" && cp -L /bin/sh /bin/cat "$img/base/bin/"
mkdir -p "$img/top/etc" && echo from-image > "$img/top/etc/marker"
out=$(sbx --rootfs "$img/top:$img/base" -- /bin/sh -c '
	cat /etc/marker; cat tracked_file; test -e /usr/bin/git || echo no-host-usr
	echo x > /new 2>/dev/null || echo root-read-only') || fail "--rootfs run failed: $out"
[ "$out" = "$(printf 'from-image\nline 1\nno-host-usr\nroot-read-only')" ] || fail "--rootfs: $out"
[ ! -e "$img/base/new" ] && [ ! -e "$img/top/new" ] || fail "--rootfs wrote into an image layer"

# Policy options (sandbox-policy-*.sh test them in depth).
[ "$(sbx --check-policy build)" = "build: ok" ] || fail "--check-policy build"
sbx --print-policy build > "$T/policy" || fail "--print-policy build failed"
for l in "default = errno ENOSYS" "home = ro" "net = host"; do
	grep -q "^$l " "$T/policy" || fail "--print-policy build lacks '$l'"
done
sbx --policy build -- true || fail "--policy build"
rc=0; sbx --check-policy "$T/x.policy" 2> /dev/null || rc=$?
[ "$rc" = 1 ] || fail "--check-policy of a missing file: status $rc, want 1"

# --verbose names each setup step.
sbx --verbose -- true 2> "$T/verbose"
for w in "uid map" "opened /dev/fuse" "antares-overlayd" "mounted proc on /proc" "mounted the overlay on $P" "root view ready"; do
	grep -q "$w" "$T/verbose" || { cat "$T/verbose" >&2; fail "--verbose does not log '$w'"; }
done
[ -z "$(mounts_under "$T")" ] || fail "mounts left on the host"
