#!/bin/bash
# Install the Debian/Ubuntu packages Antares needs to build and test, if any are missing.
# Uses sudo when not root. Package list: build deps first, then what the tests drive.
set -eu
build_pkgs="meson ninja-build pkg-config gcc libfuse3-dev libmount-dev libcap-dev libseccomp-dev libsqlite3-dev"
test_pkgs="fuse3 sqlite3 attr acl strace git make uidmap util-linux fuse-overlayfs python3"
missing=()
for p in $build_pkgs $test_pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
