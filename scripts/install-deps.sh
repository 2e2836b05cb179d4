#!/bin/bash
# Install the Debian/Ubuntu packages Antares needs to build and test, if any are missing.
# Uses sudo when not root. Package list: build deps first, then what the tests drive, then
# optional test tools (installed when the distribution has them; their tests skip otherwise).
set -eu
build_pkgs="meson ninja-build pkg-config gcc libfuse3-dev libmount-dev libcap-dev libseccomp-dev libsqlite3-dev"
test_pkgs="fuse3 sqlite3 attr acl libcap2-bin strace git make uidmap util-linux fuse-overlayfs python3 man-db"
# The policy fuzz run needs clang and its libFuzzer runtime (a separate package from Debian 12
# on); mandoc lints the man pages; valgrind runs the daemon under memcheck, and gdb shows the
# daemon's threads when the stress test's watchdog fires.
optional_pkgs="clang libclang-rt-14-dev mandoc valgrind gdb"
missing=()
is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in $build_pkgs $test_pkgs $optional_pkgs; do
	is_installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
required=()
for p in "${missing[@]}"; do
	case " $optional_pkgs " in *" $p "*) ;; *) required+=("$p") ;; esac
done
[ ${#required[@]} -eq 0 ] || $sudo apt-get install -y -qq --no-install-recommends "${required[@]}" >/dev/null
for p in $optional_pkgs; do
	is_installed "$p" || $sudo apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
		echo "note: optional package $p is not available; the tests that need it skip" >&2
done
