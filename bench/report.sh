#!/usr/bin/env bash
# metric-gate report vs promtool: the post-launch report of a 24-hour launch
# at 15 s resolution (4 charts of 10 series, 5 table queries, a timeline of
# 8 events), written by one `metric-gate report`, against fetching the same
# 9 series sets with sequential `promtool query range` calls (the data alone,
# nothing rendered). Goal from the issue: under 2 s.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN="${GOLIVE_BIN:-target/release}"
RUNS="${RUNS:-5}"
export RUNS
prometheus_bench_setup

# 24 hours ending two hours ago, every 15 s: 10 instances × 4 gauges.
now=$(date +%s)
end=$(( (now - 2 * 3600) / 60 * 60 ))
start=$(( end - 24 * 3600 ))
awk -v s="$start" -v e="$end" 'BEGIN {
  split("bench_error_ratio bench_latency_seconds bench_rps bench_weight", m, " ")
  for (k = 1; k <= 4; k++) {
    printf "# TYPE %s gauge\n", m[k]
    for (i = 1; i <= 10; i++) {
      for (t = s; t <= e; t += 15) {
        if (k == 1) v = (t - s > 20 * 3600 && t - s < 20.5 * 3600) ? 0.08 : 0.002 * i
        else if (k == 2) v = 0.05 + 0.01 * i + 0.02 * sin((t - s) / 3600)
        else if (k == 3) v = 50 + 5 * i + 20 * sin((t - s) / 7200)
        else v = (t - s < 3600) ? 1 : (t - s < 6 * 3600) ? 25 : 100
        printf "%s{instance=\"i%02d\"} %g %d\n", m[k], i, v, t
      }
    }
  }
  print "# EOF"
}' > "$work/history.om"
promtool tsdb create-blocks-from openmetrics "$work/history.om" "$work/data" >/dev/null
start_prometheus "$work"

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000Z; }
ev() { printf '{"time":"%s","phase":"%s","event":"%s","status":"%s","message":"%s"}\n' "$(iso "$1")" "$2" "$3" "$4" "$5"; }
{
  ev "$start" preflight passed ok "all systems ready"
  ev $((start + 600)) dns passed ok "DNS cutover complete"
  ev $((start + 1200)) soft-launch started ok "traffic at 1%"
  ev $((start + 3600)) rollout-25 started ok "traffic at 25%"
  ev $((start + 6 * 3600)) rollout-100 started ok "traffic at 100%"
  ev $((start + 20 * 3600)) monitoring checkpoint warning "error ratio up"
  ev $((start + 21 * 3600)) monitoring checkpoint ok "steady"
  ev "$end" monitoring passed ok "24 hours watched"
} > "$work/timeline.ndjson"

cat > "$work/report.toml" <<'TOML'
[report]
title = "bench launch"
step = "15s"
[queries]
request_rate = 'sum(bench_rps)'
error_rate = 'avg(bench_error_ratio)'
p50_latency = 'avg(bench_latency_seconds)'
p95_latency = 'max(bench_latency_seconds)'
green_share = 'avg(bench_weight) / 100'
[[chart]]
title = "Error ratio"
query = "bench_error_ratio"
unit = "%"
[[chart]]
title = "Latency"
query = "bench_latency_seconds"
unit = "ms"
[[chart]]
title = "Requests per second"
query = "bench_rps"
unit = "/s"
[[chart]]
title = "Weight"
query = "bench_weight"
TOML

# Sanity: the report holds 4 charts of 10 series at 15 s over 24 h.
"$BIN/metric-gate" report --prometheus "$url" --timeline "$work/timeline.ndjson" \
  --rules "$work/report.toml" --out "$work/out" >"$work/report.json"
points=$(sed -n 's/.*"points": \([0-9]*\).*/\1/p' "$work/report.json")
[ "${points:-0}" -ge 200000 ] || { echo "bench: report fetched only ${points:-0} points" >&2; cat "$work/report.json" >&2; exit 1; }
[ "$(grep -o '<polyline' "$work/out/report.html" | wc -l)" -eq 40 ] || { echo "bench: not 40 series drawn" >&2; exit 1; }

queries=('sum(bench_rps)' 'avg(bench_error_ratio)' 'avg(bench_latency_seconds)' 'max(bench_latency_seconds)'
  'avg(bench_weight) / 100' bench_error_ratio bench_latency_seconds bench_rps bench_weight)
promtool_fetch() {
  for q in "${queries[@]}"; do
    promtool query range --start="$start" --end="$end" --step=15s "$url" "$q" >/dev/null || return 1
  done
}

g=$(median_ms "$BIN/metric-gate" report --prometheus "$url" --timeline "$work/timeline.ndjson" \
  --rules "$work/report.toml" --out "$work/out") || true
p=$(median_ms promtool_fetch) || true
r=$(ratio "$g" "$p")
gm=$(peak_rss_kb "$BIN/metric-gate" report --prometheus "$url" --timeline "$work/timeline.ndjson" \
  --rules "$work/report.toml" --out "$work/out") || true
size=$(du -k "$work/out/report.html" | cut -f1)

mkdir -p docs/bench
cat > docs/bench/report.md <<EOF
## metric-gate report

The post-launch report of a 24-hour launch at 15 s resolution: 4 charts of
10 series each and 5 table queries ($points points fetched), 8 timeline
events, against one Prometheus on loopback, $RUNS runs each. golive: one
\`metric-gate report\` (queries concurrent; report.md, report.html of
${size} KiB with inline SVG, baseline.csv). Peer: the same 9 \`promtool
query range\` calls in sequence — the data alone, nothing computed or drawn.

| what | golive median | peer median | ratio | goal | met? |
|------|---------------|-------------|-------|------|------|
| 24 h report, 4 × 10 series at 15 s | $(with_unit "$g" ms) | $(with_unit "$p" ms) | ${r} | golive under 2000 ms | $(goal_met lt "$g" 2000 "metric-gate report" "$g" "promtool query range ×9" "$p") |
| peak RSS of the report | $(with_unit "$gm" KiB) | | | | |
EOF
cat docs/bench/report.md
