#!/usr/bin/env bash
# metric-gate vs promtool: 30 rules judged by one `metric-gate check` (queries
# run concurrently in one process) against 30 sequential `promtool query`
# calls, the way a shell gate asks Prometheus one query at a time. Both hit
# the same Prometheus (Debian's), started here over backfilled history.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN="${GOLIVE_BIN:-target/release}"
RUNS="${RUNS:-15}"
export RUNS
prometheus_bench_setup

# One hour of history six hours ago: 30 services × 10 instances, a request
# and an error counter each, sampled every 15 s.
now=$(date +%s)
base=$(( (now - 6 * 3600) / 60 * 60 ))
at=$(( base + 3000 ))
awk -v base="$base" 'BEGIN {
  for (s = 1; s <= 30; s++) {
    for (m = 0; m < 2; m++) {
      name = m ? "bench_errors_total" : "bench_requests_total"
      printf "# TYPE %s_s%02d gauge\n", name, s
      for (i = 1; i <= 10; i++) {
        v = 0
        for (t = 0; t <= 3600; t += 15) {
          v += m ? 1 : 100
          printf "%s_s%02d{instance=\"i%02d\"} %d %d\n", name, s, i, v, base + t
        }
      }
    }
  }
  print "# EOF"
}' > "$work/history.om"
promtool tsdb create-blocks-from openmetrics "$work/history.om" "$work/data" >/dev/null

start_prometheus "$work"

# The same 30 error-ratio queries for both tools.
queries=()
for s in $(seq -w 1 30); do
  queries+=("sum by (instance) (rate(bench_errors_total_s${s}[5m])) / sum by (instance) (rate(bench_requests_total_s${s}[5m]))")
done
{
  for i in "${!queries[@]}"; do
    printf '[[rule]]\nname = "s%02d"\nquery = '"'"'%s'"'"'\nwarn = "> 0.5%%"\ncritical = "> 5%%"\n\n' "$((i + 1))" "${queries[$i]}"
  done
} > "$work/instant.toml"
sed 's/^critical = .*/&\nfor = "5m"\nstep = "15s"/' "$work/instant.toml" > "$work/range.toml"

# Sanity: both tools see the data (ratio 1% → warn over 0.5%), or the bench means nothing.
"$BIN/metric-gate" check --prometheus "$url" --rules "$work/instant.toml" --at "$at" >"$work/check.json" || [ $? -eq 1 ]
grep -q '"warning": 30' "$work/check.json" || { echo "bench: metric-gate did not judge 30 rules" >&2; cat "$work/check.json" >&2; exit 1; }
promtool query instant --time="$at" "$url" "${queries[0]}" | grep -q '0.01' || { echo "bench: promtool saw no data" >&2; exit 1; }

# Every timed run must exit as expected (median_ms and peak_rss_kb check it):
# metric-gate with 1, WARNING (every rule's ratio, 1%, is over warn's 0.5% —
# for the range rules at every point of their 5m window, the history being
# flat); promtool with 0, and the loops fail when any one call fails (a loop's
# status is otherwise only its last command's).
promtool_instant() { for q in "${queries[@]}"; do promtool query instant --time="$at" "$url" "$q" >/dev/null || return 1; done; }
promtool_range() {
  for q in "${queries[@]}"; do
    promtool query range --start="$((at - 300))" --end="$at" --step=15s "$url" "$q" >/dev/null || return 1
  done
}

gi=$(EXPECT_RC=1 median_ms "$BIN/metric-gate" check --prometheus "$url" --rules "$work/instant.toml" --at "$at") || true
pi=$(median_ms promtool_instant) || true
gr=$(EXPECT_RC=1 median_ms "$BIN/metric-gate" check --prometheus "$url" --rules "$work/range.toml" --at "$at") || true
pr=$(median_ms promtool_range) || true
gm=$(EXPECT_RC=1 peak_rss_kb "$BIN/metric-gate" check --prometheus "$url" --rules "$work/range.toml" --at "$at") || true
pm=$(peak_rss_kb promtool query range --start="$((at - 300))" --end="$at" --step=15s "$url" "${queries[0]}") || true

ri=$(ratio "$gi" "$pi")
rr=$(ratio "$gr" "$pr")
rm_=$(ratio "$gm" "$pm")

mkdir -p docs/bench
cat > docs/bench/metric-gate.md <<EOF
## metric-gate

30 error-ratio rules (each over 10 series) against one Prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}') on
loopback, $RUNS runs each. golive: one \`metric-gate check --rules\` (queries
concurrent, one process). Peer: 30 sequential \`promtool query\` calls, as a
shell gate would make them. Lower is better; ratio = golive / peer.

| what | golive median | peer median | ratio | goal | met? |
|------|---------------|-------------|-------|------|------|
| 30 instant rules vs 30 \`promtool query instant\` | $(with_unit "$gi" ms) | $(with_unit "$pi" ms) | ${ri} | ≤ 0.10 (≥ 10× faster) | $(goal_met le "$ri" 0.10 "metric-gate check (instant)" "$gi" "promtool query instant" "$pi") |
| 30 rules with \`for = "5m"\` (query_range) vs 30 \`promtool query range\` | $(with_unit "$gr" ms) | $(with_unit "$pr" ms) | ${rr} | ≤ 0.10 | $(goal_met le "$rr" 0.10 "metric-gate check (range)" "$gr" "promtool query range" "$pr") |
| peak RSS: 30 range rules vs one \`promtool query range\` | $(with_unit "$gm" KiB) | $(with_unit "$pm" KiB) | ${rm_} | ≤ 1.0 | $(goal_met le "$rm_" 1.0 "metric-gate peak RSS" "$gm" "promtool peak RSS" "$pm") |
EOF
cat docs/bench/metric-gate.md
