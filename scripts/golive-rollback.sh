#!/usr/bin/env bash
# golive-rollback — put traffic, DNS and services back on the old version,
# verify, keep the evidence, notify. It must work the first time it is ever
# needed, so every step is a tool with an exit code and nothing sleeps blindly.
#
#   1. notify     NOTIFY_CMD reads "rollback initiated: REASON" on stdin
#   2. traffic    shift set --split BLUE=100          journaled, read back
#   3. dns        DNS_ROLLBACK_CMD, then dns-watch until every server answers
#                 DNS_EXPECT_BEFORE again (instead of `sleep 30`)
#   4. services   SERVICES_CMD (e.g. stop the new version, start the old one)
#   5. verify     probe http VERIFY_URL, VERIFY_TRIES tries 2 s apart
#                 (the runbook's "10 tries, 2 s apart")
#   6. evidence   shift status and history, EVIDENCE_CMD, a metric-gate
#                 snapshot of SNAPSHOT_RULES, all in EVIDENCE_DIR
#   7. notify     the outcome
#
# Usage: golive-rollback.sh [SETTINGS_FILE]
#   Settings (NAME=value lines in SETTINGS_FILE, or the environment):
#   SHIFT_CONFIG (required), BLUE (blue), ROLLBACK_REASON, GOLIVE_BIN,
#   EVIDENCE_DIR, DNS_NAME, DNS_EXPECT_BEFORE, DNS_ROLLBACK_CMD, DNS_SERVERS,
#   DNS_TIMEOUT (5m), SERVICES_CMD, VERIFY_URL, VERIFY_HEADER ("Name: value"),
#   VERIFY_TRIES (10), EVIDENCE_CMD, PROMETHEUS_URL, SNAPSHOT_RULES, NOTIFY_CMD.
#
# Exit: 0 rolled back and verified; 1 rolled back and verified, but notifying
# or keeping evidence failed; 2 a step failed (the message says which; traffic
# stays where that step left it); 3 the traffic split is unknown; 64 usage.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/golive-lib.sh
. "$here/golive-lib.sh"
golive_settings "${BASH_SOURCE[0]}" 28 "$@"

: "${GOLIVE_BIN:=$here/../target/release}"
: "${EVIDENCE_DIR:=./golive-evidence/rollback-$(date -u +%Y%m%dT%H%M%SZ)}"
: "${SHIFT_CONFIG:=}"
: "${BLUE:=blue}"
: "${ROLLBACK_REASON:=manual rollback}"
: "${DNS_NAME:=}"
: "${DNS_EXPECT_BEFORE:=}"
: "${DNS_ROLLBACK_CMD:=}"
: "${DNS_SERVERS:=}"
: "${DNS_TIMEOUT:=5m}"
: "${SERVICES_CMD:=}"
: "${VERIFY_URL:=}"
: "${VERIFY_HEADER:=}"
: "${VERIFY_TRIES:=10}"
: "${EVIDENCE_CMD:=}"
: "${PROMETHEUS_URL:=}"
: "${SNAPSHOT_RULES:=}"
: "${NOTIFY_CMD:=}"

[ -n "$SHIFT_CONFIG" ] || { echo "golive-rollback: set SHIFT_CONFIG (a shift.toml)" >&2; exit 64; }
[ -x "$GOLIVE_BIN/shift" ] || { echo "golive-rollback: $GOLIVE_BIN/shift not found (make build, or set GOLIVE_BIN)" >&2; exit 64; }
mkdir -p "$EVIDENCE_DIR" || exit 64

log() { printf '%s golive-rollback: %s\n' "$(date -u +%H:%M:%SZ)" "$*" >&2; }
minor_failed=0

notify() {
  [ -n "$NOTIFY_CMD" ] || return 0
  if ! printf '%s\n' "$*" | sh -c "$NOTIFY_CMD"; then
    log "notify failed (the rollback goes on): $NOTIFY_CMD"
    minor_failed=1
  fi
}

fail() {
  local code=$1
  shift
  log "FAILED: $*"
  notify "rollback FAILED: $* (evidence: $EVIDENCE_DIR)"
  exit "$code"
}

