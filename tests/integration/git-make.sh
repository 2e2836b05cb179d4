#!/bin/bash
# Everyday developer work on the mount: clone, commit, branch checkout, fsck and gc of a git
# repository whose .git is spread over two lower layers, then `make -j2` of a small C project
# from a lower layer: correct binary, a no-op second make, and only the touched file rebuilt.
. "$(dirname "$0")/../lib.sh"
command -v git >/dev/null || fail "git is not installed (apt-get install git)"
command -v make >/dev/null || fail "make is not installed (apt-get install make)"
command -v cc >/dev/null || fail "no C compiler (apt-get install gcc)"
make_layers
M=$T/mnt

# No global or system git config may leak in; identity and dates come from the environment.
export HOME=$T GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=tester@example.org
export GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=tester@example.org
export GIT_AUTHOR_DATE="2024-01-01T12:00:00Z" GIT_COMMITTER_DATE="2024-01-01T12:00:00Z"
g() { git -C "$@"; }

# --- The repository: history on two branches, built outside the overlay. -----------------
R=$T/build-repo
mkdir "$R"
g "$R" init -q -b main
g "$R" config gc.auto 0 # only our explicit `git gc` may repack
for i in 1 2 3; do
	echo "line $i" >> "$R/notes.txt"
	mkdir -p "$R/dir$i" && echo "file $i" > "$R/dir$i/f$i"
	g "$R" add -A && g "$R" commit -q -m "main $i"
done
g "$R" checkout -q -b feature
echo "feature work" > "$R/feature.txt"
g "$R" add -A && g "$R" commit -q -m "feature 1"
g "$R" checkout -q main
# Snapshot this state as the bottom layer, then add more history and put only what changed
# or is new into the top layer, so objects/, refs/ and logs/ are merged from both layers.
cp -a "$R" "$T/lower2/repo"
echo "line 4" >> "$R/notes.txt"
g "$R" commit -q -am "main 4"
g "$R" checkout -q -b topic
echo "topic work" > "$R/topic.txt"
g "$R" add -A && g "$R" commit -q -m "topic 1"
g "$R" checkout -q main
mkdir "$T/lower1/repo"
(cd "$R" && find . -type f -printf '%P\n') | while IFS= read -r p; do
	cmp -s "$R/$p" "$T/lower2/repo/$p" || (cd "$R" && cp -a --parents "$p" "$T/lower1/repo/")
done
# Nothing was deleted between the two states, so no whiteouts are needed in lower1.
(cd "$T/lower2/repo" && find . -type f -printf '%P\n') | while IFS= read -r p; do
	[ -e "$R/$p" ] || fail "setup: $p vanished between the two repository states"
done
[ -n "$(ls "$T/lower1/repo/.git/objects")" ] || fail "setup: no objects in the top layer"
want_main=$(g "$R" rev-parse main) want_feature=$(g "$R" rev-parse feature)
want_topic=$(g "$R" rev-parse topic)

# --- The C project in the bottom layer, sources dated in the past like a real checkout. ----
cp -r "$TESTS_DIR/../examples/project" "$T/lower2/project"
find "$T/lower2/project" -exec touch -h -d '2023-06-01 00:00:00' {} +
# Reference output: the same project built outside the overlay.
cp -r "$TESTS_DIR/../examples/project" "$T/ref"
make -s -C "$T/ref" >/dev/null 2>&1 || fail "setup: the example project does not build outside the overlay"
want_hello=$("$T/ref/hello")

before=$(layer_fingerprint "$T/lower1"; layer_fingerprint "$T/lower2")
ovl_mount "$M" "$OVL_OPTS"

# --- git on the merged repository (as it is in the lower layers). -------------------------
[ "$(g "$M/repo" rev-parse main feature topic | tr '\n' ' ')" = "$want_main $want_feature $want_topic " ] ||
	fail "branch heads on the mount differ from the repository built outside"
