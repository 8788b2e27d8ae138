#!/usr/bin/env bash
# probe against its peers, measured in the same run on the same servers:
#   probe http      vs curl -sf              (local nginx health endpoint)
#   probe postgres  vs psql -c 'SELECT 1'
#   probe redis     vs redis-cli ping
#   probe run (200 HTTP checks, each answering after 100 ms)
#                   vs a sequential curl loop and xargs -P 16 curl
# Writes docs/bench/probe.md. Servers come from crates/probe/examples/bench.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN="${GOLIVE_BIN:-$PWD/target/release}"
PROBE="$BIN/probe"
RUNS="${RUNS:-30}"
export RUNS
[ -x "$PROBE" ] || { echo "bench/probe.sh: $PROBE missing: cargo build --release -p probe" >&2; exit 1; }
for tool in curl psql redis-cli xargs; do
  command -v "$tool" >/dev/null || { echo "bench/probe.sh: $tool missing: make deps" >&2; exit 1; }
done

cargo build --release --quiet -p probe --example bench
coproc SERVERS { exec target/release/examples/bench; }
# Closing the servers' stdin stops them (the trap uses servers_in).
# shellcheck disable=SC2034
servers_in=${SERVERS[1]}
trap 'exec {servers_in}>&- 2>/dev/null || true; wait "$SERVERS_PID" 2>/dev/null || true' EXIT
while IFS= read -r line <&"${SERVERS[0]}"; do
  [ "$line" = READY ] && break
  export "${line?}"
done
[ -n "${RUN_CONFIG:-}" ] || { echo "bench/probe.sh: servers did not start" >&2; exit 1; }

# Every command must pass before it is timed: a failing run is not a figure.
check() { "$@" >/dev/null 2>&1 || { echo "bench/probe.sh: failed: $*" >&2; exit 1; }; }
# shellcheck disable=SC2153 # PG_PASSWORD is one of the servers' exports above
export PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=5
psql_cmd=(psql -X -q -t -A -h 127.0.0.1 -p "$PG_PORT" -U appuser -d minimarket -c 'SELECT 1')
check "$PROBE" -q http "$API_URL" -H "X-API-Key: $API_KEY"
check curl -sf -H "X-API-Key: $API_KEY" "$API_URL"
check "$PROBE" -q postgres "$PG_DSN"
check "${psql_cmd[@]}"
check "$PROBE" -q redis "$REDIS_URL"
check redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping
check "$PROBE" -q run "$RUN_CONFIG"

# Every timed run must exit 0 too (median_ms and peak_rss_kb check it): a run
# that failed prints "failed (exit N)" in place of a figure and its row says no.
echo "probe: http, postgres, redis ($RUNS runs each)" >&2
http_g=$(median_ms "$PROBE" -q http "$API_URL" -H "X-API-Key: $API_KEY") || true
http_p=$(median_ms curl -sf -H "X-API-Key: $API_KEY" "$API_URL") || true
http_rss_g=$(peak_rss_kb "$PROBE" -q http "$API_URL" -H "X-API-Key: $API_KEY") || true
http_rss_p=$(peak_rss_kb curl -sf -H "X-API-Key: $API_KEY" "$API_URL") || true
pg_g=$(median_ms "$PROBE" -q postgres "$PG_DSN") || true
pg_p=$(median_ms "${psql_cmd[@]}") || true
redis_g=$(median_ms "$PROBE" -q redis "$REDIS_URL") || true
redis_p=$(median_ms redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping) || true

echo "probe: 200 checks of 100 ms" >&2
# The peers fail when any one curl fails (a loop's status is otherwise only
# its last command's; xargs exits 123 when any curl failed).
seq_loop() { while IFS= read -r u; do curl -sf -o /dev/null "$u" || return 1; done < "$RUN_URLS"; }
xargs_curl() { xargs -P 16 -n 1 curl -sf -o /dev/null < "$RUN_URLS"; }
export -f seq_loop xargs_curl
export RUN_URLS
run_g=$(RUNS=10 median_ms "$PROBE" -q run "$RUN_CONFIG") || true
run_rss=$(peak_rss_kb "$PROBE" -q run "$RUN_CONFIG") || true
run_x=$(RUNS=5 median_ms bash -c xargs_curl) || true
run_s=$(RUNS=1 median_ms bash -c seq_loop) || true

r_http=$(ratio "$http_g" "$http_p")
r_pg=$(ratio "$pg_g" "$pg_p")
r_redis=$(ratio "$redis_g" "$redis_p")
r_seq=$(ratio "$run_g" "$run_s")
r_x=$(ratio "$run_g" "$run_x")
run_mb=$run_rss
if is_figure "$run_rss"; then run_mb=$(awk -v k="$run_rss" 'BEGIN { printf "%.1f", k / 1024 }'); fi

mkdir -p docs/bench
cat > docs/bench/probe.md <<MD
## probe

Local servers on loopback (nginx health endpoint with X-API-Key, PostgreSQL,
Redis, and an endpoint answering after 100 ms); wall-time medians of $RUNS
runs (\`probe run\`: 10, xargs: 5, the sequential loop: 1), peak RSS by GNU time.
\`probe postgres\` also reads the connection counts (a second query) that psql does not.

| what | golive median | peer median | ratio | goal | met? |
|---|---|---|---|---|---|
| \`probe http\` vs \`curl -sf\` (health + API key) | $(with_unit "$http_g" ms) | $(with_unit "$http_p" ms) | ${r_http} | ≤ 1.0 | $(goal_met le "$r_http" 1.0 "probe http" "$http_g" "curl -sf" "$http_p") |
| \`probe postgres\` vs \`psql -c 'SELECT 1'\` | $(with_unit "$pg_g" ms) | $(with_unit "$pg_p" ms) | ${r_pg} | — | — |
| \`probe redis\` vs \`redis-cli ping\` | $(with_unit "$redis_g" ms) | $(with_unit "$redis_p" ms) | ${r_redis} | — | — |
| \`probe run\`, 200 checks × 100 ms, vs sequential curl loop | $(with_unit "$run_g" ms) | $(with_unit "$run_s" ms) | ${r_seq} | < 500 ms wall | $(goal_met lt "$run_g" 500 "probe run" "$run_g" "curl loop" "$run_s") |
| \`probe run\`, 200 checks × 100 ms, vs \`xargs -P 16 curl\` | $(with_unit "$run_g" ms) | $(with_unit "$run_x" ms) | ${r_x} | — | — |
| \`probe run\` peak memory (200 checks) | $(with_unit "$run_mb" MB) | — | — | < 30 MB | $(goal_met lt "$run_mb" 30 "probe run peak memory" "$run_rss") |
| \`probe http\` vs \`curl\` peak memory | $(with_unit "$http_rss_g" KiB) | $(with_unit "$http_rss_p" KiB) | $(ratio "$http_rss_g" "$http_rss_p") | — | — |
MD
cat docs/bench/probe.md
