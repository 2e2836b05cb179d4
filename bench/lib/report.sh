# The report: a Markdown table (rows = workloads, columns = stacks, median and ratio to native),
# the issue's targets checked against it, the machine, and a CSV of the same numbers.
# Sourced, not run.

declare -A MED NOK NFAIL

# row_label ROW: what a row of the table measures.
row_label() {
	case $1 in
	*-first) echo "${WL_SHORT[${1%-first}]%, warm}, first pass after mount" ;;
	copy-up-ref) echo "reference: cp --reflink=auto of $BIG_MB MiB" ;;
	copy-up-ref-fsync) echo "reference: cp --reflink=auto + fsync" ;;
	rss) echo "daemon peak RSS after stat (VmHWM)" ;;
	unmount-exit) echo "unmount to daemon exit, after stat" ;;
	mount-ready) echo "mount to ready" ;;
	*) echo "${WL_SHORT[$1]}" ;;
	esac
}

row_unit() {
	case $1 in rss) echo MiB ;; mount-ready | unmount-exit) echo ms ;; *) echo s ;; esac
}

# The rows in report order, for the workloads that ran.
report_rows() {
	local wl
	for wl in "${SELECTED[@]}"; do
		echo "$wl"
		[ "${WL_SHAPE[$wl]}" = reader ] && echo "$wl-first"
		[ "$wl" = copy-up ] && printf '%s\n' copy-up-ref copy-up-ref-fsync
	done
	printf '%s\n' "${SELECTED[@]}" | grep -qx stat && printf '%s\n' rss unmount-exit
	echo mount-ready
}

# The rows that have a CPU time (workload passes, not the references or the extra rows).
cpu_rows() {
	local row
	for row in $(report_rows); do
		case $row in copy-up-ref* | rss | unmount-exit | mount-ready) ;; *) echo "$row@cpu" ;; esac
	done
}

# compute_medians: MED[row|stack] (in the row's unit), NOK/NFAIL = successful/failed samples.
compute_medians() {
	local row stack vals
	for row in $(report_rows) $(cpu_rows); do
		for stack in "${STACKS[@]}"; do
			vals=$(samples "$row" "$stack")
			NOK[$row|$stack]=$(grep -cv FAIL <<<"$vals" || true)
			NFAIL[$row|$stack]=$(grep -c FAIL <<<"$vals" || true)
			[ -z "$vals" ] && NOK[$row|$stack]=0 NFAIL[$row|$stack]=0
			if [ "${NOK[$row|$stack]}" -gt 0 ]; then
				MED[$row|$stack]=$(grep -v FAIL <<<"$vals" | median)
			fi
		done
	done
}

# ratio A B: A / B with two decimals, empty when either is missing.
ratio() {
	[ -n "$1" ] && [ -n "$2" ] || return 0
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
}

cell() {
	local row=$1 stack=$2 unit m r out
	unit=$(row_unit "${row%@cpu}")
	m=${MED[$row|$stack]:-}
	if [ -z "$m" ]; then
		[ "${NFAIL[$row|$stack]:-0}" -gt 0 ] && echo "FAIL" || echo "–"
		return
	fi
	case $unit in
	s)
		out=$(awk -v m="$m" 'BEGIN { printf (m < 10 ? "%.3f s" : "%.1f s"), m }')
		r=$(ratio "$m" "${MED[$row|native]:-}")
		[ -n "$r" ] && out="$out (${r}x)"
		;;
	MiB) out=$(awk -v m="$m" 'BEGIN { printf "%.1f MiB", m }') ;;
	ms) out=$(awk -v m="$m" 'BEGIN { printf (m < 1000 ? "%.1f ms" : "%.0f ms"), m }') ;;
	esac
	[ "${NFAIL[$row|$stack]}" -gt 0 ] && out="$out, ${NFAIL[$row|$stack]} of $((NOK[$row|$stack] + NFAIL[$row|$stack])) FAILED"
	echo "$out"
}

