# Everything bench/run.sh needs before the first timed run: packages, the lower tree (a kernel
# source tree made a git repository), the data files and the helper programs. All of it is
# cached under $CACHE and rebuilt only when missing, so a second run starts timing at once.
# Sourced, not run.

# Debian packages: the kernel source (the lower tree), the stacks, and what the workloads run.
BENCH_PACKAGES=(linux-source-6.1 xz-utils fuse3 fuse-overlayfs git make gcc libc6-dev bc flex
	bison libelf-dev libssl-dev sqlite3 coreutils util-linux)

install_packages() {
	local p missing=()
	for p in "${BENCH_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); install them as root"
	note "installing: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The lower layer: $LOWER/linux (the kernel tree, a git repo) and $LOWER/data (the big file).
# The tree is committed and repacked so that `git status` compares against a real index and
# the .git directory is a few packs rather than 80k loose objects that would inflate the stat
# workload.
prepare_tree() {
	local tarball=/usr/src/linux-source-6.1.tar.xz
	if [ ! -e "$CACHE/state/tree.done" ]; then
		[ -r "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.1)"
		note "unpacking $tarball into $LOWER/linux (once)"
		rm -rf "$CACHE/unpack" "$LOWER/linux"
		mkdir -p "$CACHE/unpack" "$LOWER" "$CACHE/state"
		tar -xf "$tarball" -C "$CACHE/unpack"
		mv "$CACHE/unpack/linux-source-6.1" "$LOWER/linux"
		rmdir "$CACHE/unpack"
		touch "$CACHE/state/tree.done"
	fi
	if [ ! -e "$CACHE/state/git.done" ]; then
		note "making $LOWER/linux a git repository (once, ~1 min)"
		(
			cd "$LOWER/linux" || exit 1
			rm -rf .git
			git init -q
			git config user.name antares-bench
			git config user.email antares-bench@localhost
			# No automatic gc in the middle of a timed run.
			git config gc.auto 0
			# Debian's tarball ends its .gitignore with "/*" and "!/debian/" (left from
			# packaging): every source file would be ignored and `git status` would check
			# nothing. Drop those two lines, as a kernel checkout doesn't have them.
			sed -i -e '/^\/\*$/d' -e '/^!\/debian\/$/d' .gitignore
			git add -A
			git commit -q -m "linux-source-6.1 as shipped by Debian"
			git repack -adq
			git prune-packed
			# Settle the index (racily-clean entries) so that later `git status` runs on
			# the native tree find nothing to rewrite and the lower stays as it is.
			git status --porcelain >/dev/null
		)
		touch "$CACHE/state/git.done"
	fi
	# Tree checks that catch a cache broken by hand before they show up as odd timings.
	[ -d "$LOWER/linux/.git" ] || die "$LOWER/linux is not a git repo; remove $CACHE/state to rebuild"
}

# $LOWER/data/big-<MB>m.bin: incompressible bytes, so that nothing along the way (zero
# detection, sparse copies) can make the big-file workloads cheaper than they are.
prepare_big() {
	BIG_NAME="big-${BIG_MB}m.bin"
	if [ ! -e "$CACHE/state/$BIG_NAME.done" ]; then
		note "writing $LOWER/data/$BIG_NAME (once)"
		mkdir -p "$LOWER/data"
		head -c "$((BIG_MB * 1024 * 1024))" /dev/urandom >"$LOWER/data/$BIG_NAME"
		touch "$CACHE/state/$BIG_NAME.done"
	fi
}

# Inputs of the small-file workloads, derived from the tree in `git ls-files` order (sorted,
# so the same files every time): a tarball of the first $SMALL_FILES files, a list of
# $CHMOD_FILES files spread evenly across the tree, and the SQL script.
prepare_inputs() {
	# The file list once, to a file: `git ls-files | head` would kill git with SIGPIPE, which
	# pipefail rightly reports as a failure.
	local files="$CACHE/files.list"
	if [ ! -s "$files" ]; then
		(cd "$LOWER/linux" && git ls-files) >"$files.tmp"
		mv "$files.tmp" "$files"
	fi
	SMALL_TAR="$CACHE/small-$SMALL_FILES.tar"
	if [ ! -e "$SMALL_TAR" ]; then
		head -n "$SMALL_FILES" "$files" | tr '\n' '\0' |
			tar -C "$LOWER/linux" --null -T - -cf "$SMALL_TAR.tmp"
		mv "$SMALL_TAR.tmp" "$SMALL_TAR"
	fi
	CHMOD_LIST="$CACHE/chmod-$CHMOD_FILES.list"
	if [ ! -e "$CHMOD_LIST" ]; then
		awk -v n="$CHMOD_FILES" -v step=$(($(wc -l <"$files") / CHMOD_FILES)) \
			'NR % step == 0 && ++k <= n' "$files" | tr '\n' '\0' >"$CHMOD_LIST.tmp"
		mv "$CHMOD_LIST.tmp" "$CHMOD_LIST"
	fi
	# WAL with synchronous=FULL (the shell's default, set explicitly so it cannot drift):
	# every autocommit INSERT appends to the WAL and fsyncs it.
	SQL_FILE="$CACHE/sqlite-$SQL_INSERTS.sql"
	if [ ! -e "$SQL_FILE" ]; then
		{
			echo "PRAGMA journal_mode=WAL;"
			echo "PRAGMA synchronous=FULL;"
			echo "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
			awk -v n="$SQL_INSERTS" 'BEGIN { for (i = 1; i <= n; i++)
				printf "INSERT INTO t (v) VALUES (\x27row %d of the benchmark, some text to make it a realistic row\x27);\n", i }'
		} >"$SQL_FILE.tmp"
		mv "$SQL_FILE.tmp" "$SQL_FILE"
	fi
}

# The helper programs (bench/*.c), rebuilt when their source is newer than the binary.
prepare_helpers() {
	BIN="$CACHE/bin"
	mkdir -p "$BIN"
	local src name
	for src in "$BENCH_DIR"/*.c; do
		name=$(basename "$src" .c)
		if [ ! -x "$BIN/$name" ] || [ "$src" -nt "$BIN/$name" ]; then
			gcc -O2 -Wall -Wextra -o "$BIN/$name" "$src"
		fi
	done
}
