#!/bin/bash
# Line coverage of the policy library by a fuzz corpus: rebuilds the fuzz target with clang's
# source-based coverage, replays WORKDIR/corpus and the seed corpus, prints llvm-cov's report.
# Usage: tests/fuzz/policy-fuzz-coverage.sh WORKDIR   (a directory run-policy-fuzz.sh filled)
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:?usage: policy-fuzz-coverage.sh WORKDIR}
for t in clang llvm-profdata llvm-cov; do
	command -v $t >/dev/null || { echo "SKIP: $t is not installed" >&2; exit 77; }
done
python3 "$src/policy/gen-syscall-groups.py" "$src/policy/syscall-groups.list" \
	"$work/syscall-groups.c"
sources=$(ls "$src"/policy/*.c | grep -v '/main\.c$')
# shellcheck disable=SC2086
clang -g -O0 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping -D_GNU_SOURCE \
	-DANTARES_VERSION='"cov"' -I"$src/policy" -I"$src/common" $sources \
	"$work/syscall-groups.c" "$src/tests/fuzz/fuzz-policy.c" \
	$(pkg-config --cflags --libs libseccomp libcap) -o "$work/fuzz-policy-cov"
mkdir -p "$work/cov-empty"
LLVM_PROFILE_FILE="$work/cov.profraw" "$work/fuzz-policy-cov" -runs=0 "$work/cov-empty" \
	"$work/corpus" "$src/tests/fuzz/policy-corpus" 2>"$work/cov-run.log"
llvm-profdata merge -sparse "$work/cov.profraw" -o "$work/cov.profdata"
# shellcheck disable=SC2086
llvm-cov report "$work/fuzz-policy-cov" -instr-profile="$work/cov.profdata" $sources
