#!/bin/bash
# Quick start: install what is missing, build, then mount antares-overlayd over the example
# project and run a real workload (make -j2, SQLite in WAL mode) in it. The example directory
# stays untouched; everything the build writes lands in a scratch upper layer, shown at the end.
set -eu
cd "$(dirname "$0")"
scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "built build/daemon/antares-overlayd"

run() {
	set -eu
	root=$1
	scratch=$(mktemp -d)
	trap 'mountpoint -q "$scratch/mnt" && umount "$scratch/mnt"; rm -rf "$scratch"' EXIT
	mkdir "$scratch/upper" "$scratch/work" "$scratch/mnt"
	"$root/build/daemon/antares-overlayd" \
		-o "lowerdir=$root/examples/project,upperdir=$scratch/upper,workdir=$scratch/work" \
		"$scratch/mnt"
	echo "mounted the overlay of examples/project on $scratch/mnt; running the workload:"
	(cd "$scratch/mnt" && "$root/examples/workload.sh")
	umount "$scratch/mnt"
	echo "the build wrote these files to the upper layer (examples/project is unchanged):"
	(cd "$scratch/upper" && find . -type f | sort | sed 's|^\./|  |')
}

if [ "$(id -u)" = 0 ]; then
	run "$PWD"
else
	# Rootless: a user namespace of our own lets us mount FUSE without privileges.
	export -f run
	unshare -Urm bash -c 'run "$1"' _ "$PWD"
fi
