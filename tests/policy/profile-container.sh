#!/bin/bash
# The container profile: build's rules plus what package managers do as root (chroot, owner
# and id changes), checked by probe.
. "$(dirname "$0")/lib-probe.sh"
. "$(dirname "$0")/expect-build-base.sh"
expect chroot baseline
expect chown baseline
expect setuid OK
check_policy container
