# shellcheck shell=bash
# Shared by golive-launch.sh and golive-rollback.sh (sourced, not run).

# golive_settings SCRIPT LAST_HELP_LINE [SETTINGS_FILE]: answer -h/--help
# with the script's header comment (lines 2..LAST_HELP_LINE), refuse extra
# arguments (64), and read SETTINGS_FILE, exporting every NAME=value in it.
golive_settings() {
  local script=$1 last=$2 name
  name=$(basename "$script" .sh)
  shift 2
  case "${1:-}" in
    -h | --help) sed -n "2,${last}p" "$script" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
  if [ $# -gt 1 ]; then
    sed -n "2,${last}p" "$script" | sed 's/^# \{0,1\}//' >&2
    exit 64
  fi
  if [ $# -eq 1 ]; then
    [ -r "$1" ] || { echo "$name: cannot read settings file $1" >&2; exit 64; }
    set -a
    # shellcheck disable=SC1090
    . "$1"
    set +a
  fi
}

# golive_dns_args: set the array dns_args to the servers dns-watch asks:
# each of DNS_SERVERS, or the zone's authoritative nameservers when empty.
golive_dns_args() {
  local s
  dns_args=()
  if [ -n "${DNS_SERVERS:-}" ]; then
    for s in $DNS_SERVERS; do dns_args+=(--server "$s"); done
  else
    dns_args+=(--authoritative)
  fi
}