machine_info() {
	local cpu mem fs
	cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
	mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	fs=$(findmnt -no FSTYPE,SOURCE,OPTIONS -T "$SCRATCH" | head -n 1 | tr -s ' ')
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- CPU: $cpu, $(nproc) cores; memory $mem"
	echo "- Kernel: $(uname -r); OS: $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "- Lower, uppers and scratch: \`$CACHE\` on $fs"
	echo "- antares-overlayd: \`$DAEMON_PATH\`$DAEMON_DESC"
	[ -n "$BASELINE_PATH" ] && echo "- antares-baseline: \`$BASELINE_PATH\`$BASELINE_DESC"
	echo "- antares options: \`-o ${DAEMON_OPTIONS:-(defaults)}\` added to lowerdir, upperdir and workdir (antares-sandbox mounts with metacopy=on,writeback=0); the other stacks use their defaults"
	command -v fuse-overlayfs >/dev/null &&
		echo "- fuse-overlayfs: $(fuse-overlayfs --version 2>/dev/null | sed -n 's/^fuse-overlayfs: //p'), libfuse $(fusermount3 --version 2>&1 | awk '{ print $NF }')"
	echo "- Command: \`$COMMAND_LINE\`"
	echo "- Runs: $RUNS per workload and stack ($COMPILE_RUNS for compile); medians shown, ratio to native in parentheses"
	[ -n "$BASELINE_OPTIONS" ] && echo "- antares-baseline options: also \`-o $BASELINE_OPTIONS\`"
	echo "- FUSE over io_uring: $URING_STATE"
	echo "- Host memory: $HOST_MEMORY"
	echo "- Freed inodes: $FREED_INODES"
	if [ -n "${ROUND_TRIP:-}" ]; then
		local rt_free rt_one
		read -r rt_free rt_one <<<"$ROUND_TRIP"
		echo "- Round trip between two processes (one byte through a pipe and back, mean of 20,000): $rt_free µs, or $rt_one µs with both held on one CPU; every FUSE request costs at least one such round trip"
	fi
	echo "- Other load: processes other than the benchmark used $OTHER_CPU% of the machine's CPU time during the run (kernel threads such as writeback included)$( [ "$OTHER_CPU" -ge 10 ] && echo ": **the machine was shared, elapsed times are noisy; compare CPU times too**")"
}

# targets: the issue's targets, each with the numbers it compares and whether it holds.
targets() {
	local A=antares-overlayd F=fuse-overlayfs K=overlayfs N=native wl a f n r rn verdict floor floor_name
	echo "| target | numbers | holds? |"
	echo "| --- | --- | --- |"
	# The issue names the warm pass for stat and git status; for the read it names none, so
	# both passes are judged: a build's first read of an input meets the cold one.
	for wl in $(printf '%s\n' "${SELECTED[@]}" | sed 's/^seq-read$/seq-read\nseq-read-first/'); do
		a=${MED[$wl|$A]:-} f=${MED[$wl|$F]:-} n=${MED[$wl|$N]:-}
		if [ -z "$a" ] || [ -z "$f" ]; then continue; fi
		r=$(ratio "$a" "$f")
		# What no daemon can beat: native for a row, the copy itself (cp) for copy-up. A
		# target below it is named as such, so that nobody optimises towards it.
		floor=$n floor_name=native
		[ "$wl" = copy-up ] && floor=${MED[copy-up-ref|$N]:-} floor_name="\`cp\` of the file alone"
		verdict=$(awk -v r="$r" -v a="$a" -v f="$f" -v n="$n" -v fl="${floor:-0}" -v fn="$floor_name" 'BEGIN {
			if (r <= 0.8) print "yes"
			else if (n > 0 && a / n <= 1.1 && f / n <= 1.1) print "yes (both within 10% of native)"
			else if (fl > 0 && 0.8 * f < fl) printf "**no**: 0.8 × fuse-overlayfs = %.3g s is below %s (%.3g s)\n", 0.8 * f, fn, fl
			else print "**no**" }')
		echo "| ${wl/%-first/ (first pass)}: antares ≤ 0.8 × fuse-overlayfs | ${r}x of fuse-overlayfs | $verdict |"
	done
	for wl in stat git-status; do
		a=${MED[$wl|$A]:-} f=${MED[$wl|$K]:-}
		if [ -z "$a" ] || [ -z "$f" ]; then continue; fi
		r=$(ratio "$a" "$f")
		echo "| $wl: antares ≤ 1.5 × kernel overlayfs | ${r}x of overlayfs | $(awk -v r="$r" 'BEGIN { print (r <= 1.5 ? "yes" : "**no**") }') |"
	done
	a=${MED[compile|$A]:-} n=${MED[compile|$N]:-}
	if [ -n "$a" ] && [ -n "$n" ]; then
		r=$(ratio "$a" "$n")
		echo "| compile: antares ≤ 1.10 × native | ${r}x of native | $(awk -v r="$r" 'BEGIN { print (r <= 1.10 ? "yes" : "**no**") }') |"
	fi
	a=${MED[copy-up|$A]:-} n=${MED[copy-up-ref|$N]:-} rn=${MED[copy-up-ref-fsync|$N]:-}
	if [ -n "$a" ] && [ -n "$n" ]; then
		r=$(ratio "$a" "$n")
		echo "| copy-up: antares ≤ 1.2 × cp --reflink=auto | ${r}x of cp ($(ratio "$a" "$rn")x of cp + fsync) | $(awk -v r="$r" 'BEGIN { print (r <= 1.2 ? "yes" : "**no**") }') |"
	fi
	a=${MED[rss|$A]:-}
	if [ -n "$a" ]; then
		echo "| RSS after stat-ing $TREE_ENTRIES entries < 64 MiB | $(printf '%.1f' "$a") MiB | $(awk -v a="$a" 'BEGIN { print (a < 64 ? "yes" : "**no**") }') |"
	fi
}

write_report() {
	local md=$1 csv=$2 row stack header sep
	compute_medians
	{
		echo "## Results"
		echo
		machine_info
		echo
		header="| workload |" sep="| --- |"
		for stack in "${STACKS[@]}"; do header="$header $stack |" sep="$sep --- |"; done
		echo "$header"
		echo "$sep"
		for row in $(report_rows); do
			local line
			line="| $(row_label "$row") |"
			for stack in "${STACKS[@]}"; do line="$line $(cell "$row" "$stack") |"; done
			echo "$line"
		done
		echo
		echo "CPU time (user + system) of the workload's processes plus the FUSE daemon, median:"
		echo
		echo "$header"
		echo "$sep"
		for row in $(cpu_rows); do
			local line
			line="| $(row_label "${row%@cpu}") |"
			for stack in "${STACKS[@]}"; do line="$line $(cell "$row" "$stack") |"; done
			echo "$line"
		done
		echo
		echo "### What the rows run"
		echo
		echo "Commands run by \`bash -c\` with \`V\` = the stack's view of the lower (\`linux/\` is the tree, \`data/\` the big file)."
		echo "Readers (stat, git status, read) run twice per mount: the first pass is the \"first pass after mount\" row, the second the warm row."
		echo "Writers get a fresh mount (new upper and work directories) for every run. \`sync\` runs before every timed pass but a reader's warm one."
		echo
		for row in "${SELECTED[@]}"; do echo "- $row — ${WL_LABEL[$row]}: \`${WL_CMD[$row]}\`"; done
		echo "- reference — \`cp --reflink=auto\` of the lower's $BIG_MB MiB file into a directory on the uppers' filesystem (+ \`sync FILE\` for the fsync row)"
		echo "- RSS — VmHWM of the daemon process after the stat passes; unmount to daemon exit — from \`umount\` until the daemon process has exited, after the stat passes; mount to ready — from starting the daemon (or \`mount -t overlay\`) until \`stat\` of the mount point answers from the new filesystem"
		if [ ${#SKIPPED[@]} -gt 0 ]; then
			echo
			for stack in "${SKIPPED[@]}"; do echo "- Skipped $stack"; done
		fi
		local slow
		slow=$(awk -F'\t' '$1 ~ /^exit@/ && $3 > 2000 { sub("exit@", "", $1); n[$1 " / " $2]++
			if ($3 > m[$1 " / " $2]) m[$1 " / " $2] = $3 }
			END { for (k in n) printf "- %s: %d exits slower than 2 s, slowest %.1f s\n", k, n[k], m[k] / 1000 }' "$RAW" | sort)
		if [ -n "$slow" ]; then
			echo
			echo "Daemons that took more than 2 s to exit after the unmount (workload / stack; not counted in any time above):"
			echo
			echo "$slow"
		fi
		echo
		echo "### Targets of the issue"
		echo
		targets
		echo
		echo "### Failures"
		echo
		if [ ${#FAILURES[@]} -eq 0 ]; then
			echo "None."
		else
			for row in "${FAILURES[@]}"; do echo "- $row"; done
		fi
	} >"$md"
	{
		echo "workload,stack,unit,median,ratio_to_native,ok_samples,failed_samples,samples"
		for row in $(report_rows) $(cpu_rows); do
			for stack in "${STACKS[@]}"; do
				[ $((${NOK[$row|$stack]:-0} + ${NFAIL[$row|$stack]:-0})) -gt 0 ] || continue
				local m=${MED[$row|$stack]:-} r=""
				[ "$(row_unit "${row%@cpu}")" = s ] && r=$(ratio "$m" "${MED[$row|native]:-}")
				printf '%s,%s,%s,%s,%s,%s,%s,%s\n' "$row" "$stack" "$(row_unit "${row%@cpu}")" "$m" "$r" \
					"${NOK[$row|$stack]}" "${NFAIL[$row|$stack]}" "$(samples "$row" "$stack" | tr '\n' ' ' | sed 's/ $//')"
			done
		done
	} >"$csv"
}
