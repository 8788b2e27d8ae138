#!/usr/bin/env bash
# dns-watch vs dig: one round against 50 DNS servers. The servers are one
# Knot (Debian's knotd, started here) listening on 50 loopback ports, each
# port a "server" to dns-watch and dig alike. golive: one
# `dns-watch --once --servers-file` (all 50 queries in parallel). Peers: a
# sequential `dig` loop, as `watch dig` scripts do it, and `xargs -P 16 dig`.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN="${GOLIVE_BIN:-target/release}"
RUNS="${RUNS:-15}"
export RUNS
N=50
for b in knotd knotc dig; do
  command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || { echo "bench: $b missing; run make deps" >&2; exit 1; }
done
[ -x "$BIN/dns-watch" ] || { echo "bench: build first: cargo build --release -p dns-watch" >&2; exit 1; }
KNOTD=$(command -v knotd || echo /usr/sbin/knotd)

work=$(mktemp -d)
knot_pid=
cleanup() {
  [ -n "$knot_pid" ] && kill "$knot_pid" 2>/dev/null && wait "$knot_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# 50 free loopback ports (UDP and TCP).
ports=()
for _ in $(seq 1 2000); do
  [ "${#ports[@]}" -ge "$N" ] && break
  p=$(shuf -i 20000-60000 -n 1)
  [[ " ${ports[*]} " == *" $p "* ]] && continue
  ss -Htuln "sport = :$p" 2>/dev/null | grep -q . && continue
  ports+=("$p")
done
[ "${#ports[@]}" -eq "$N" ] || { echo "bench: found only ${#ports[@]} free ports" >&2; exit 1; }

mkdir -p "$work/db"
cat > "$work/bench.test.zone" <<'EOF'
$ORIGIN bench.test.
$TTL 60
@ SOA ns1 hostmaster 1 60 60 600 30
@ NS ns1
ns1 A 127.0.0.1
api A 192.0.2.10
EOF
{
  printf 'server:\n    rundir: "%s"\n    udp-workers: 2\n    tcp-workers: 1\n    background-workers: 1\n' "$work"
  [ "$(id -u)" -eq 0 ] && printf '    user: root:root\n'
  for p in "${ports[@]}"; do printf '    listen: 127.0.0.1@%s\n' "$p"; done
  printf 'log:\n  - target: stderr\n    any: warning\ndatabase:\n    storage: "%s/db"\n' "$work"
  printf 'control:\n    listen: "%s/knot.sock"\ntemplate:\n  - id: default\n    storage: "%s"\n' "$work" "$work"
  printf 'zone:\n  - domain: bench.test\n    file: "bench.test.zone"\n'
} > "$work/knot.conf"
"$KNOTD" -c "$work/knot.conf" >"$work/knot.log" 2>&1 &
knot_pid=$!
for _ in $(seq 1 100); do
  dig +short +tries=1 +time=1 @127.0.0.1 -p "${ports[$((N - 1))]}" api.bench.test A 2>/dev/null | grep -q 192.0.2.10 && break
  sleep 0.1
done

{
  echo "name,address"
  for i in "${!ports[@]}"; do echo "s$((i + 1)),127.0.0.1:${ports[$i]}"; done
} > "$work/servers.csv"
echo "name,address" > "$work/one.csv"
echo "s1,127.0.0.1:${ports[0]}" >> "$work/one.csv"

# Sanity: every listener answers, or the bench means nothing.
"$BIN/dns-watch" api.bench.test -e 192.0.2.10 --once --servers-file "$work/servers.csv" >"$work/check.json" || {
  echo "bench: dns-watch did not see all $N servers match" >&2
  cat "$work/check.json" "$work/knot.log" >&2
  exit 1
}
grep -q "\"matched\": $N" "$work/check.json" || { echo "bench: not $N matches" >&2; exit 1; }

watch_50() { "$BIN/dns-watch" api.bench.test -e 192.0.2.10 --once --servers-file "$work/servers.csv"; }
watch_50_auth() { "$BIN/dns-watch" api.bench.test -e 192.0.2.10 --once --authoritative --servers-file "$work/servers.csv"; }
watch_1() { "$BIN/dns-watch" api.bench.test -e 192.0.2.10 --once --servers-file "$work/one.csv"; }
# Every timed run must exit 0 (median_ms and peak_rss_kb check it): the loops
# fail when any one dig fails (a loop's status is otherwise only its last
# command's; xargs exits 123 when any dig failed).
dig_loop() { for p in "${ports[@]}"; do dig +short +tries=1 +time=2 @127.0.0.1 -p "$p" api.bench.test A || return 1; done; }
dig_xargs() { printf '%s\n' "${ports[@]}" | xargs -P 16 -I{} dig +short +tries=1 +time=2 @127.0.0.1 -p {} api.bench.test A; }
dig_one() { dig +short +tries=1 +time=2 @127.0.0.1 -p "${ports[0]}" api.bench.test A; }

g50=$(median_ms watch_50) || true
ga=$(median_ms watch_50_auth) || true
g1=$(median_ms watch_1) || true
pl=$(median_ms dig_loop) || true
px=$(median_ms dig_xargs) || true
p1=$(median_ms dig_one) || true
gm=$(peak_rss_kb "$BIN/dns-watch" api.bench.test -e 192.0.2.10 --once --servers-file "$work/servers.csv") || true
pm=$(peak_rss_kb dig +short @127.0.0.1 -p "${ports[0]}" api.bench.test A) || true

# Three decimals: the gaps here are wide enough that two would show 0.00.
ratio3() { ratio "$1" "$2" 3; }
rl=$(ratio3 "$g50" "$pl")
rx=$(ratio3 "$g50" "$px")
ra=$(ratio3 "$ga" "$pl")
r1=$(ratio3 "$g50" "$g1")
rd=$(ratio3 "$g50" "$p1")
rm_=$(ratio3 "$gm" "$pm")
faster=$(ratio "$pl" "$g50" 0)
rl_cell=$rl
[ "$faster" = n/a ] || rl_cell="$rl (${faster}× faster)"

mkdir -p docs/bench
cat > docs/bench/dns-watch.md <<EOF
## dns-watch

One round against $N DNS servers: one Knot $("$KNOTD" --version 2>&1 | awk '{print $NF}') listening on $N loopback
ports, each port a server. $RUNS runs each; every run is a new process
(startup included), as a script or cron would run it. golive: one
\`dns-watch --once --servers-file\` ($N queries in parallel). Peers: a
sequential \`dig\` loop (what \`watch dig\` scripts do) and
\`xargs -P 16 dig\`. Lower is better; ratio = golive / peer.

| what | golive median | peer median | ratio | goal | met? |
|------|---------------|-------------|-------|------|------|
| one round, $N servers vs sequential \`dig\` loop | $(with_unit "$g50" ms) | $(with_unit "$pl" ms) | ${rl_cell} | ≤ 0.10 (≥ 10× faster) | $(goal_met le "$rl" 0.10 "dns-watch ($N servers)" "$g50" "dig loop" "$pl") |
| one round, $N servers vs \`xargs -P 16 dig\` | $(with_unit "$g50" ms) | $(with_unit "$px" ms) | ${rx} | ≤ 1.0 | $(goal_met le "$rx" 1.0 "dns-watch ($N servers)" "$g50" "xargs dig" "$px") |
| \`--authoritative\` ($N answers + $N SOA serials) vs sequential \`dig\` loop | $(with_unit "$ga" ms) | $(with_unit "$pl" ms) | ${ra} | ≤ 0.10 | $(goal_met le "$ra" 0.10 "dns-watch --authoritative" "$ga" "dig loop" "$pl") |
| one round, $N servers vs dns-watch, 1 server ("about one round-trip") | $(with_unit "$g50" ms) | $(with_unit "$g1" ms) | ${r1} | ≤ 2.0 | $(goal_met le "$r1" 2.0 "dns-watch ($N servers)" "$g50" "dns-watch (1 server)" "$g1") |
| one round, $N servers vs one \`dig\` to 1 server | $(with_unit "$g50" ms) | $(with_unit "$p1" ms) | ${rd} | ≤ 2.0 | $(goal_met le "$rd" 2.0 "dns-watch ($N servers)" "$g50" "dig" "$p1") |
| peak RSS: $N servers vs one \`dig\` | $(with_unit "$gm" KiB) | $(with_unit "$pm" KiB) | ${rm_} | ≤ 1.5 | $(goal_met le "$rm_" 1.5 "dns-watch peak RSS" "$gm" "dig peak RSS" "$pm") |
EOF
cat docs/bench/dns-watch.md
