#!/bin/bash
# Acceptance 4: a real build in the sandbox: make -j2 of the example C project, then git status
# and git commit in the overlay. The checkout on the host is untouched; the next run sees the
# build products and the commit.
. "$(dirname "$0")/../sandbox-lib.sh"
command -v make >/dev/null && command -v cc >/dev/null || fail "make and a C compiler are needed"
P="$T/proj"
mkdir -p "$P"
cp -r "$TESTS_DIR/../examples/project/." "$P/"
(cd "$P" && git init -q . && git add -A && git commit -qm "example project") || fail "git init"
before=$(layer_fingerprint "$P")
head_before=$(git -C "$P" rev-parse HEAD)
cd "$P"

sbx -- sh -c 'set -e
	make -j2
	./hello
	test -z "$(git status --porcelain --untracked-files=no)"
	git status --short > status.txt
	git add -A
	git commit -qm "built in the sandbox"
	git log --oneline | wc -l' > "$T/out" 2>&1 || { cat "$T/out" >&2; fail "the build failed in the sandbox"; }
[ "$(tail -n 1 "$T/out")" = 2 ] || { cat "$T/out" >&2; fail "git log in the sandbox does not show 2 commits"; }
grep -q '?? hello' "$P/status.txt" 2>/dev/null && fail "status.txt leaked to the host"
[ "$(layer_fingerprint "$P")" = "$before" ] || fail "the checkout changed on the host"
[ "$(git -C "$P" rev-parse HEAD)" = "$head_before" ] || fail "the host's HEAD moved"

out=$(sbx -- sh -c 'git log -1 --format=%s; git status --porcelain; test -x hello && echo has-hello') ||
	fail "second run failed"
[ "$out" = "$(printf 'built in the sandbox\nhas-hello')" ] || fail "second run sees: $out"
sbx --diff > "$T/diff"
for f in "A hello" "A src/main.o" "A status.txt" "M .git/index"; do
	grep -qx "$f" "$T/diff" || { cat "$T/diff" >&2; fail "--diff lacks '$f'"; }
done
# Incremental: nothing to rebuild the second time.
out=$(sbx -- make -j2) || fail "incremental make failed"
case "$out" in *"is up to date"*) ;; *) fail "the second make rebuilt: $out" ;; esac
