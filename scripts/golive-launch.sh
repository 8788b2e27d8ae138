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
# is kept in EVIDENCE_DIR, with the launch's timeline (timeline.ndjson, every
# event told to the plan's [[notify]] targets by `rollback notify`), its
# status page (status.json, status.html) and, at the end, the post-launch
# report (report/report.html, from REPORT_RULES).
#
# One EVIDENCE_DIR is one launch. Run again with the same settings after the
# script died (SSH dropped, the host rebooted), it resumes the same launch at
# the phase it was in: phases passed are not repeated (never a second DNS
# cutover), traffic is set to the phase's split again and read back, the
# phase's gate is watched anew, and the timeline records the interruption
# and the resume. A second launch on the same EVIDENCE_DIR while one runs is
# refused (exit 3); one that already ended is refused (exit 64).
#
# Usage: golive-launch.sh [SETTINGS_FILE]
#   SETTINGS_FILE holds NAME=value lines (see examples/launch.env); settings
#   may also come from the environment. Required: SHIFT_CONFIG, PROMETHEUS_URL,
#   ROLLBACK_PLAN.
#
# Exit: 0 launched; 2 not launched (preflight or dns pre-check failed) or
# rolled back; 3 a rollback did not complete (the state is unknown) or another
# launch holds EVIDENCE_DIR; 64 usage, or this launch already ended.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/golive-lib.sh
. "$here/golive-lib.sh"
golive_settings "${BASH_SOURCE[0]}" 36 "$@"

: "${GOLIVE_BIN:=$here/../target/release}"
: "${EVIDENCE_DIR:=./golive-evidence/launch}"
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
: "${REPORT_RULES:=$here/../examples/gates/report.toml}"   # empty: no report
: "${GOLIVE_SERVICE:=${DNS_NAME:-service}}"

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
GOLIVE_PHASES="preflight,dns,soft-launch,rollout-$RAMP_PERCENT,rollout-100,monitoring"
export GOLIVE_BIN EVIDENCE_DIR SHIFT_CONFIG BLUE GREEN PROMETHEUS_URL \
  DNS_NAME DNS_EXPECT_BEFORE DNS_SERVERS GOLIVE_PHASES GOLIVE_SERVICE

mkdir -p "$EVIDENCE_DIR" || exit 64
TIMELINE="$EVIDENCE_DIR/timeline.ndjson"
log() { printf '%s golive-launch: %s\n' "$(date -u +%H:%M:%SZ)" "$*" >&2; }

# One launch at a time on this EVIDENCE_DIR; the tools run without the lock's
# descriptor, so a tool left running by a killed script never holds it.
exec 9>>"$EVIDENCE_DIR/launch.lock"
if ! flock -n 9; then
  log "another launch is running on $EVIDENCE_DIR (it holds $EVIDENCE_DIR/launch.lock): not starting a second one"
  exit 3
fi
# Evidence numbering goes on where an interrupted run left it.
step=$(find "$EVIDENCE_DIR" -maxdepth 1 -name '[0-9][0-9]-*.json' | wc -l)
current_phase=preflight

# run NAME CMD...: run a golive tool with its report kept as evidence; return its exit code.
run() {
  local name=$1 out rc
  shift
  step=$((step + 1))
  out="$EVIDENCE_DIR/$(printf '%02d' "$step")-$name.json"
  last_report=$out
  "$@" >"$out" 9>&-
  rc=$?
  log "$name: exit $rc ($out)"
  return $rc
}

# summary: the last report's summary document (an ndjson stream's last line).
summary() {
  tail -n 1 "$last_report" >"$EVIDENCE_DIR/.summary.json" 9>&-
  printf '%s' "$EVIDENCE_DIR/.summary.json"
}

# event PHASE EVENT STATUS MESSAGE [rollback notify flags]: one line in the
# timeline and the status page, told to the plan's notify targets, printed.
event() {
  local phase=$1 ev=$2 status=$3 msg=$4 line rc
  shift 4
  current_phase=$phase
  line=$("$GOLIVE_BIN/rollback" notify --plan "$ROLLBACK_PLAN" --evidence "$EVIDENCE_DIR" \
    --phase "$phase" --event "$ev" --status "$status" --message "$msg" --format text "$@" 9>&-)
  rc=$?
  [ -n "$line" ] && printf '%s\n' "$line" >&2
  case $rc in
    0) ;;
    1) log "a notify target did not take: $msg (the timeline has it)" ;;
    *) log "WARNING: not in the timeline (rollback notify exit $rc): $msg" ;;
  esac
}