[ "$(g "$M/repo" rev-list --count --all)" = 6 ] || fail "rev-list --all does not see 6 commits"
g "$M/repo" fsck --full --strict --no-progress 2>"$T/fsck.err" || { cat "$T/fsck.err" >&2; fail "git fsck of the lower repository failed"; }
[ -z "$(g "$M/repo" status --porcelain)" ] || fail "lower repository not clean on the mount: $(g "$M/repo" status --porcelain)"

# --- Clone onto the mount, twice: local clone (hardlinks objects: link of lower files) and a
# file:// clone (pack protocol, writes a pack and its index on the mount). ----------------
g "$M" clone -q "$M/repo" clone || fail "git clone (local, hardlinks) onto the mount failed"
g "$M" clone -q "file://$M/repo" clone2 || fail "git clone file:// onto the mount failed"
for c in clone clone2; do
	[ "$(g "$M/$c" rev-parse HEAD)" = "$want_main" ] || fail "$c: HEAD is not main's head"
	[ "$(cat "$M/$c/notes.txt")" = "$(printf 'line %s\n' 1 2 3 4)" ] || fail "$c: notes.txt content wrong"
done
C=$M/clone
# git stores each new loose object as link(tmp_obj_XXXX, final name) + unlink(tmp_obj_XXXX),
# and reads it back at once: hard links on the mount must keep the surviving name usable.
echo "from the clone" > "$C/clone.txt"
echo "line 5" >> "$C/notes.txt"
g "$C" add -A && g "$C" commit -q -m "clone 1" || fail "commit in the clone failed"
g "$C" checkout -q -b work origin/feature || fail "checkout of origin/feature failed"
[ -f "$C/feature.txt" ] && [ ! -e "$C/clone.txt" ] && [ "$(wc -l < "$C/notes.txt")" = 3 ] ||
	fail "work tree after checking out feature is wrong: $(ls "$C")"
echo "more feature" >> "$C/feature.txt"
g "$C" commit -q -am "feature 2" || fail "commit on the feature branch failed"
g "$C" checkout -q main || fail "checkout back to main failed"
[ -f "$C/clone.txt" ] && [ ! -e "$C/feature.txt" ] && [ "$(wc -l < "$C/notes.txt")" = 5 ] ||
	fail "work tree after checking out main again is wrong: $(ls "$C")"
[ -z "$(g "$C" status --porcelain)" ] || fail "clone not clean: $(g "$C" status --porcelain)"
g "$C" fsck --full --strict --no-progress 2>"$T/fsck.err" || { cat "$T/fsck.err" >&2; fail "git fsck of the clone failed"; }

# --- Commit straight into the lower-layer repository: copy-up of index, refs, logs and
# HEAD; new loose objects in object directories merged from both layers. ---------------------
L=$M/repo
echo "changed in place" >> "$L/dir2/f2"
echo new > "$L/dir1/added"
g "$L" add -A && g "$L" commit -q -m "in place 1" || fail "commit in the lower repository failed"
g "$L" checkout -q topic || fail "checkout of topic in the lower repository failed"
[ -f "$L/topic.txt" ] && [ ! -e "$L/dir1/added" ] || fail "lower repository: topic work tree wrong"
g "$L" checkout -q main || fail "checkout of main in the lower repository failed"
[ -f "$L/dir1/added" ] && [ ! -e "$L/topic.txt" ] || fail "lower repository: main work tree wrong"
[ -z "$(g "$L" status --porcelain)" ] || fail "lower repository not clean after commit: $(g "$L" status --porcelain)"
# Fetch the clone's work into it, then gc: repack into one pack and prune loose objects,
# which deletes files from both lower layers (whiteouts) and empties merged directories.
g "$L" fetch -q "$C" work:from-clone || fail "git fetch from the clone failed"
g "$L" gc -q --prune=now || fail "git gc in the lower repository failed"
[ -z "$(find "$L/.git/objects" -type f -path '*/objects/??/*')" ] ||
	fail "loose objects still visible after gc --prune=now: $(find "$L/.git/objects" -path '*/objects/??/*' | head -3)"
