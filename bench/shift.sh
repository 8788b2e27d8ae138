#!/usr/bin/env bash
# Benchmark shift against the usual hand-made way of moving HAProxy weights:
# `set server` lines written to the admin socket by a shell script (bash's
# /dev/tcp, or socat when it is installed), then `show servers state` read
# back and checked. shift does the same and also takes its lock, reads the
# split first, and appends two fsynced journal lines.
#
# All of them talk to HAProxy's TCP admin socket (bash's /dev/tcp cannot
# reach a unix socket), so the ratios compare the same transport.
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
[ -n "${TCP_ADMIN:-}" ] || { echo "bench/shift.sh: the servers gave no TCP admin socket (TCP_ADMIN)" >&2; exit 1; }
ADMIN_HOST=${TCP_ADMIN%:*} ADMIN_PORT=${TCP_ADMIN#*:}
JOURNAL="$OUT/shift.journal"

# shift on the same TCP admin socket as the peers (HOST:PORT is TCP to shift).
shift_set() { # SPLIT
  "$BIN/shift" set --haproxy-socket "$TCP_ADMIN" --haproxy-backend "$BACKEND" \
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
  local reply
  reply=$(printf 'set server %s/blue1 weight %s; set server %s/green1 weight %s\n' "$BACKEND" "$1" "$BACKEND" "$2" |
    socat stdio "TCP:$TCP_ADMIN") || return 3
  [ -z "${reply//[$'\n ']/}" ] || { printf '%s\n' "$reply" >&2; return 2; }
  printf 'show servers state %s\n' "$BACKEND" | socat stdio "TCP:$TCP_ADMIN" |
    awk -v b="$1" -v g="$2" '$4=="blue1"{x=($8==b)} $4=="green1"{y=($8==g)} END{exit !(x&&y)}'
}

# median_alt NAME FN: run FN with alternating splits $RUNS times; prints the
# median wall time in ms; counts failures in $OUT/NAME.fail. Every run must
# succeed (exit 0): with any failure it prints "failed (exit N, K of RUNS
# runs)" (N: the first failure's exit code) instead of a median, returns 1.
median_alt() {
  local name=$1 fn=$2 i t0 t1 rc fails=0 first_rc=
  : >"$OUT/$name.times"
  for ((i = 0; i < RUNS; i++)); do
    t0=$EPOCHREALTIME
    rc=0
    if ((i % 2)); then "$fn" 25 || rc=$?; else "$fn" 75 || rc=$?; fi
    t1=$EPOCHREALTIME
    if [ "$rc" -ne 0 ]; then
      fails=$((fails + 1))
      [ -n "$first_rc" ] || first_rc=$rc
    fi
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$OUT/$name.times"
  done
  echo "$fails" >"$OUT/$name.fail"
  if [ "$fails" -gt 0 ]; then
    echo "bench/shift.sh: $name: $fails of $RUNS changes failed (first exit $first_rc)" >&2
    echo "failed (exit $first_rc, $fails of $RUNS runs)"
    return 1
  fi
  [ -s "$OUT/$name.times" ] || { echo "failed (not measured)"; return 1; }
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
g_ms=$(median_alt golive golive_apply) || true
TMPFS_JOURNAL=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  TMPFS_JOURNAL=$(mktemp /dev/shm/shift-bench-journal.XXXXXX)
  t_ms=$(median_alt golive_tmpfs golive_tmpfs_apply) || true
  rm -f "$TMPFS_JOURNAL" "$TMPFS_JOURNAL.lock"
fi
p_ms=$(median_alt peer peer_apply) || true
s_ms=
if [ -n "$have_socat" ]; then s_ms=$(median_alt socat socat_apply) || true; fi
g_fail=$(cat "$OUT/golive.fail") p_fail=$(cat "$OUT/peer.fail")

# Hitless: wrk through HAProxy while the split moves.
# wrk_run FN: moves the split with FN while wrk runs; prints "REQUESTS FAILED
# SHIFTS SHIFT_FAILS SHIFT_RC WRK_RC": REQUESTS and FAILED are "?" when wrk's
# output was not understood (no "N requests in" line, N = 0, or unreadable
# error counts); SHIFT_RC is the first failed shift's exit code (0: none).
wrk_run() {
  local fn=$1 n=0 pct rc sfails=0 src=0 wrc=0
  wrk -t2 -c16 -d"${LOAD_SECONDS}s" "http://$FRONTEND/" >"$OUT/wrk.$fn.txt" 2>&1 &
  local w=$!
  sleep 0.3
  while kill -0 "$w" 2>/dev/null; do
    for pct in 0 1 25 100 25 1; do
      rc=0
      "$fn" "$pct" || rc=$?
      if [ "$rc" -ne 0 ]; then
        echo "bench/shift.sh: $fn $pct failed (exit $rc)" >&2
        sfails=$((sfails + 1))
        [ "$src" -ne 0 ] || src=$rc
      fi
      n=$((n + 1))
      sleep 0.1
    done
  done
  wait "$w" || wrc=$?
  local req non2xx sockerr
  req=$(awk '/ requests in / {print $1; exit}' "$OUT/wrk.$fn.txt")
  non2xx=$(awk -F: '/Non-2xx/ {gsub(/ /, "", $2); print $2; exit}' "$OUT/wrk.$fn.txt")
  sockerr=$(awk '/Socket errors/ {s=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) s+=$i; print s; exit}' "$OUT/wrk.$fn.txt")
  if [[ $req =~ ^[0-9]+$ ]] && [ "$req" -gt 0 ] && [[ ${non2xx:-0} =~ ^[0-9]+$ ]] && [[ ${sockerr:-0} =~ ^[0-9]+$ ]]; then
    echo "$req $(( ${non2xx:-0} + ${sockerr:-0} )) $n $sfails $src $wrc"
  else
    echo "bench/shift.sh: wrk output not understood ($OUT/wrk.$fn.txt)" >&2
    echo "? ? $n $sfails $src $wrc"
  fi
}
# wrk_problem WHOSE CHANGER REQUESTS SHIFT_FAILS SHIFTS SHIFT_RC WRK_RC: why
# a wrk run is not a figure (nothing when it is one). WHOSE: "" for golive's
# run, "peer's " for the peer's; CHANGER names what moved the split.
wrk_problem() {
  local whose=$1 changer=$2 req=$3 sfails=$4 n=$5 src=$6 wrc=$7
  if [ "$req" = "?" ]; then
    echo "${whose}wrk output not understood"
  elif [ "$wrc" -ne 0 ]; then
    echo "run failed: ${whose}wrk exit $wrc"
  elif [ "$sfails" -ne 0 ]; then
    echo "run failed: $changer exit $src, $sfails of $n shifts"
  fi
}
# wrk_cell FAILED REQUESTS SHIFTS SHIFT_FAILS: the table cell for one wrk run.
wrk_cell() {
  local failed=$1 req=$2 n=$3 sfails=$4 what
  if [ "$req" = "?" ]; then what="wrk output not understood"; else what="$failed of $req"; fi
  if [ "$sfails" -ne 0 ]; then echo "$what ($n shifts, $sfails failed)"; else echo "$what ($n shifts)"; fi
}
hit_golive() { shift_set "green=$1"; }
hit_peer() { # weights for green=P with one server each: P and 100-P, reduced
  case $1 in
    0) peer_set 1 0 ;; 1) peer_set 99 1 ;; 25) peer_set 3 1 ;; 100) peer_set 0 1 ;;
  esac
}
echo "bench/shift.sh: hitless, wrk ${LOAD_SECONDS}s while the split moves" >&2
shift_set green=0
g_req='?' g_failed='?' g_shifts=0 g_sfails=0 g_src=0 g_wrc=0
read -r g_req g_failed g_shifts g_sfails g_src g_wrc < <(wrk_run hit_golive) || true
shift_set green=0
p_req='?' p_failed='?' p_shifts=0 p_sfails=0 p_src=0 p_wrc=0
read -r p_req p_failed p_shifts p_sfails p_src p_wrc < <(wrk_run hit_peer) || true
hitless=$(wrk_problem "" "shift set" "$g_req" "$g_sfails" "$g_shifts" "$g_src" "$g_wrc")
[ -n "$hitless" ] || hitless=$(wrk_problem "peer's " "peer script" "$p_req" "$p_sfails" "$p_shifts" "$p_src" "$p_wrc")
if [ -n "$hitless" ]; then hitless="no ($hitless)"
elif [ "$g_failed" = 0 ]; then hitless=yes
else hitless=no
fi

