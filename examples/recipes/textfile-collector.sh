#!/bin/sh
# probe's checks as metrics for node_exporter's textfile collector.
#
#   textfile-collector.sh CHECKS.toml [DIR]
#
# Runs `probe run CHECKS.toml --format prom` and replaces DIR/golive_probe.prom
# atomically (a temp file in DIR, then mv), so node_exporter never reads half
# a file. DIR defaults to /var/lib/prometheus/node-exporter, the directory
# Debian's prometheus-node-exporter reads (--collector.textfile.directory).
#
# A failing check is what the metrics are for: when probe exits 1, 2 or 3
# (WARNING, CRITICAL, UNKNOWN) the file is still replaced and this script
# exits 0; probe_success, probe_status and probe_duration_seconds say which
# check failed. When probe exits 64 (bad flags or config: no check ran), any
# other code, or prints nothing, the old file is left alone and the script
# fails: node_textfile_mtime_seconds{file=".../golive_probe.prom"} then stops
# moving, and an alert on its age catches that.
#
# Exit: 0 file replaced; 64 usage (this script's or probe's); 3 probe printed
# nothing; probe's own code when it was none of 0-3 (127: probe not found);
# the failing command's code when the temp file cannot be written or moved.
#
# PROBE: the probe binary (default `probe`, from PATH). Secrets the checks
# read through ${VAR} come from the environment (systemd's EnvironmentFile=,
# or `set -a; . /etc/golive/preflight.env; set +a` in cron), never argv.
set -eu

usage() {
	echo "usage: ${0##*/} CHECKS.toml [DIR]" >&2
	exit 64
}
case $# in
1 | 2) ;;
*) usage ;;
esac
checks=$1
dir=${2:-/var/lib/prometheus/node-exporter}
[ -n "$checks" ] || usage
probe=${PROBE:-probe}

if [ ! -d "$dir" ]; then
	echo "${0##*/}: $dir is not a directory" >&2
	exit 64
fi

# Same directory as the target, so mv is a rename(2); a name not ending in
# .prom, so node_exporter skips it while it is being written.
tmp=$(mktemp "$dir/.golive_probe.prom.XXXXXX")
trap 'rm -f "$tmp"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

rc=0
"$probe" run "$checks" --format prom >"$tmp" || rc=$?

case $rc in
0 | 1 | 2 | 3) ;;
*)
	echo "${0##*/}: probe exited $rc; $dir/golive_probe.prom left as it was" >&2
	exit "$rc"
	;;
esac
if [ ! -s "$tmp" ]; then
	echo "${0##*/}: probe printed nothing (exit $rc); $dir/golive_probe.prom left as it was" >&2
	exit 3
fi

# mktemp makes the file 0600; node_exporter may run as another user.
chmod 0644 "$tmp"
mv -f "$tmp" "$dir/golive_probe.prom"
