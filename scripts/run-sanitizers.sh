#!/bin/bash
# Build Antares with AddressSanitizer + UndefinedBehaviorSanitizer (meson's b_sanitize) in
# build-asan/ and run the daemon and policy tests with it: unit tests, the policy suite (but
# not the fuzz run, which builds its own instrumented binary) and every integration test of
# the 'daemon' suite, as root and rootless. A leak at a clean unmount, a memory error or
# undefined behaviour in any program a test runs fails that test (tests/lib.sh,
# ANTARES_SANITIZE). The crash and stress tests run shorter here (CRASH_TRIALS, STRESS_SECONDS
# are honoured when set). The daemon mounts here with writeback=0 (tests/lib.sh,
# OVERLAYD_BASE_OPTS; a test's own options win): the main run covers the daemon's default
# writeback=1, this one the mode antares-sandbox uses, where the kernel opens files alone.
# Ends with "N passed, N failed, N skipped".
set -eu
cd "$(dirname "$0")/.."
builddir=${ANTARES_ASAN_BUILDDIR:-build-asan}
if [ ! -d "$builddir" ]; then
	meson setup "$builddir" -Db_sanitize=address,undefined >/dev/null
fi
ninja -C "$builddir" >/dev/null
# Reports of programs that meson runs directly (unit and policy tests) abort them; lib.sh
# sends the integration tests' reports to a file per test instead.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ANTARES_SANITIZE=1
# The crash test's kills end the daemon before any leak check; what it adds here is the
# remount and check after a crash, which a few trials cover.
: "${CRASH_TRIALS:=3}" "${STRESS_SECONDS:=8}"
export CRASH_TRIALS STRESS_SECONDS
export OVERLAYD_BASE_OPTS=writeback=0
ANTARES_BUILDDIR="$builddir" exec ./run-tests.sh --suite unit --suite daemon --suite policy \
	--no-suite fuzz "$@"
