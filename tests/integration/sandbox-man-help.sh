#!/bin/bash
# Acceptance 7: man/antares-sandbox.1 and --help agree. Every option --help lists is an option
# tag (the line after a .TP) in the man page's OPTIONS section and the other way round; the
# exit statuses --help names are EXIT STATUS tags; the page has the sections the issue asks
# for (exit statuses, state directory layout, security model) and documents doctor; -h and
# --help print the same; --version matches meson.build; groff renders the page cleanly.
# Same approach as man-help.sh for the daemon, for the sandbox's simpler --help layout.
if [ $# -eq 0 ]; then # read meson.build before lib.sh re-runs us from a staging directory
	set -- "$(sed -n "/^project(/,/)/s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'\([^']*\)'.*/\1/p" \
		"$(dirname "$0")/../../meson.build" 2>/dev/null | head -n 1)"
fi
. "$(dirname "$0")/../sandbox-lib.sh"
MESON_VERSION=$1
MAN=$TESTS_DIR/../man/antares-sandbox.1
[ -s "$MAN" ] || fail "man page missing: $MAN"
"$SANDBOX" --help > "$T/help" 2> "$T/help.err" || fail "--help exited with status $?"
[ ! -s "$T/help.err" ] || fail "--help wrote to stderr"

# --help: the option column (up to two spaces) of lines indented less than 10 columns, below
# the usage lines; exit statuses: the numbers 100-199 of the "Exit status" paragraph (not
# the 128 of "128+N").
awk '
/^Exit status:/ { ex = 1 }
ex { l = $0; gsub(/[0-9]+\+/, "", l); n = split(l, w, /[^0-9]+/); for (i = 1; i <= n; i++) if (w[i] >= 100 && w[i] < 200) print "exit", w[i]; next }
/^ / && seen_blank {
	match($0, /^ */); if (RLENGTH >= 10) next
	line = $0; sub(/^ +/, "", line); if (match(line, /  /)) line = substr(line, 1, RSTART - 1)
	n = split(line, t, /[ ,]+/)
	for (i = 1; i <= n; i++) if (t[i] ~ /^--?[A-Za-z][A-Za-z0-9-]*$/) print "opt", t[i]
}
/^$/ { seen_blank = 1 }
' "$T/help" | sort -u > "$T/help.tokens"

# man page: roff escapes stripped; .TP tags in OPTIONS and EXIT STATUS; section names.
awk '
function strip(s) { gsub(/\\f(\[[^]]*\]|\(..|.)/, "", s); gsub(/\\-/, "-", s); gsub(/\\[&|^]/, "", s); return s }
/^\.SH/ { sec = $0; sub(/^\.SH[ \t]*/, "", sec); gsub(/"/, "", sec); print "section", sec; tag = 0; next }
/^\.TP/ { tag = 1; next }
tag {
	tag = 0; line = strip($0); sub(/^\.[A-Z]+ /, "", line); gsub(/"/, "", line)
	n = split(line, t, /[ ,]+/)
	for (i = 1; i <= n; i++) {
		if (sec == "OPTIONS" && t[i] ~ /^--?[A-Za-z][A-Za-z0-9-]*$/) print "opt", t[i]
		if (sec == "EXIT STATUS" && t[i] ~ /^[0-9]+$/) print "exit", t[i]
		if (sec == "COMMANDS") print "command", t[i]
	}
}
' "$MAN" | sort -u > "$T/man.tokens"

problems=0
compare() { # KIND WHAT
	local only_help only_man
	only_help=$(comm -23 <(awk -v k="$1" '$1 == k { print $2 }' "$T/help.tokens") \
		<(awk -v k="$1" '$1 == k { print $2 }' "$T/man.tokens") | tr '\n' ' ')
	only_man=$(comm -13 <(awk -v k="$1" '$1 == k { print $2 }' "$T/help.tokens") \
		<(awk -v k="$1" '$1 == k { print $2 }' "$T/man.tokens") | tr '\n' ' ')
	[ -z "$only_help" ] || { note "$2 in --help only: $only_help"; problems=$((problems + 1)); }
	[ -z "$only_man" ] || { note "$2 in the man page only: $only_man"; problems=$((problems + 1)); }
}
compare opt "options"
compare exit "exit statuses"
n=$(grep -c '^opt ' "$T/help.tokens")
[ "$n" -ge 20 ] || fail "found only $n options in --help: the parser is out of date"
note "compared $n options and $(grep -c '^exit ' "$T/help.tokens") exit statuses"
for s in "EXIT STATUS" "STATE DIRECTORY" "SECURITY MODEL" SYNOPSIS OPTIONS COMMANDS; do
	grep -qx "section $s" "$T/man.tokens" || { note "no $s section"; problems=$((problems + 1)); }
done
grep -qx "command doctor" "$T/man.tokens" || { note "doctor is not documented"; problems=$((problems + 1)); }
grep -q "antares-sandbox doctor" "$T/help" || { note "--help does not mention doctor"; problems=$((problems + 1)); }
[ "$problems" = 0 ] || fail "--help and man/antares-sandbox.1 disagree (see above)"

"$SANDBOX" -h | cmp -s - "$T/help" || fail "-h and --help differ"
[ "$("$SANDBOX" --version)" = "antares-sandbox $MESON_VERSION" ] || fail "--version: $("$SANDBOX" --version)"
[ "$("$SANDBOX" -V)" = "antares-sandbox $MESON_VERSION" ] || fail "-V differs from --version"
if command -v groff > /dev/null; then
	groff -man -Tutf8 -ww -z "$MAN" > "$T/groff.err" 2>&1 || true
	[ ! -s "$T/groff.err" ] || { cat "$T/groff.err" >&2; fail "groff warns about the man page"; }
fi
