#!/bin/bash
# The man page and --help agree. Every option --help lists (command-line options, -o options,
# the compatibility, generic and ignored lists) is an option tag (the line after a .TP) in
# the man page's OPTIONS section, and every option tagged there is in --help: an option added
# to one and not the other fails. Both sides are parsed, no option name is hard-coded; the
# man page from its roff source, so man-db is not needed. Also: SYNOPSIS names the options
# of the usage lines, EXIT STATUS the statuses --help names, a "(default X)" in --help is a
# "Default X" in the option's paragraph, -h/-V print what --help/--version print, --version
# prints the version of meson.build, and groff and mandoc (where installed) render the page
# without warnings.
#
# lib.sh stages tests/ and man/ for rootless runs, but not meson.build: read the version
# here, before lib.sh runs this script again as the test user, and hand it on as $1.
if [ $# -eq 0 ]; then
	set -- "$(sed -n "/^project(/,/)/s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'\([^']*\)'.*/\1/p" \
		"$(dirname "$0")/../../meson.build" 2>/dev/null | head -n 1)"
fi
. "$(dirname "$0")/../lib.sh"

MESON_VERSION=$1
[ -n "$MESON_VERSION" ] || fail "cannot read the project version from meson.build"
MAN=$TESTS_DIR/../man/antares-overlayd.1
[ -s "$MAN" ] || fail "man page missing or empty: $MAN"

"$OVERLAYD" --help >"$T/help" 2>"$T/help.err" || fail "--help exited with status $?: $(cat "$T/help.err")"
[ ! -s "$T/help.err" ] || fail "--help wrote to stderr: $(cat "$T/help.err")"

# --- --help -> "KIND TOKEN" lines ------------------------------------------------------------
# KIND: usage (an option in the Usage lines), cmd (a command-line option), opt (an -o option
# name, without "=VALUE"), exit (an exit status), default (an -o option and its stated
# default). Blocks are recognised by their headings; an item that doesn't look like an
# option is a parse error, so a changed layout fails loudly instead of comparing nothing.
rc=0
awk '
function bad(what) { print "error " what; err = 1 }
# The option column of an option line: up to the first gap of two spaces.
function column(line) {
	sub(/^ +/, "", line)
	if (match(line, /  /)) line = substr(line, 1, RSTART - 1)
	return line
}
function cmd_tokens(kind, s,    n, t, i) {
	n = split(s, t, /[ ,]+/)
	for (i = 1; i <= n; i++)
		if (t[i] ~ /^--?[A-Za-z][A-Za-z0-9-]*$/) print kind, t[i]
}
function opt_item(item, where,    rest) {
	gsub(/^ +| +$/, "", item)
	if (item == "x-*") { print "opt x-*"; return "x-*" }
	if (!match(item, /^[a-z_][a-z0-9_]*/)) { bad("cannot read " where " item \"" item "\""); return "" }
	rest = substr(item, RLENGTH + 1)
	if (rest != "" && rest !~ /^[=[]/) { bad("cannot read " where " item \"" item "\""); return "" }
	print "opt", substr(item, 1, RLENGTH)
	return substr(item, 1, RLENGTH)
}
function lists(para,    n, seg, i, s, m, items, j) {
	# "Label: a, b, c. Label: d, e." -> the items of each list
	n = split(para " ", seg, /: /)
	for (i = 2; i <= n; i++) {
		s = seg[i]
		if (!match(s, /\. /)) { bad("cannot find the end of a list in: " s); continue }
		s = substr(s, 1, RSTART - 1)
		m = split(s, items, /, */)
		for (j = 1; j <= m; j++) opt_item(items[j], "option list")
		nlists++
	}
}
/^$/ { if (blk == "generic") lists(para); blk = ""; next }
/^Usage:/ { blk = "usage" }
/^Options:$/ { blk = "options"; nblk++; next }
/^Overlay options/ { blk = "overlay"; nblk++; next }
/^Generic mount options/ { blk = "generic"; para = ""; nblk++ }
/^Exit status:/ {
	s = $0; sub(/^Exit status: */, "", s)
	n = split(s, part, /, */)
	for (i = 1; i <= n; i++)
		if (match(part[i], /^[0-9]+ /)) print "exit", substr(part[i], 1, RLENGTH - 1)
		else bad("cannot read exit status \"" part[i] "\"")
	nblk++
	next
}
blk == "usage" { cmd_tokens("usage", $0); next }
blk == "options" {
	match($0, /^ */)
	if (RLENGTH < 10) cmd_tokens("cmd", column($0))   # deeper: a continued description
	next
}
blk == "overlay" {
	match($0, /^ */)
	if (RLENGTH >= 10) next
	n = split(column($0), items, /, */)
	for (i = 1; i <= n; i++) name = opt_item(items[i], "overlay option")
	# "(default X)": the man page must say "Default X" for that option too
	if (n == 1 && name != "" && match($0, /\(default [^)]*\)/))
		print "default", name, substr($0, RSTART + 9, RLENGTH - 10)
	next
}
blk == "generic" { para = para " " $0; next }
END {
	if (blk == "generic") lists(para)
	if (nblk != 4) bad("found " nblk + 0 " of the 4 blocks Options, Overlay options, Generic mount options, Exit status")
	if (nlists < 2) bad("found " nlists + 0 " option lists after \"Generic mount options\", want 2 (generic, ignored)")
	exit err
}' "$T/help" >"$T/help.tokens" || rc=$?
if grep '^error ' "$T/help.tokens" >&2 || [ "$rc" != 0 ]; then
	fail "cannot parse antares-overlayd --help (errors above); fix the help text or this test"