g "$L" fsck --full --strict --no-progress 2>"$T/fsck.err" || { cat "$T/fsck.err" >&2; fail "git fsck after gc failed"; }
[ "$(g "$L" rev-list --count --all)" = 8 ] || fail "after gc, rev-list --all sees $(g "$L" rev-list --count --all) commits, want 8"
# The clone pulls the packed history back (it still borrows hardlinked lower objects).
g "$C" pull -q --no-rebase --no-edit origin main || fail "git pull from the gc'd repository failed"
g "$C" fsck --full --strict --no-progress 2>"$T/fsck.err" || { cat "$T/fsck.err" >&2; fail "git fsck of the clone after pull failed"; }
[ -z "$(g "$C" status --porcelain)" ] || fail "clone not clean after pull"

# --- make -j2 of the project from the bottom layer. ------------------------------------------
P=$M/project
make -C "$P" -j2 >"$T/make1.log" 2>&1 || { cat "$T/make1.log" >&2; fail "make -j2 on the mount failed"; }
[ "$("$P/hello")" = "$want_hello" ] || fail "hello printed '$("$P/hello")', want '$want_hello'"
[ -f "$T/upper/project/hello" ] && [ -f "$T/upper/project/src/main.o" ] || fail "build products are not in the upper layer"
# Second run: every target is newer than its sources, so nothing may run.
make -C "$P" -q || fail "make -q says the fresh build is out of date (timestamps wrong?)"
make -C "$P" -j2 >"$T/make2.log" 2>&1 || fail "second make failed"
grep -q "'hello' is up to date" "$T/make2.log" || { cat "$T/make2.log" >&2; fail "second make -j2 was not a no-op"; }
# Touch one source (copy-up with a new mtime): only its object and the link may be redone.
touch "$P/src/greet.c"
make -C "$P" -j2 >"$T/make3.log" 2>&1 || fail "make after touch failed"
ran=$(grep '^cc ' "$T/make3.log" | sed 's/.*-o \([^ ]*\).*/\1/' | sort | tr '\n' ' ')
[ "$ran" = "hello src/greet.o " ] || { cat "$T/make3.log" >&2; fail "after touching greet.c make rebuilt '$ran', want 'hello src/greet.o '"; }
[ "$("$P/hello")" = "$want_hello" ] || fail "hello wrong after the rebuild"
make -C "$P" -q || fail "still out of date after the rebuild"
[ "$(stat -c %Y "$T/upper/project/src/greet.c")" -gt "$(date -d '2023-06-02' +%s)" ] ||
	fail "touched greet.c in the upper layer has an old mtime"

# --- Everything survives a remount: state comes from the layers alone. -----------------------
ovl_umount "$M"
ovl_mount "$M" "$OVL_OPTS"
g "$M/repo" fsck --full --strict --no-progress 2>"$T/fsck.err" || { cat "$T/fsck.err" >&2; fail "git fsck after remount failed"; }
[ "$(g "$M/repo" rev-list --count --all)" = 8 ] || fail "after remount the repository lost commits"
[ -z "$(g "$M/repo" status --porcelain)" ] || fail "repository not clean after remount: $(g "$M/repo" status --porcelain)"
g "$M/clone" fsck --full --strict --no-progress 2>"$T/fsck.err" || { cat "$T/fsck.err" >&2; fail "git fsck of the clone after remount failed"; }
make -C "$M/project" -q || fail "the project is out of date after remount (timestamps not persisted?)"
ovl_umount "$M"

after=$(layer_fingerprint "$T/lower1"; layer_fingerprint "$T/lower2")
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") | head -20 >&2; fail "a lower layer changed"; }
