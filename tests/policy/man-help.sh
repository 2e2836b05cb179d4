#!/bin/bash
# antares-policy --help and man/antares-policy.1 list the same commands, options and usage lines
# (the man page is rendered with man(1), so roff markup does not matter).
set -eu
: "${ANTARES_BUILD:?}" "${ANTARES_SOURCE:?}"
tool=$ANTARES_BUILD/policy/antares-policy
page=$ANTARES_SOURCE/man/antares-policy.1
command -v man >/dev/null || { echo "SKIP: man(1) is not installed (package man-db)" >&2; exit 77; }

help=$("$tool" --help)
man=$(MANWIDTH=200 man -l "$page" 2>/dev/null | sed 's/‐/-/g')
section() { awk -v s="$1" '/^[A-Z]/ { on = ($0 == s) } on && !/^[A-Z]/'; }

fail=0
# Usage lines: "antares-policy [OPTIONS] check POLICY" and friends.
while read -r line; do
	line=${line#Usage: }
	grep -qF -- "$line" <<<"$man" || { echo "man page synopsis lacks: $line" >&2; fail=1; }
done < <(grep -E '^(Usage:| +antares-policy )' <<<"$help" | sed 's/^ *//')
# Options: "-d, --policy-dir=DIR" in both directions.
help_opts=$(grep -oE '^  -[A-Za-z], --[a-z-]+(=[A-Z]+)?' <<<"$help" | sed 's/^ *//' | sort)
man_opts=$(section OPTIONS <<<"$man" | grep -oE '^ +-[A-Za-z], --[a-z-]+(=[A-Z]+)?' | sed 's/^ *//' | sort)
if [ "$help_opts" != "$man_opts" ]; then
	echo "options differ:" >&2
	diff <(echo "$help_opts") <(echo "$man_opts") >&2 || true
	fail=1
fi
# Commands: the words listed under "Commands:" and under COMMANDS.
help_cmds=$(sed -n '/^Commands:/,/^$/p' <<<"$help" | grep -oE '^  [a-z]+' | tr -d ' ' | sort)
man_cmds=$(section COMMANDS <<<"$man" | grep -oE '^       [a-z]+( |$)' | tr -d ' ' | sort)
if [ "$help_cmds" != "$man_cmds" ]; then
	echo "commands differ:" >&2
	diff <(echo "$help_cmds") <(echo "$man_cmds") >&2 || true
	fail=1
fi
[ $fail = 0 ] && echo "help and man page agree: $(wc -l <<<"$help_opts") options; commands $(echo $help_cmds)"
exit $fail
