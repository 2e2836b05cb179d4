#!/bin/bash
# man/antares-policy.5 lists exactly the syscall groups of policy/syscall-groups.list, and both
# man pages are free of roff warnings (when mandoc is there to say).
set -eu
: "${ANTARES_SOURCE:?}"
cd "$ANTARES_SOURCE"
python3 policy/gen-syscall-groups.py --check-man policy/syscall-groups.list man/antares-policy.5
if command -v mandoc >/dev/null; then
	mandoc -Tlint -Wwarning man/antares-policy.1 man/antares-policy.5
else
	echo "# mandoc not installed: roff lint skipped" >&2
fi
echo "group section up to date"
