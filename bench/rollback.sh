#!/usr/bin/env bash
# Benchmark rollback on the launch lab (crates/rollback/examples/rollback-bench.rs:
# HAProxy in front of nginx blue and green under load, Prometheus scraping
# HAProxy every second):
#
#   1. from a guard's CRITICAL verdict to traffic 100% on blue, applied and
#      read back (median of $RUNS guards, green healthy);
#   2. from the fault (green starts answering 500) to traffic back on blue,
#      with a guard every second on the lab's error-rate gate;
#   3. failed requests through HAProxy while the rollbacks of (1) ran.
#
# There is no peer tool that rolls back from a verdict; the goals are the
# issue's. Writes docs/bench/rollback.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN="${GOLIVE_BIN:-target/release}"
RUNS="${RUNS:-15}"
OUT=bench/out/rollback
mkdir -p "$OUT" docs/bench
for tool in wrk haproxy nginx prometheus; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || [ -x "/usr/bin/$tool" ] || { echo "bench/rollback.sh: $tool missing; run make deps" >&2; exit 1; }
done
[ -x "target/release/examples/rollback-bench" ] || cargo build --release -p rollback --example rollback-bench
RUNS="$RUNS" target/release/examples/rollback-bench "$BIN" >"$OUT/figures" || true
get() { sed -n "s/^$1=//p" "$OUT/figures"; }
v2t=$(get verdict_to_traffic_ms)
failed_runs=$(get failed_runs)
f2b=$(get fault_to_blue_ms)
requests=$(get requests)
failed=$(get failed_requests)
is_number "$v2t" || v2t="failed (not measured)"
is_number "$f2b" || f2b="failed (not measured)"
# The rule's window (5 s of rate) + two scrape intervals (1 s each) + 1 s.
f2b_goal=8000
v2t_met=$(goal_met lt "$v2t" 100 "verdict to traffic" "$v2t")
[ "${failed_runs:-1}" = 0 ] || v2t_met="no (run failed: ${failed_runs:-?} of $RUNS guards did not roll back)"
f2b_met=$(goal_met lt "$f2b" "$f2b_goal" "fault to blue" "$f2b")
if is_number "${requests:-}" && [ "${requests:-0}" -gt 0 ] && is_number "${failed:-}"; then
  if [ "$failed" -eq 0 ]; then req_met=yes; else req_met=no; fi
  req_cell="$failed of $requests"
else
  req_met="no (load counts not read)"
  req_cell="not measured"
fi
{
  echo "## rollback"
  echo
  echo "The launch lab: HAProxy $(haproxy -v 2>/dev/null | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p') in front of nginx blue and green under a"
  echo "continuous load, Prometheus scraping HAProxy every 1 s; green live when each"
  echo "rollback starts. \`rollback guard\` runs a plan whose one step is the traffic"
  echo "step (blue=100 through shift, read back). No peer tool rolls back from a"
  echo "verdict: the goals are absolute."
  echo
  echo "| what | golive | goal | met? |"
  echo "|---|---|---|---|"
  echo "| guard's CRITICAL verdict → blue 100% applied and read back (median of $RUNS) | $(with_unit "$v2t" ms) | < 100 ms | $v2t_met |"
  echo "| green starts answering 500 → traffic back on blue (a guard every 1 s, 5xx share over 5 s > 5%) | $(with_unit "$f2b" ms) | < ${f2b_goal} ms (the rule's 5 s window + 2 scrapes + 1 s) | $f2b_met |"
  echo "| failed requests through HAProxy during the healthy rollbacks | $req_cell | 0 | $req_met |"
} >docs/bench/rollback.md
cat docs/bench/rollback.md