fi

# --- man page -> "KIND TOKEN" lines ------------------------------------------------------------
# cmd/opt: from the tag lines of OPTIONS; body: an -o option and the text of its paragraph;
# synopsis: options in SYNOPSIS; exit: EXIT STATUS tags.
rc=0
awk '
# Roff escapes that matter here: fonts, \-, \&, \e, spaces, named glyphs.
function strip(s) {
	gsub(/\\f(\[[^]]*\]|\(..|.)/, "", s)
	gsub(/\\-/, "-", s)
	gsub(/\\[&|^]/, "", s)
	gsub(/\\[~ 0]/, " ", s)
	gsub(/\\\(../, " ", s)
	gsub(/\\e/, "\\", s)
	return s
}
# The text a line renders: a macro line joins its arguments (without spaces for the
# alternating-font macros .BR .BI .IR .RB .RI .IB, as troff does).
function render(line,    m, rest, n, i, c, cur, inq, has, out, arg) {
	if (line !~ /^[.\047]/) return strip(line)
	m = line; sub(/^[.\047]/, "", m); sub(/[ \t].*$/, "", m)
	rest = line; sub(/^[.\047][^ \t]*[ \t]*/, "", rest)
	n = 0; cur = ""; inq = 0; has = 0
	for (i = 1; i <= length(rest); i++) {
		c = substr(rest, i, 1)
		if (c == "\\") { cur = cur substr(rest, i, 2); i++; has = 1; continue }
		if (c == "\"") {
			if (inq && substr(rest, i + 1, 1) == "\"") { cur = cur "\""; i++; continue }
			inq = !inq; has = 1; continue
		}
		if ((c == " " || c == "\t") && !inq) {
			if (has) { arg[++n] = cur; cur = ""; has = 0 }
			continue
		}
		cur = cur c; has = 1
	}
	if (has) arg[++n] = cur
	out = ""
	for (i = 1; i <= n; i++)
		out = out (i > 1 && m !~ /^(BR|BI|IR|RB|RI|IB)$/ ? " " : "") arg[i]
	return strip(out)
}
function tokens(kind, s,    n, t, i) {
	n = split(s, t, /[ ,]+/)
	for (i = 1; i <= n; i++) {
		if (t[i] ~ /^--?[A-Za-z][A-Za-z0-9-]*$/) { if (kind != "exit") print (kind == "tag" ? "cmd" : kind), t[i] }
		else if (kind == "tag" && t[i] == "x-*") print "opt x-*"
		else if (kind == "tag" && match(t[i], /^[a-z_][a-z0-9_]*/) &&
			 (RLENGTH == length(t[i]) || substr(t[i], RLENGTH + 1, 1) ~ /[=[]/)) {
			print "opt", substr(t[i], 1, RLENGTH)
			names[++nnames] = substr(t[i], 1, RLENGTH)
		}
		else if (kind == "exit" && t[i] ~ /^[0-9]+$/) print "exit", t[i]
	}
}
function flush(    i) {
	for (i = 1; i <= nnames; i++) print "body", names[i], body
	nnames = 0; body = ""
}
/^\.\\"/ { next }                                   # comment
/^\.(SH|SS|TP|PP|LP|P|IP)([ \t]|$)/ { flush() }      # a paragraph ends
/^\.SH/ { sec = $0; sub(/^\.SH[ \t]*/, "", sec); gsub(/"/, "", sec); tag = 0; next }
/^\.TP/ { tag = 1; next }
tag {
	tag = 0
	if (sec == "OPTIONS") { tokens("tag", render($0)); ntags++ }
	else if (sec == "EXIT STATUS") tokens("exit", render($0))
	next
}
sec == "SYNOPSIS" { tokens("synopsis", render($0)) }
nnames { body = body " " render($0) }
END {
	flush()
	if (ntags == 0) { print "error no .TP option tags in OPTIONS"; exit 1 }
}
' "$MAN" >"$T/man.tokens" || rc=$?
if grep '^error ' "$T/man.tokens" >&2 || [ "$rc" != 0 ]; then
	fail "cannot parse the man page $MAN (awk status $rc)"
fi

# --- compare ----------------------------------------------------------------------------------
problems=0
# same KIND_HELP KIND_MAN WHAT: the two token sets must be equal.
same() {
	local kh=$1 km=$2 what=$3
	awk -v k="$kh" '$1 == k { print $2 }' "$T/help.tokens" | sort -u >"$T/h.$kh"
	awk -v k="$km" '$1 == k { print $2 }' "$T/man.tokens" | sort -u >"$T/m.$km"
	[ -s "$T/h.$kh" ] || { note "no $what found in --help"; problems=$((problems + 1)); }
	local only_help only_man
	only_help=$(comm -23 "$T/h.$kh" "$T/m.$km" | tr '\n' ' ')
	only_man=$(comm -13 "$T/h.$kh" "$T/m.$km" | tr '\n' ' ')
	if [ -n "$only_help" ]; then
		note "$what in --help but not in the man page: $only_help"
		problems=$((problems + 1))
	fi
	if [ -n "$only_man" ]; then
		note "$what in the man page but not in --help: $only_man"
		problems=$((problems + 1))
	fi
}
same cmd cmd "command-line options (man: OPTIONS tags)"
same opt opt "-o options (man: OPTIONS tags)"
same usage synopsis "options of the usage lines (man: SYNOPSIS)"
same exit exit "exit statuses (man: EXIT STATUS tags)"
# Defaults --help states appear in the option's paragraph: "(default 1)" -> "Default 1".
while read -r _ name value; do
	awk -v n="$name" -v v="default $value" '
		$1 == "body" && $2 == n {
			$1 = $2 = ""; b = tolower($0); i = index(b, tolower(v))
			if (i && substr(b, i + length(v), 1) !~ /[[:alnum:]]/) found = 1
		}
		END { exit !found }' "$T/man.tokens" || {
		note "-o $name: --help says (default $value), the man page does not say \"Default $value\""
		problems=$((problems + 1))
	}
done < <(grep '^default ' "$T/help.tokens")
note "compared $(grep -c '^cmd ' "$T/help.tokens") command-line and $(grep -c '^opt ' "$T/help.tokens") -o options"
[ "$problems" = 0 ] || fail "--help and man/antares-overlayd.1 disagree (see above)"

# --- short forms, version ---------------------------------------------------------------------
"$OVERLAYD" -h >"$T/help.short" || fail "-h exited with status $?"
cmp -s "$T/help" "$T/help.short" || fail "-h and --help print different texts"
version=$("$OVERLAYD" --version) || fail "--version exited with status $?"
[ "$version" = "antares-overlayd $MESON_VERSION" ] ||
	fail "--version prints '$version', meson.build says version '$MESON_VERSION'"
[ "$("$OVERLAYD" -V)" = "$version" ] || fail "-V prints '$("$OVERLAYD" -V)', --version '$version'"

# --- rendering --------------------------------------------------------------------------------
if command -v groff >/dev/null; then
	groff -man -Tutf8 -ww -z "$MAN" >"$T/groff.err" 2>&1 || true
	[ ! -s "$T/groff.err" ] || { cat "$T/groff.err" >&2; fail "groff warns about the man page (above)"; }
else
	note "groff not installed: rendering not checked"
fi
if command -v mandoc >/dev/null; then
	mandoc -Tlint -W warning "$MAN" >"$T/mandoc.err" 2>&1 || true
	[ ! -s "$T/mandoc.err" ] || { cat "$T/mandoc.err" >&2; fail "mandoc -Tlint warns about the man page (above)"; }
fi
