#!/usr/bin/env bash
# golive-launch — the go-live runbook's timeline as one script:
#
#   T-1h   preflight      probe run PREFLIGHT                   every check must pass
#          dns pre-check  dns-watch DNS_NAME --max-ttl 60s --once    TTL short enough
#   T+0    dns cutover    DNS_CUTOVER_CMD, then dns-watch until every server
#                         answers DNS_EXPECT (no `watch dig`, no blind sleep)
#   T+0:05 soft launch    shift GREEN to SOFT_PERCENT (1%), metric-gate watch SOFT_GATE
#   T+2h   ramp           shift GREEN to RAMP_PERCENT (25%), metric-gate watch RAMP_GATE
#   T+6h   full           shift GREEN to 100%, metric-gate watch FULL_GATE for a day
#
# Every decision is an exit code: 0 continue; 1 pause and watch again; 3 no
# evidence, watch again; 2 roll back. More than PAUSES_ALLOWED pauses in a row
# in one phase also roll back. Rolling back runs `rollback run --plan ROLLBACK_PLAN`,
# whose --dry-run must pass at T-1h before anything changes. Each step's report
# is kept in EVIDENCE_DIR.
#
# Usage: golive-launch.sh [SETTINGS_FILE]
#   SETTINGS_FILE holds NAME=value lines (see examples/launch.env); settings
#   may also come from the environment. Required: SHIFT_CONFIG, PROMETHEUS_URL,
#   ROLLBACK_PLAN.
#
# Exit: 0 launched; 2 not launched (preflight or dns pre-check failed) or
# rolled back; 3 a rollback did not complete, the state is unknown; 64 usage.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/golive-lib.sh
. "$here/golive-lib.sh"
golive_settings "${BASH_SOURCE[0]}" 24 "$@"

: "${GOLIVE_BIN:=$here/../target/release}"
: "${EVIDENCE_DIR:=./golive-evidence/$(date -u +%Y%m%dT%H%M%SZ)}"
: "${PREFLIGHT:=}"
: "${DNS_NAME:=}"
: "${DNS_EXPECT:=}"
: "${DNS_EXPECT_BEFORE:=}"
: "${DNS_SERVERS:=}"             # space-separated ADDR[:PORT]; empty = the zone's NS set
: "${DNS_CUTOVER_CMD:=}"
: "${DNS_MAX_TTL:=60s}"
: "${DNS_TIMEOUT:=10m}"
: "${SHIFT_CONFIG:=}"
: "${BLUE:=blue}"
: "${GREEN:=green}"
: "${PROMETHEUS_URL:=}"
: "${SOFT_PERCENT:=1}"
: "${SOFT_GATE:=$here/../examples/gates/soft-launch.toml}"
: "${SOFT_INTERVAL:=10s}"
: "${SOFT_WATCH:=1h}"
: "${RAMP_PERCENT:=25}"
: "${RAMP_GATE:=$here/../examples/gates/rollout-25.toml}"
: "${RAMP_INTERVAL:=30s}"
: "${RAMP_WATCH:=4h}"
: "${FULL_GATE:=$here/../examples/gates/rollout-100.toml}"
: "${FULL_INTERVAL:=5m}"
: "${FULL_WATCH:=24h}"
: "${PAUSES_ALLOWED:=2}"
: "${ROLLBACK_PLAN:=}"

[ -n "$SHIFT_CONFIG" ] || { echo "golive-launch: set SHIFT_CONFIG (a shift.toml)" >&2; exit 64; }
[ -n "$PROMETHEUS_URL" ] || { echo "golive-launch: set PROMETHEUS_URL" >&2; exit 64; }
[ -n "$ROLLBACK_PLAN" ] || { echo "golive-launch: set ROLLBACK_PLAN (the rollback a failing gate runs; docs/rollback.md)" >&2; exit 64; }
if [ -n "$DNS_NAME" ] && [ -z "$DNS_EXPECT" ]; then
  echo "golive-launch: DNS_NAME needs DNS_EXPECT (the value after the cutover)" >&2
  exit 64
fi
for t in probe dns-watch metric-gate shift rollback; do
  [ -x "$GOLIVE_BIN/$t" ] || { echo "golive-launch: $GOLIVE_BIN/$t not found (make build, or set GOLIVE_BIN)" >&2; exit 64; }
done
export GOLIVE_BIN EVIDENCE_DIR SHIFT_CONFIG BLUE GREEN PROMETHEUS_URL \
  DNS_NAME DNS_EXPECT_BEFORE DNS_SERVERS

mkdir -p "$EVIDENCE_DIR" || exit 64
step=0
log() { printf '%s golive-launch: %s\n' "$(date -u +%H:%M:%SZ)" "$*" >&2; }

# run NAME CMD...: run a golive tool with its report kept as evidence; return its exit code.
run() {
  local name=$1 out rc
  shift
  step=$((step + 1))
  out="$EVIDENCE_DIR/$(printf '%02d' "$step")-$name.json"
  "$@" >"$out"
  rc=$?
  log "$name: exit $rc ($out)"
  return $rc
}