# seen PHASE EVENT: the timeline holds that event.
seen() { [ -f "$TIMELINE" ] && grep -q "\"phase\":\"$1\",\"event\":\"$2\"" "$TIMELINE"; }

report() {
  [ -n "$REPORT_RULES" ] || return 0
  if "$GOLIVE_BIN/metric-gate" report --timeline "$TIMELINE" --rules "$REPORT_RULES" \
    --prometheus "$PROMETHEUS_URL" --out "$EVIDENCE_DIR/report" >"$EVIDENCE_DIR/.report.json" 9>&-; then
    log "post-launch report: $EVIDENCE_DIR/report/report.html"
  else
    log "the post-launch report could not be written (see $EVIDENCE_DIR/.report.json)"
  fi
}

rollback() {
  log "ROLLBACK: $*"
  local rc
  event "$current_phase" rollback-started critical "rollback initiated: $*"
  run rollback "$GOLIVE_BIN/rollback" run --plan "$ROLLBACK_PLAN" --reason "$*"
  rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 1 ]; then
    event "$current_phase" rollback-finished ok "rollback complete: traffic, DNS and services back and verified" \
      --figures-from "$last_report"
    log "rolled back (rollback exit $rc); evidence in $EVIDENCE_DIR"
    report
    exit 2
  fi
  event "$current_phase" rollback-finished critical "the rollback did not complete (exit $rc): state unknown, act by hand" \
    --figures-from "$last_report"
  log "the rollback did not complete (exit $rc): state unknown, act by hand"
  report
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

# gate NAME PHASE RULES INTERVAL DURATION: watch; continue, pause or roll back.
gate() {
  local name=$1 phase=$2 rules=$3 interval=$4 duration=$5 pauses=0 rc
  while :; do
    run "gate-$name" "$GOLIVE_BIN/metric-gate" watch --prometheus "$PROMETHEUS_URL" \
      --rules "$rules" --interval "$interval" --duration "$duration" --format ndjson
    rc=$?
    case $rc in
      0)
        log "$name: CONTINUE"
        event "$phase" checkpoint ok "gate: continue after $duration" --figures-from "$(summary)"
        return 0
        ;;
      2)
        event "$phase" failed critical "metric gate says roll back" --figures-from "$(summary)"
        rollback "$name: metric gate says roll back"
        ;;
      1 | 3)
        pauses=$((pauses + 1))
        event "$phase" paused warning "gate: pause (exit $rc), watching again ($pauses of $PAUSES_ALLOWED)" \
          --figures-from "$(summary)"
        if [ "$pauses" -gt "$PAUSES_ALLOWED" ]; then
          rollback "$name: not healthy after $PAUSES_ALLOWED pauses (last exit $rc)"
        fi
        log "$name: PAUSE (exit $rc), watching again ($pauses of $PAUSES_ALLOWED)"
        ;;
      *) rollback "$name: metric-gate could not run (exit $rc)" ;;
    esac
  done
}

# traffic_phase PHASE NAME PERCENT RULES INTERVAL DURATION: GREEN to PERCENT,
# then its gate — or nothing when the timeline says the phase passed.
traffic_phase() {
  local phase=$1 name=$2 pct=$3
  shift 3
  seen "$phase" passed && return 0
  if seen "$phase" started; then
    log "$phase: resuming: traffic set to $GREEN=$pct% again and read back, then the gate anew"
  fi
  current_phase=$phase
  shift_to "$pct"
  event "$phase" started ok "traffic at $GREEN=$pct%"
  gate "$name" "$phase" "$@"
  event "$phase" passed ok "$phase complete: $GREEN at $pct%, gate passed"
}

golive_dns_args

log "evidence: $EVIDENCE_DIR"

# A timeline already here: this launch ended, or it is resumed.
if [ -s "$TIMELINE" ]; then
  if seen monitoring passed || grep -q '"event":"rollback-finished"' "$TIMELINE"; then
    log "the launch in $EVIDENCE_DIR already ended (see $TIMELINE): give a new EVIDENCE_DIR for a new one"
    exit 64
  fi
  last_phase=$(tail -n 1 "$TIMELINE" | sed -n 's/.*"phase":"\([^"]*\)".*/\1/p')
  if ! tail -n 1 "$TIMELINE" | grep -q '"event":"interrupted"'; then
    event "${last_phase:-preflight}" interrupted warning "the launch stopped before it finished (its process ended)"
  fi
  event "${last_phase:-preflight}" resumed ok "resumed at ${last_phase:-preflight}: phases passed are not repeated"
  if grep -q '"event":"rollback-started"' "$TIMELINE"; then
    rollback "resuming the rollback that was interrupted"
  fi
