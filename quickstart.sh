#!/bin/bash
# Quick start: install what is missing, build, check the machine with `antares-sandbox doctor`,
# then run a real workload (make -j2, SQLite in WAL mode) on the example project inside
# antares-sandbox. examples/project stays untouched; what the build wrote lands in an upper
# layer, listed at the end with --diff. Works the same as root and as a normal user.
set -eu
cd "$(dirname "$0")"
scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
sandbox=$PWD/build/helper/antares-sandbox
echo "built build/helper/antares-sandbox and build/daemon/antares-overlayd"

"$sandbox" doctor

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# --upper: keep this demo's upper layer out of your state directory. The workload script is
# bound in read-only: the repository may live under $HOME, which policies like strict hide.
workload=$PWD/examples/workload.sh
cd examples/project
"$sandbox" --project . --upper "$scratch" --ro-bind "$workload" /tmp/workload.sh -- /tmp/workload.sh
echo "the build changed (examples/project itself is unchanged):"
"$sandbox" --project . --upper "$scratch" --diff | sed 's/^/  /'
