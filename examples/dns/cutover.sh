#!/usr/bin/env bash
# The runbook's DNS cutover and its rollback wait, with dns-watch in place of
# `watch -n 2 'dig api.aidrive.com +short'` and `sleep 30`.
#
#   examples/dns/cutover.sh precheck          # T-1d: TTL short enough to roll back fast?
#   examples/dns/cutover.sh propagate NEW_IP  # T+0:00, after changing the record
#   examples/dns/cutover.sh rollback OLD_IP   # after changing it back
#
# Exit codes are dns-watch's: 0 propagated, 2 not by the deadline (the JSON
# on stdout says which servers lag and what they answer), 3 no server answered.
set -euo pipefail
NAME="${NAME:-api.example.com}"
BIN="${BIN:-dns-watch}"
RESOLVERS="${RESOLVERS:-$(dirname "$0")/resolvers.csv}"

case "${1:-}" in
  precheck)
    # CRITICAL when any authoritative nameserver serves a TTL above 60 s.
    "$BIN" "$NAME" --authoritative --max-ttl 60s --once
    ;;
  propagate)
    new="${2:?usage: $0 propagate NEW_IP}"
    # Every authoritative nameserver first (zone transfers done, serials equal) …
    "$BIN" "$NAME" --expect "$new" --authoritative --timeout 2m > authoritative.json
    # … then the resolvers users sit behind; 90% is enough to start traffic.
    "$BIN" "$NAME" --expect "$new" --servers-file "$RESOLVERS" --quorum 90% --timeout 5m > resolvers.json
    ;;
  rollback)
    old="${2:?usage: $0 rollback OLD_IP}"
    "$BIN" "$NAME" --expect "$old" --authoritative --timeout 1m > rollback-authoritative.json
    "$BIN" "$NAME" --expect "$old" --servers-file "$RESOLVERS" --timeout 3m > rollback-resolvers.json
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 64
    ;;
esac