fi
trap 'event "$current_phase" interrupted warning "stopped by a signal"; exit 130' INT TERM HUP

# T-1h: preflight. Nothing has changed yet, so a failure stops without a rollback.
if ! seen preflight passed; then
  event preflight started ok "preflight: the T-1h checks"
  if [ -n "$PREFLIGHT" ]; then
    if ! run preflight "$GOLIVE_BIN/probe" run "$PREFLIGHT"; then
      event preflight failed critical "preflight failed: not launching" --figures-from "$last_report"
      log "preflight failed: not launching"
      exit 2
    fi
  fi
  # The rollback must work the first time it is needed: its plan loads and
  # every step can say what it would do, before anything changes.
  if ! run rollback-dry-run "$GOLIVE_BIN/rollback" run --plan "$ROLLBACK_PLAN" --dry-run; then
    event preflight failed critical "the rollback plan does not dry-run cleanly: not launching"
    log "the rollback plan $ROLLBACK_PLAN does not dry-run cleanly: not launching"
    exit 2
  fi
  event preflight passed ok "preflight passed: all systems ready, the rollback dry-runs cleanly" \
    ${PREFLIGHT:+--figures-from "$EVIDENCE_DIR/$(printf '%02d' $((step - 1)))-preflight.json"}
fi

if [ -n "$DNS_NAME" ] && ! seen dns passed; then
  current_phase=dns
  if ! seen dns cutover; then
    expect_before=()
    [ -n "$DNS_EXPECT_BEFORE" ] && expect_before=(--expect "$DNS_EXPECT_BEFORE")
    if ! run dns-precheck "$GOLIVE_BIN/dns-watch" "$DNS_NAME" "${expect_before[@]}" \
      --max-ttl "$DNS_MAX_TTL" "${dns_args[@]}" --once; then
      event dns failed critical "DNS pre-check failed: not launching" --figures-from "$last_report"
      log "dns pre-check failed: not launching"
      exit 2
    fi
    event dns started ok "DNS pre-check passed: TTL at most $DNS_MAX_TTL"
    # T+0: the cutover, once: a resumed launch never repeats it.
    if [ -n "$DNS_CUTOVER_CMD" ]; then
      log "dns cutover: $DNS_CUTOVER_CMD"
      sh -c "$DNS_CUTOVER_CMD" 9>&- || rollback "dns cutover command failed"
    fi
    event dns cutover ok "DNS cutover: $DNS_NAME to $DNS_EXPECT"
  else
    log "dns: the cutover already ran in this launch; watching its propagation again"
  fi
  dns_t0=$(date +%s)
  run dns-propagation "$GOLIVE_BIN/dns-watch" "$DNS_NAME" --expect "$DNS_EXPECT" \
    "${dns_args[@]}" --timeout "$DNS_TIMEOUT" --format ndjson ||
    rollback "dns: $DNS_NAME did not answer $DNS_EXPECT everywhere within $DNS_TIMEOUT"
  event dns passed ok "DNS cutover complete: every server answers $DNS_EXPECT ($(( $(date +%s) - dns_t0 ))s to propagate)" \
    --figure "propagation_s=$(( $(date +%s) - dns_t0 ))" --figures-from "$(summary)"
fi

# T+0:05 soft launch, T+2h ramp, T+6h full, then a day of watching.
traffic_phase soft-launch soft-launch "$SOFT_PERCENT" "$SOFT_GATE" "$SOFT_INTERVAL" "$SOFT_WATCH"
traffic_phase "rollout-$RAMP_PERCENT" "ramp-$RAMP_PERCENT" "$RAMP_PERCENT" "$RAMP_GATE" "$RAMP_INTERVAL" "$RAMP_WATCH"
if ! seen rollout-100 passed; then
  current_phase=rollout-100
  shift_to 100
  event rollout-100 passed ok "traffic at $GREEN=100%"
fi
current_phase=monitoring
seen monitoring started || event monitoring started ok "watching $GREEN at 100% for $FULL_WATCH"
gate full monitoring "$FULL_GATE" "$FULL_INTERVAL" "$FULL_WATCH"
event monitoring passed ok "LAUNCHED: $GREEN at 100%, healthy for $FULL_WATCH"

log "LAUNCHED: $GREEN at 100%, healthy for $FULL_WATCH; evidence in $EVIDENCE_DIR"
report
exit 0