rollback() {
  log "ROLLBACK: $*"
  local rc
  run rollback "$GOLIVE_BIN/rollback" run --plan "$ROLLBACK_PLAN" --reason "$*"
  rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 1 ]; then
    log "rolled back (rollback exit $rc); evidence in $EVIDENCE_DIR"
    exit 2
  fi
  log "the rollback did not complete (exit $rc): state unknown, act by hand"
  exit 3
}

# shift_to PERCENT: GREEN to PERCENT, verified; a failed shift rolls back.
shift_to() {
  local pct=$1 rc
  run "shift-$GREEN-$pct" "$GOLIVE_BIN/shift" set --config "$SHIFT_CONFIG" \
    --split "$BLUE=$((100 - pct)),$GREEN=$pct" --reason "launch: $GREEN to $pct%"
  rc=$?
  case $rc in
    0) ;;
    # Applied and read back; something after it failed (the HAProxy state
    # file was not saved): traffic is where it was asked to be.
    1) log "shift to $GREEN=$pct%: applied and read back, with a warning (see shift-$GREEN-$pct.json)" ;;
    2) rollback "shift to $GREEN=$pct% failed" ;;
    *) rollback "shift to $GREEN=$pct% left the split unknown (exit $rc)" ;;
  esac
}

# gate PHASE RULES INTERVAL DURATION: watch; continue, pause or roll back.
gate() {
  local phase=$1 rules=$2 interval=$3 duration=$4 pauses=0 rc
  while :; do
    run "gate-$phase" "$GOLIVE_BIN/metric-gate" watch --prometheus "$PROMETHEUS_URL" \
      --rules "$rules" --interval "$interval" --duration "$duration" --format ndjson
    rc=$?
    case $rc in
      0) log "$phase: CONTINUE"; return 0 ;;
      2) rollback "$phase: metric gate says roll back" ;;
      1 | 3)
        pauses=$((pauses + 1))
        if [ "$pauses" -gt "$PAUSES_ALLOWED" ]; then
          rollback "$phase: not healthy after $PAUSES_ALLOWED pauses (last exit $rc)"
        fi
        log "$phase: PAUSE (exit $rc), watching again ($pauses of $PAUSES_ALLOWED)"
        ;;
      *) rollback "$phase: metric-gate could not run (exit $rc)" ;;
    esac
  done
}

golive_dns_args

log "evidence: $EVIDENCE_DIR"

# T-1h: preflight. Nothing has changed yet, so a failure stops without a rollback.
if [ -n "$PREFLIGHT" ]; then
  run preflight "$GOLIVE_BIN/probe" run "$PREFLIGHT" ||
    { log "preflight failed: not launching"; exit 2; }
fi
# The rollback must work the first time it is needed: its plan loads and
# every step can say what it would do, before anything changes.
run rollback-dry-run "$GOLIVE_BIN/rollback" run --plan "$ROLLBACK_PLAN" --dry-run ||
  { log "the rollback plan $ROLLBACK_PLAN does not dry-run cleanly: not launching"; exit 2; }

if [ -n "$DNS_NAME" ]; then
  expect_before=()
  [ -n "$DNS_EXPECT_BEFORE" ] && expect_before=(--expect "$DNS_EXPECT_BEFORE")
  run dns-precheck "$GOLIVE_BIN/dns-watch" "$DNS_NAME" "${expect_before[@]}" \
    --max-ttl "$DNS_MAX_TTL" "${dns_args[@]}" --once ||
    { log "dns pre-check failed: not launching"; exit 2; }
  # T+0: the cutover, and its propagation.
  if [ -n "$DNS_CUTOVER_CMD" ]; then
    log "dns cutover: $DNS_CUTOVER_CMD"
    sh -c "$DNS_CUTOVER_CMD" || rollback "dns cutover command failed"
  fi
  run dns-propagation "$GOLIVE_BIN/dns-watch" "$DNS_NAME" --expect "$DNS_EXPECT" \
    "${dns_args[@]}" --timeout "$DNS_TIMEOUT" --format ndjson ||
    rollback "dns: $DNS_NAME did not answer $DNS_EXPECT everywhere within $DNS_TIMEOUT"
fi

# T+0:05 soft launch, T+2h ramp, T+6h full.
shift_to "$SOFT_PERCENT"
gate soft-launch "$SOFT_GATE" "$SOFT_INTERVAL" "$SOFT_WATCH"
shift_to "$RAMP_PERCENT"
gate "ramp-$RAMP_PERCENT" "$RAMP_GATE" "$RAMP_INTERVAL" "$RAMP_WATCH"
shift_to 100
gate full "$FULL_GATE" "$FULL_INTERVAL" "$FULL_WATCH"

log "LAUNCHED: $GREEN at 100%, healthy for $FULL_WATCH; evidence in $EVIDENCE_DIR"
exit 0