log "rollback initiated: $ROLLBACK_REASON (evidence: $EVIDENCE_DIR)"
notify "rollback initiated: $ROLLBACK_REASON"

# 2. Traffic: all of it to blue. Called by path: `shift` is a bash builtin.
"$GOLIVE_BIN/shift" set --config "$SHIFT_CONFIG" --split "$BLUE=100" \
  --reason "rollback: $ROLLBACK_REASON" >"$EVIDENCE_DIR/rollback-shift.json"
rc=$?
case $rc in
  0) log "traffic: $BLUE=100, applied and read back" ;;
  1) log "traffic: $BLUE=100, applied and read back; something after it failed (see $EVIDENCE_DIR/rollback-shift.json)"
     minor_failed=1 ;;
  2) fail 2 "traffic: shift to $BLUE=100 failed, the previous split is kept" ;;
  *) fail 3 "traffic: shift left the split unknown (exit $rc)" ;;
esac

# 3. DNS back, watched until every server answers the old value.
if [ -n "$DNS_ROLLBACK_CMD" ]; then
  log "dns: $DNS_ROLLBACK_CMD"
  sh -c "$DNS_ROLLBACK_CMD" || fail 2 "dns: the rollback command failed"
fi
if [ -n "$DNS_NAME" ] && [ -n "$DNS_EXPECT_BEFORE" ]; then
  golive_dns_args
  "$GOLIVE_BIN/dns-watch" "$DNS_NAME" --expect "$DNS_EXPECT_BEFORE" "${dns_args[@]}" \
    --timeout "$DNS_TIMEOUT" >"$EVIDENCE_DIR/rollback-dns.json" ||
    fail 2 "dns: $DNS_NAME does not answer $DNS_EXPECT_BEFORE everywhere after $DNS_TIMEOUT"
  log "dns: $DNS_NAME answers $DNS_EXPECT_BEFORE everywhere"
fi

# 4. Services.
if [ -n "$SERVICES_CMD" ]; then
  log "services: $SERVICES_CMD"
  sh -c "$SERVICES_CMD" || fail 2 "services: command failed"
fi

# 5. Verify the old version answers.
if [ -n "$VERIFY_URL" ]; then
  verify=("$GOLIVE_BIN/probe" http "$VERIFY_URL" --retries "$((VERIFY_TRIES - 1))" --interval 2s)
  [ -n "$VERIFY_HEADER" ] && verify+=(--header "$VERIFY_HEADER")
  "${verify[@]}" >"$EVIDENCE_DIR/rollback-verify.json"
  rc=$?
  # 1 is a WARNING (slow, say): it answers, which is what a rollback needs.
  [ $rc -le 1 ] || fail 2 "verify: $VERIFY_URL not healthy after $VERIFY_TRIES tries (exit $rc)"
  log "verify: $VERIFY_URL answers"
fi

# 6. Evidence. A failure here does not undo the rollback; it makes the exit 1.
"$GOLIVE_BIN/shift" status --config "$SHIFT_CONFIG" >"$EVIDENCE_DIR/rollback-status.json" || minor_failed=1
"$GOLIVE_BIN/shift" history --config "$SHIFT_CONFIG" >"$EVIDENCE_DIR/rollback-history.json" || minor_failed=1
if [ -n "$EVIDENCE_CMD" ]; then
  (cd "$EVIDENCE_DIR" && sh -c "$EVIDENCE_CMD") || { log "evidence command failed"; minor_failed=1; }
fi
if [ -n "$PROMETHEUS_URL" ] && [ -n "$SNAPSHOT_RULES" ]; then
  # Any verdict is evidence; only a failure to run (64 and up) counts.
  "$GOLIVE_BIN/metric-gate" check --prometheus "$PROMETHEUS_URL" --rules "$SNAPSHOT_RULES" \
    >"$EVIDENCE_DIR/rollback-metrics.json"
  [ $? -le 3 ] || minor_failed=1
fi

notify "rollback done and verified: $ROLLBACK_REASON (evidence: $EVIDENCE_DIR)"
log "done; evidence in $EVIDENCE_DIR"
exit "$minor_failed"
