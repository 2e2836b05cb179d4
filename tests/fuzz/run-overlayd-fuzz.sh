#!/bin/bash
# Builds the libFuzzer target of antares-overlayd's -o parser (daemon/options.c) with clang
# (ASan, UBSan, LSan) and runs it on the seed corpus for SECONDS (default 60). New corpus
# entries and crash artifacts go to WORKDIR (default a fresh temporary directory), never into
# the source tree. The long form is a manual run, e.g. 3600 seconds with -jobs/-workers.
# Exit: 0 nothing found, 77 skipped (clang or libFuzzer missing, reason on stderr), else found.
# Usage: tests/fuzz/run-overlayd-fuzz.sh [SECONDS] [WORKDIR] [extra libFuzzer flags...]
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
work=${2:-$(mktemp -d /tmp/overlayd-fuzz.XXXXXX)}
shift $(($# < 2 ? $# : 2))
skip() { echo "SKIP: $*" >&2; exit 77; }

command -v clang >/dev/null || skip "clang is not installed (Debian: clang)"
mkdir -p "$work/corpus" "$work/artifacts"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$work/probe.c"
clang -fsanitize=fuzzer "$work/probe.c" -o "$work/probe" 2>"$work/probe.log" ||
	skip "clang cannot link libFuzzer (Debian: libclang-rt-14-dev): $(head -1 "$work/probe.log")"

clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE -Wall -Wextra -I"$src/daemon" "$src/daemon/options.c" "$src/common/oneline.c" \
	"$src/tests/fuzz/fuzz-overlayd-options.c" -o "$work/fuzz-overlayd-options"

echo "# fuzzing for ${secs}s in $work" >&2
# -o strings longer than 8 KiB only repeat what shorter ones reach; a slow unit is a hang.
exec "$work/fuzz-overlayd-options" -max_total_time="$secs" -max_len=8192 -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
	-dict="$src/tests/fuzz/overlayd-options.dict" \
	"$@" "$work/corpus" "$src/tests/fuzz/overlayd-options-corpus"
