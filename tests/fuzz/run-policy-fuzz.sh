#!/bin/bash
# Builds the policy library's libFuzzer target with clang (ASan, UBSan, LSan) and runs it on
# the seed corpus for SECONDS (default 60). New corpus entries and crash artifacts go to
# WORKDIR (default a fresh temporary directory), never into the source tree.
# Exit: 0 nothing found, 77 skipped (clang or libFuzzer missing, reason on stderr), else found.
# Usage: tests/fuzz/run-policy-fuzz.sh [SECONDS] [WORKDIR] [extra libFuzzer flags...]
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
work=${2:-$(mktemp -d /tmp/policy-fuzz.XXXXXX)}
shift $(($# < 2 ? $# : 2))
skip() { echo "SKIP: $*" >&2; exit 77; }

command -v clang >/dev/null || skip "clang is not installed (Debian: clang)"
mkdir -p "$work/corpus" "$work/artifacts"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$work/probe.c"
clang -fsanitize=fuzzer "$work/probe.c" -o "$work/probe" 2>"$work/probe.log" ||
	skip "clang cannot link libFuzzer (Debian: libclang-rt-14-dev): $(head -1 "$work/probe.log")"
pkg-config --exists libseccomp libcap || skip "libseccomp/libcap development files missing"

python3 "$src/policy/gen-syscall-groups.py" "$src/policy/syscall-groups.list" \
	"$work/syscall-groups.c"
sources=$(ls "$src"/policy/*.c | grep -v '/main\.c$')
# shellcheck disable=SC2086
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE -DANTARES_VERSION='"fuzz"' -Wall -Wextra -Wno-unused-parameter \
	-I"$src/policy" -I"$src/common" $sources "$work/syscall-groups.c" \
	"$src/tests/fuzz/fuzz-policy.c" $(pkg-config --cflags --libs libseccomp libcap) \
	-o "$work/fuzz-policy"

echo "# fuzzing for ${secs}s in $work" >&2
# Inputs beyond 16 KiB only repeat what smaller ones reach; a unit slower than 10 s is a hang.
exec "$work/fuzz-policy" -max_total_time="$secs" -max_len=16384 -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
	"$@" "$work/corpus" "$src/tests/fuzz/policy-corpus"
