#!/bin/bash
# The build profile: under its compiled filter each probed system call is allowed or fails
# with the errno the profile gives it (compat ABIs included), and gcc, make, ninja, git and
# sqlite3 work unchanged.
. "$(dirname "$0")/lib-probe.sh"
. "$(dirname "$0")/expect-build-base.sh"
check_policy build
tools_work build
