#!/usr/bin/env bash
# Benchmark shift against the usual hand-made way of moving HAProxy weights:
# `set server` lines written to the admin socket by a shell script (bash's
# /dev/tcp, or socat when it is installed), then `show servers state` read
# back and checked. shift does the same and also takes its lock, reads the
# split first, and appends two fsynced journal lines.
#
#   1. time to apply and verify a split (median of $RUNS, alternating
#      blue=75,green=25 and blue=25,green=75);
#   2. hitless: under a bounded wrk load through HAProxy, move green
#      0 → 1 → 25 → 100 → 25 → 1 → 0 again and again; count failed requests;
#   3. peak memory of one `shift set`.
#
# Servers: crates/shift/examples/bench.rs (nginx blue and green behind a real
# HAProxy 2.6). Writes docs/bench/shift.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN="${GOLIVE_BIN:-target/release}"
RUNS="${RUNS:-40}"
LOAD_SECONDS="${LOAD_SECONDS:-8}"
OUT=bench/out/shift
mkdir -p "$OUT" docs/bench
rm -f "$OUT"/*

for tool in wrk haproxy nginx; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "bench/shift.sh: $tool missing; run make deps" >&2; exit 1; }
done
[ -x "$BIN/shift" ] || cargo build --release -p shift
[ -x "target/release/examples/shift-bench" ] || cargo build --release -p shift --example shift-bench

# Servers, alive until we close fd 3.
mkfifo "$OUT/ctl"
target/release/examples/shift-bench "$OUT/env" <"$OUT/ctl" &
servers=$!
exec 3>"$OUT/ctl"
trap 'exec 3>&-; wait "$servers" 2>/dev/null || true' EXIT
for _ in $(seq 200); do [ -s "$OUT/env" ] && break; sleep 0.05; done
# shellcheck disable=SC1091
source "$OUT/env"
ADMIN_HOST=${TCP_ADMIN%:*} ADMIN_PORT=${TCP_ADMIN#*:}
JOURNAL="$OUT/shift.journal"

shift_set() { # SPLIT
  "$BIN/shift" set --haproxy-socket "$SOCKET" --haproxy-backend "$BACKEND" \
    --pool blue=blue1 --pool green=green1 --journal "$JOURNAL" --split "$1" -q >/dev/null
}

# The peer: a bash script writing `set server` lines on the TCP admin socket
# and reading `show servers state` back, no lock and no journal.
cat >"$OUT/peer.sh" <<'PEER'
#!/usr/bin/env bash
# peer.sh HOST PORT BACKEND SERVER=WEIGHT...
host=$1 port=$2 be=$3; shift 3
cmd() {
  exec 9<>"/dev/tcp/$host/$port" || exit 3
  printf '%s\n' "$1" >&9
  reply=
  while IFS= read -r -u 9 line; do reply+="$line"$'\n'; done
  exec 9<&-
}
for kv in "$@"; do
  cmd "set server $be/${kv%=*} weight ${kv#*=}"
  [ -z "${reply//[$'\n ']/}" ] || { printf '%s' "$reply" >&2; exit 2; }
done
cmd "show servers state $be"
for kv in "$@"; do
  ok=
  while read -r _ _ _ name _ _ _ uweight _; do
    [ "$name" = "${kv%=*}" ] && [ "$uweight" = "${kv#*=}" ] && ok=1
  done <<<"$reply"
  [ -n "$ok" ] || { echo "verify failed for $kv" >&2; exit 2; }
done
PEER
peer_set() { # blue_weight green_weight
  bash "$OUT/peer.sh" "$ADMIN_HOST" "$ADMIN_PORT" "$BACKEND" "blue1=$1" "green1=$2"
}
have_socat=
command -v socat >/dev/null && have_socat=1
socat_set() { # blue_weight green_weight
  printf 'set server %s/blue1 weight %s; set server %s/green1 weight %s\n' "$BACKEND" "$1" "$BACKEND" "$2" |
    socat stdio "UNIX-CONNECT:$SOCKET" | grep -q . && return 2
  printf 'show servers state %s\n' "$BACKEND" | socat stdio "UNIX-CONNECT:$SOCKET" |
    awk -v b="$1" -v g="$2" '$4=="blue1"{x=($8==b)} $4=="green1"{y=($8==g)} END{exit !(x&&y)}'
}

# median_alt NAME FN: run FN with alternating splits $RUNS times; prints the
# median wall time in ms; counts failures in $OUT/NAME.fail.
median_alt() {
  local name=$1 fn=$2 i t0 t1 fails=0
  : >"$OUT/$name.times"
  for ((i = 0; i < RUNS; i++)); do
    t0=$EPOCHREALTIME
    if ((i % 2)); then "$fn" 25 || fails=$((fails + 1)); else "$fn" 75 || fails=$((fails + 1)); fi
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$OUT/$name.times"
  done
  echo "$fails" >"$OUT/$name.fail"
  sort -n "$OUT/$name.times" | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f\n", m}'
}
golive_apply() { shift_set "blue=$1,green=$((100 - $1))"; }
# The same with the journal on tmpfs: what shift costs without waiting for
# the disk (its two fsyncs dominate when the disk is busy).
golive_tmpfs_apply() { JOURNAL="$TMPFS_JOURNAL" shift_set "blue=$1,green=$((100 - $1))"; }
peer_apply() { if [ "$1" = 75 ]; then peer_set 3 1; else peer_set 1 3; fi; }
socat_apply() { if [ "$1" = 75 ]; then socat_set 3 1; else socat_set 1 3; fi; }

echo "bench/shift.sh: apply + verify, $RUNS runs each" >&2
load=$(cut -d' ' -f1 /proc/loadavg)
shift_set blue=50,green=50 # warm up
g_ms=$(median_alt golive golive_apply)
TMPFS_JOURNAL=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  TMPFS_JOURNAL=$(mktemp /dev/shm/shift-bench-journal.XXXXXX)
  t_ms=$(median_alt golive_tmpfs golive_tmpfs_apply)
  rm -f "$TMPFS_JOURNAL" "$TMPFS_JOURNAL.lock"
fi
p_ms=$(median_alt peer peer_apply)
s_ms=
[ -n "$have_socat" ] && s_ms=$(median_alt socat socat_apply)
g_fail=$(cat "$OUT/golive.fail") p_fail=$(cat "$OUT/peer.fail")

# Hitless: wrk through HAProxy while the split moves.
wrk_run() { # FN: moves the split while wrk runs; prints "requests failed shifts"
  local fn=$1 n=0 pct
  wrk -t2 -c16 -d"${LOAD_SECONDS}s" "http://$FRONTEND/" >"$OUT/wrk.$fn.txt" 2>&1 &
  local w=$!
  sleep 0.3
  while kill -0 "$w" 2>/dev/null; do
    for pct in 0 1 25 100 25 1; do
      "$fn" "$pct" || echo "bench/shift.sh: $fn $pct failed" >&2
      n=$((n + 1))
      sleep 0.1
    done
  done
  wait "$w"
  local req non2xx sockerr
  req=$(awk '/requests in/ {print $1}' "$OUT/wrk.$fn.txt")
  non2xx=$(awk -F: '/Non-2xx/ {gsub(/ /, "", $2); print $2}' "$OUT/wrk.$fn.txt")
  sockerr=$(awk '/Socket errors/ {s=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) s+=$i; print s}' "$OUT/wrk.$fn.txt")
  echo "${req:-0} $(( ${non2xx:-0} + ${sockerr:-0} )) $n"
}
hit_golive() { shift_set "green=$1"; }
hit_peer() { # weights for green=P with one server each: P and 100-P, reduced
  case $1 in
    0) peer_set 1 0 ;; 1) peer_set 99 1 ;; 25) peer_set 3 1 ;; 100) peer_set 0 1 ;;
  esac
}
echo "bench/shift.sh: hitless, wrk ${LOAD_SECONDS}s while the split moves" >&2
shift_set green=0
read -r g_req g_failed g_shifts < <(wrk_run hit_golive)
shift_set green=0
read -r p_req p_failed p_shifts < <(wrk_run hit_peer)

rss=$(peak_rss_kb "$BIN/shift" set --haproxy-socket "$SOCKET" --haproxy-backend "$BACKEND" \
  --pool blue=blue1 --pool green=green1 --journal "$JOURNAL" --split blue=60,green=40 -q)
peer_rss=$(peak_rss_kb bash "$OUT/peer.sh" "$ADMIN_HOST" "$ADMIN_PORT" "$BACKEND" blue1=2 green1=3)

met() { awk -v v="$1" -v g="$2" 'BEGIN { print (v < g) ? "yes" : "no" }'; }
{
  echo "## shift"
  echo
  echo "HAProxy $(haproxy -v | awk 'NR==1 {print $3}') in front of two nginx pools (crates/shift/examples/bench.rs)."
  echo "Peer: a bash script writing \`set server\` lines on the admin socket (/dev/tcp) and reading"
  echo "\`show servers state\` back to check them — the usual hand-made way, without lock or journal."
  echo "shift also takes its lock, reads the split first and appends two fsynced journal lines"
  echo "(journal on the repository's disk; load average at the start: $load)."
  echo
  echo "| what | golive median | peer median | ratio | goal | met? |"
  echo "|---|---|---|---|---|---|"
  echo "| apply + verify a split on HAProxy, one process per change ($RUNS runs) | ${g_ms} ms | ${p_ms} ms | $(ratio "$g_ms" "$p_ms") | < 50 ms | $(met "$g_ms" 50) |"
  if [ -n "$TMPFS_JOURNAL" ]; then
    echo "| the same, journal on tmpfs (no disk wait) | ${t_ms} ms | ${p_ms} ms | $(ratio "$t_ms" "$p_ms") | < 50 ms | $(met "$t_ms" 50) |"
  fi
  if [ -n "$s_ms" ]; then
    echo "| the same with socat as the peer | ${g_ms} ms | ${s_ms} ms | $(ratio "$g_ms" "$s_ms") | < 50 ms | $(met "$g_ms" 50) |"
  fi
  echo "| failed changes in those runs | $g_fail | $p_fail | — | 0 | $([ "$g_fail" = 0 ] && echo yes || echo no) |"
  echo "| failed requests under wrk -t2 -c16 while moving green 0→1→25→100→25→1→… | $g_failed of $g_req ($g_shifts shifts) | $p_failed of $p_req ($p_shifts shifts) | — | 0 | $([ "$g_failed" = 0 ] && echo yes || echo no) |"
  echo "| peak memory of one change | ${rss} KiB | ${peer_rss} KiB | $(ratio "$rss" "$peer_rss") | — | — |"
  echo
  [ -z "$have_socat" ] && echo "socat is not installed here, so the bash /dev/tcp script is the only peer." && echo
} >docs/bench/shift.md
cat docs/bench/shift.md
