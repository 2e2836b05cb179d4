#!/bin/bash
# Every failure names its root cause: when copy-up cannot read a lower file, the application
# gets the real errno (not ENOSYS, not a vague EIO), the daemon logs one line naming the
# operation, path, layer, syscall and errno, no debris is left, and the mount keeps working.
. "$(dirname "$0")/../lib.sh"
command -v setpriv >/dev/null || fail "setpriv is not installed (util-linux)"
make_layers

echo secret > "$T/lower1/locked"
chmod 000 "$T/lower1/locked"
echo fine > "$T/lower1/open"
# Without DAC override the daemon (uid 0, owner of the files) is bound by mode 000.
OVERLAYD_WRAPPER="setpriv --bounding-set=-dac_override,-dac_read_search --inh-caps=-all --"
ovl_mount "$T/mnt" "$OVL_OPTS"
log="$T/daemon.mnt.log"

err=$( { echo more >> "$T/mnt/locked"; } 2>&1 ) && fail "append to an unreadable lower file succeeded"
case "$err" in
*"Permission denied"*) ;;
*) fail "application saw '$err', want Permission denied" ;;
esac
line=$(grep 'copy-up locked' "$log" || true)
[ -n "$line" ] || { cat "$log" >&2; fail "no log line names the failed copy-up"; }
note "daemon log: $line"
for word in "lower layer 0" "$T/lower1" openat "Permission denied"; do
	case "$line" in *"$word"*) ;; *) fail "log line lacks '$word': $line" ;; esac
done
[ "$(grep -c 'copy-up locked' "$log")" = 1 ] || fail "the failure was logged more than once"
[ ! -e "$T/upper/locked" ] || fail "a partial copy reached the upper layer"
[ -z "$(ls -A "$T/work/work")" ] || fail "copy-up debris left in the work directory: $(ls -A "$T/work/work")"

echo more >> "$T/mnt/open" || fail "the mount stopped working after a failed copy-up"
[ "$(cat "$T/mnt/open")" = "$(printf 'fine\nmore')" ] || fail "content after append wrong"
ovl_umount "$T/mnt"
