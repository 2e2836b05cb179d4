#!/bin/bash
# A policy's [filesystem] in a real run: hide (a directory: empty and read-only; a file: empty),
# tmpfs (empty, writable, private), ro and rw binds (an ro path inside an rw one), optional
# paths skipped, a missing non-optional one refused; a hide inside the project covers the
# overlay while home = ro does not cover a project in the home directory; --bind wins over the
# policy, also inside a hidden directory; a policy naming /tmp replaces the sandbox's; the
# state directory stays hidden even under home = rw.
. "$(dirname "$0")/../sandbox-lib.sh"
P="$T/proj"
make_project "$P"
mkdir -p "$P/private" && echo inside > "$P/private/data"
(cd "$P" && git add private && git commit -qm private) || fail "commit"
cd "$P"
export XDG_STATE_HOME="$HOME/.local/state" # the default place: inside the home directory
mkdir -p "$HOME/secret-dir" "$HOME/scratch" "$HOME/rw" "$HOME/.cache/ro"
echo s > "$HOME/secret-dir/s" && echo s > "$HOME/secret-file" && echo host > "$HOME/scratch/f"
echo cached > "$HOME/.cache/ro/f"
cat > "$T/view.policy" <<EOP
include build
[filesystem]
hide = ~/secret-dir ~/secret-file ?~/not-there $P/private
tmpfs = ~/scratch
rw = ~/rw
ro = ~/.cache/ro
EOP

out=$(sbx --policy "$T/view.policy" -- sh -c '
	cd ~
	echo "secret-dir [$(ls -A secret-dir)]"; touch secret-dir/x 2>/dev/null || echo secret-dir-ro
	echo "secret-file [$(cat secret-file)]"; echo x 2>/dev/null > secret-file || echo secret-file-ro
	test -e not-there || echo not-there-absent
	echo "scratch [$(ls -A scratch)]"; echo mine > scratch/new && echo scratch-writable
	echo rw > rw/from-sandbox && echo rw-writable
	echo x 2>/dev/null > .cache/new && echo cache-writable
	echo x 2>/dev/null > .cache/ro/f || echo cache-ro-ro
	touch home-file 2>/dev/null || echo home-ro
	echo "private [$(ls -A '"$P"'/private)]"
	echo "state [$(ls -A .local/state/antares)]"
	') || fail "run under the view policy failed: $out"
note "$(echo "$out" | tr '\n' ';')"
for l in "secret-dir []" secret-dir-ro "secret-file []" secret-file-ro not-there-absent "scratch []" \
	scratch-writable rw-writable cache-writable cache-ro-ro home-ro "private []" "state []"; do
	grep -qxF "$l" <<<"$out" || fail "policy view: no '$l'"
done
[ "$(cat "$HOME/rw/from-sandbox")" = rw ] || fail "a write to an rw path did not reach the host"
[ "$(cat "$HOME/scratch/f")" = host ] && [ ! -e "$HOME/scratch/new" ] || fail "the tmpfs leaked to the host"
[ "$(cat "$HOME/secret-file")" = s ] || fail "the hidden file changed on the host"
[ -e "$HOME/.cache/new" ] || fail "the build profile's rw ~/.cache did not reach the host"

# --bind and --ro-bind go over the policy's mounts.
mkdir -p "$T/src" && echo from-bind > "$T/src/b"
[ "$(sbx --policy "$T/view.policy" --ro-bind "$T/src" "$HOME/secret-dir" -- cat "$HOME/secret-dir/b")" = \
	from-bind ] || fail "--ro-bind does not win over the policy's hide"

# ... and can be placed inside a hidden directory, which is read-only only once they are there.
out=$(sbx --policy "$T/view.policy" --ro-bind "$T/src" "$HOME/secret-dir/sub" -- sh -c \
	'cd ~/secret-dir; ls -A; cat sub/b; touch x 2>/dev/null || echo sealed') || fail "bind in a hidden dir: $out"
[ "$out" = "$(printf 'sub\nfrom-bind\nsealed')" ] || fail "a bind inside a hidden directory: $out"

# A policy that says nothing of /tmp gets the sandbox's own; one that does, decides.
printf '[syscalls]\ndefault = allow\n' > "$T/plain.policy"
[ "$(sbx --policy "$T/plain.policy" -- sh -c "touch /tmp/x && echo writable; test -e '$T/view.policy' && echo host-tmp")" = writable ] ||
	fail "a policy without /tmp: not the sandbox's empty, writable /tmp"
printf '[syscalls]\ndefault = allow\n[filesystem]\nro = /tmp\n' > "$T/tmp-ro.policy"
[ "$(sbx --policy "$T/tmp-ro.policy" -- sh -c "test -e '$T/view.policy' && echo host-tmp; touch /tmp/x 2>/dev/null || echo ro")" = \
	"$(printf 'host-tmp\nro')" ] || fail "ro = /tmp does not replace the sandbox's /tmp"

# A project in the home directory: home = ro binds the home directory under the overlay.
P2="$HOME/src/proj2"
make_project "$P2"
(cd "$P2" && sbx -- sh -c 'echo built > out && cat tracked_file out') > "$T/p2" ||
	fail "a project inside the read-only home directory: $(cat "$T/p2")"
[ "$(cat "$T/p2")" = "$(printf 'line 1\nbuilt')" ] && [ ! -e "$P2/out" ] ||
	fail "project in ~: $(cat "$T/p2")"

# home = rw: the home directory is writable, yet the upper layers are not reachable.
printf 'include build\n[filesystem]\nhome = rw\n' > "$T/home-rw.policy"
out=$(sbx --policy "$T/home-rw.policy" -- sh -c '
	echo x > ~/written && echo home-writable
	ls -A ~/.local/state/antares | wc -l
	touch ~/.local/state/antares/x 2>/dev/null || echo state-ro') || fail "home = rw run: $out"
[ "$out" = "$(printf 'home-writable\n0\nstate-ro')" ] || fail "home = rw: $out"
[ -n "$(ls "$XDG_STATE_HOME/antares")" ] || fail "no state directory was made"

# A missing path that is not optional stops the run before the command, naming the path.
printf 'include build\n[filesystem]\nro = ~/missing\n' > "$T/missing.policy"
rc=0; sbx --policy "$T/missing.policy" -- true 2> "$T/err" || rc=$?
[ "$rc" = 125 ] || fail "a missing ro path: status $rc, want 125"
expect_one_line "$T/err" "$HOME/missing" "No such file or directory" "optional"
[ -z "$(mounts_under "$T")" ] || fail "mounts left on the host"

# An account without a home (HOME=/: containers run under a bare uid, system users): the
# default profile runs, its optional ~ paths skipped, and / is not taken for the home.
out=$(HOME=/ sbx --ephemeral -- sh -c 'echo "ran as $(id -u)"; touch /etc/x 2>/dev/null || echo root-ro') ||
	fail "HOME=/: $out"
[ "$out" = "$(printf 'ran as 0\nroot-ro')" ] || fail "HOME=/: $out"
