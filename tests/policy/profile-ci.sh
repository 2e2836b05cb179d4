#!/bin/bash
# The ci profile: build's system call rules (it changes only network and limits), checked by
# probe, and the build tools work under it.
. "$(dirname "$0")/lib-probe.sh"
. "$(dirname "$0")/expect-build-base.sh"
check_policy ci
tools_work ci
