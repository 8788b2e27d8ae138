#!/bin/sh
# probe's checks pushed to a Prometheus Pushgateway, for hosts or jobs that
# Prometheus does not scrape (CI runners, short-lived containers, other
# networks).
#
#   pushgateway.sh CHECKS.toml [PUSHGATEWAY_URL]
#
# Runs `probe run CHECKS.toml --format prom` and POSTs the output to
# PUSHGATEWAY_URL/metrics/job/golive_probe/instance/$(hostname) (default URL
# http://localhost:9091). POST replaces the metrics of the same names in that
# group; the Pushgateway adds push_time_seconds, whose age says when pushes
# stopped.
#
# A failing check is what the metrics are for: when probe exits 1, 2 or 3
# (WARNING, CRITICAL, UNKNOWN) the output is still pushed and this script
# exits 0 once the Pushgateway accepted it; probe_success, probe_status and
# probe_duration_seconds say which check failed. When probe exits 64 (bad
# flags or config: no check ran), any other code, or prints nothing, nothing
# is pushed and the script fails, leaving the last push in place.
#
# Exit: 0 pushed; 64 usage (this script's or probe's); 3 probe printed
# nothing; probe's own code when it was none of 0-3 (127: probe not found);
# curl's code when the push failed (22: the Pushgateway answered an HTTP
# error, 7: it could not be reached).
#
# PROBE: the probe binary (default `probe`, from PATH). Secrets the checks
# read through ${VAR} come from the environment, never argv.
set -eu

usage() {
	echo "usage: ${0##*/} CHECKS.toml [PUSHGATEWAY_URL]" >&2
	exit 64
}
case $# in
1 | 2) ;;
*) usage ;;
esac
checks=$1
url=${2:-http://localhost:9091}
[ -n "$checks" ] || usage
[ -n "$url" ] || usage
url=${url%/}
probe=${PROBE:-probe}
instance=$(hostname)

rc=0
metrics=$("$probe" run "$checks" --format prom) || rc=$?

case $rc in
0 | 1 | 2 | 3) ;;
*)
	echo "${0##*/}: probe exited $rc; nothing pushed" >&2
	exit "$rc"
	;;
esac
if [ -z "$metrics" ]; then
	echo "${0##*/}: probe printed nothing (exit $rc); nothing pushed" >&2
	exit 3
fi

# $(…) dropped the last newline; the exposition format needs it back.
printf '%s\n' "$metrics" |
	curl --fail --silent --show-error --max-time 30 \
		--data-binary @- "$url/metrics/job/golive_probe/instance/$instance"