rss=$(peak_rss_kb "$BIN/shift" set --haproxy-socket "$TCP_ADMIN" --haproxy-backend "$BACKEND" \
  --pool blue=blue1 --pool green=green1 --journal "$JOURNAL" --split blue=60,green=40 -q) || true
peer_rss=$(peak_rss_kb bash "$OUT/peer.sh" "$ADMIN_HOST" "$ADMIN_PORT" "$BACKEND" blue1=2 green1=3) || true

# failed changes: a count for each side; "yes" only when both are 0.
if [ "$g_fail" != 0 ]; then changes="no"
elif [ "$p_fail" != 0 ]; then changes="no (peer: $p_fail of $RUNS changes failed)"
else changes=yes
fi
{
  echo "## shift"
  echo
  echo "HAProxy $(haproxy -v | awk 'NR==1 {print $3}') in front of two nginx pools (crates/shift/examples/bench.rs)."
  echo "Peer: a bash script writing \`set server\` lines on the admin socket (/dev/tcp) and reading"
  echo "\`show servers state\` back to check them — the usual hand-made way, without lock or journal."
  echo "shift, the script and socat all use HAProxy's TCP admin socket (bash cannot reach its unix one)."
  echo "shift also takes its lock, reads the split first and appends two fsynced journal lines"
  echo "(journal on the repository's disk; load average at the start: $load)."
  echo
  echo "| what | golive median | peer median | ratio | goal | met? |"
  echo "|---|---|---|---|---|---|"
  echo "| apply + verify a split on HAProxy's TCP admin socket, one process per change ($RUNS runs) | $(with_unit "$g_ms" ms) | $(with_unit "$p_ms" ms) | $(ratio "$g_ms" "$p_ms") | < 50 ms | $(goal_met lt "$g_ms" 50 "shift set" "$g_ms" "peer script" "$p_ms") |"
  if [ -n "$TMPFS_JOURNAL" ]; then
    echo "| the same, journal on tmpfs (no disk wait) | $(with_unit "$t_ms" ms) | $(with_unit "$p_ms" ms) | $(ratio "$t_ms" "$p_ms") | < 50 ms | $(goal_met lt "$t_ms" 50 "shift set (tmpfs journal)" "$t_ms" "peer script" "$p_ms") |"
  fi
  if [ -n "$s_ms" ]; then
    echo "| the same with socat as the peer | $(with_unit "$g_ms" ms) | $(with_unit "$s_ms" ms) | $(ratio "$g_ms" "$s_ms") | < 50 ms | $(goal_met lt "$g_ms" 50 "shift set" "$g_ms" "socat" "$s_ms") |"
  fi
  echo "| failed changes in those runs | $g_fail | $p_fail | — | 0 | $changes |"
  echo "| failed requests under wrk -t2 -c16 while moving green 0→1→25→100→25→1→… | $(wrk_cell "$g_failed" "$g_req" "$g_shifts" "$g_sfails") | $(wrk_cell "$p_failed" "$p_req" "$p_shifts" "$p_sfails") | — | 0 | $hitless |"
  echo "| peak memory of one change | $(with_unit "$rss" KiB) | $(with_unit "$peer_rss" KiB) | $(ratio "$rss" "$peer_rss") | — | — |"
  echo
  [ -z "$have_socat" ] && echo "socat is not installed here, so the bash /dev/tcp script is the only peer." && echo
} >docs/bench/shift.md
cat docs/bench/shift.md
