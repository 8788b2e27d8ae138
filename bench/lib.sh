# shellcheck shell=bash
# Shared helpers for bench/<tool>.sh (sourced).
#
# A figure is only a figure when every run behind it succeeded and was really
# measured. The measuring helpers (median_ms, peak_rss_kb) print a number when
# it was, and otherwise print "failed (exit N)" or "failed (not measured)"
# and return 1, so call them as `x=$(median_ms ...) || true`. ratio and
# goal_met turn such a value into "n/a" and "no (...)"; never into "yes".

# is_number V: V is a plain non-negative decimal number.
is_number() { [[ ${1-} =~ ^[0-9]+([.][0-9]+)?$ ]]; }

# is_figure V: V is a measured figure: a number above zero (a median of 0 ms
# or a peak of 0 KiB was not measured).
is_figure() { is_number "${1-}" && awk -v v="$1" 'BEGIN { exit !(v > 0) }'; }

# median_ms CMD...: run CMD $RUNS times (default 20), print the median wall
# time in ms. Every timed run must exit with $EXPECT_RC (default 0; set it for
# a command whose expected result is non-zero, e.g. `EXPECT_RC=1 median_ms
# metric-gate check ...` for a gate that must say WARNING). The first run that
# exits otherwise stops the measurement: prints "failed (exit N)", returns 1.
median_ms() {
  local runs=${RUNS:-20} expect=${EXPECT_RC:-0} i t0 t1 rc times=()
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    rc=0
    "$@" >/dev/null 2>&1 || rc=$?
    t1=$(date +%s%N)
    if [ "$rc" -ne "$expect" ]; then
      echo "bench: run $((i + 1)) of $runs failed: $* exited $rc, expected $expect" >&2
      echo "failed (exit $rc)"
      return 1
    fi
    times+=($(( (t1 - t0) / 1000 )))
  done
  [ "${#times[@]}" -gt 0 ] || { echo "failed (not measured)"; return 1; }
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f\n", m/1000}'
}

# peak_rss_kb CMD...: peak resident memory of CMD in KiB (GNU time if present,
# else /proc polling). CMD must exit with $EXPECT_RC (default 0), else prints
# "failed (exit N)"; a peak of 0 or none at all (e.g. the process ended before
# the first poll) prints "failed (not measured)". Both return 1.
peak_rss_kb() {
  local expect=${EXPECT_RC:-0} rc=0 kb=
  if [ -x /usr/bin/time ]; then
    local out
    # GNU time writes %M as its last stderr line, after CMD's own stderr.
    out=$(/usr/bin/time -f '%M' "$@" 2>&1 >/dev/null) || rc=$?
    kb=${out##*$'\n'}
  else
    "$@" >/dev/null 2>&1 &
    local pid=$! peak=0 rss
    while kill -0 "$pid" 2>/dev/null; do
      rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
      is_number "$rss" && [ "$rss" -gt "$peak" ] && peak=$rss
      sleep 0.005
    done
    wait "$pid" || rc=$?
    kb=$peak
  fi
  if [ "$rc" -ne "$expect" ]; then
    echo "bench: peak_rss_kb: $* exited $rc, expected $expect" >&2
    echo "failed (exit $rc)"
    return 1
  fi
  if ! [[ $kb =~ ^[0-9]+$ ]] || [ "$kb" -eq 0 ]; then
    echo "bench: peak_rss_kb: $*: no peak memory read (got '${kb}')" >&2
    echo "failed (not measured)"
    return 1
  fi
  echo "$kb"
}

# ratio A B [DECIMALS]: A/B with DECIMALS (default 2) decimals; "n/a" unless
# both are numbers and B is above zero.
ratio() {
  if ! is_number "${1-}" || ! is_number "${2-}"; then echo "n/a"; return; fi
  awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b <= 0) print "n/a"; else printf "%.*f\n", d, a / b }'
}

# with_unit V UNIT: "V UNIT" for a number, V as it is otherwise ("failed (exit 2)").
with_unit() { if is_number "${1-}"; then echo "$1 $2"; else echo "${1:-not measured}"; fi; }

# why_not LABEL V: why V (not a figure) fails its row, for a "met?" cell.
why_not() {
  local label=$1 v=${2-} inner
  case $v in
    "failed ("*")")
      inner=${v#failed (}
      inner=${inner%)}
      case $inner in
        exit*) echo "run failed: $label $inner" ;;
        *) echo "$label $inner" ;;
      esac
      ;;
    *) echo "$label not measured" ;;
  esac
}

# goal_met OP VALUE GOAL [LABEL FIGURE]...: the "met?" cell of a row whose goal
# is VALUE OP GOAL (OP: lt for "<", le for "≤"). Each LABEL FIGURE pair is a
# measurement the row rests on (golive's and the peer's); the first that is not
# a figure makes the cell "no (run failed: LABEL exit N)" or "no (LABEL not
# measured)". Only when all are figures and VALUE is a number can it be "yes".
goal_met() {
  local op=$1 v=${2-} goal=$3
  shift 3
  while [ $# -ge 2 ]; do
    is_figure "$2" || { echo "no ($(why_not "$1" "$2"))"; return; }
    shift 2
  done
  is_number "$v" || { echo "no (not measured: $v)"; return; }
  awk -v v="$v" -v g="$goal" -v op="$op" 'BEGIN {
    ok = (op == "lt") ? (v < g) : (op == "le") ? (v <= g) : 0
    print ok ? "yes" : "no"
  }'
}

# prometheus_bench_setup: for a bench of metric-gate against Debian's
# Prometheus: the tools present and the binary built, a work dir in $work,
# and on exit the Prometheus of start_prometheus stopped and $work removed.
prometheus_bench_setup() {
  local b
  for b in prometheus promtool; do
    command -v "$b" >/dev/null || { echo "bench: $b missing; run make deps" >&2; exit 1; }
  done
  [ -x "$BIN/metric-gate" ] || { echo "bench: build first: cargo build --release -p metric-gate" >&2; exit 1; }
  work=$(mktemp -d)
  prom_pid=
  trap 'bench_cleanup' EXIT
}

bench_cleanup() {
  [ -n "${prom_pid:-}" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
  rm -rf "$work"
}

# start_prometheus WORK: Debian's Prometheus over WORK/data (backfilled
# history), without scrape jobs, on a free loopback port. Sets url and
# prom_pid; the caller's cleanup kills prom_pid.
start_prometheus() {
  local work=$1 port
  printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' > "$work/prometheus.yml"
  # A free loopback port: try a few; a port taken meanwhile makes Prometheus exit.
  url=
  for _ in $(seq 1 10); do
    port=$(shuf -i 20000-60000 -n 1)
    ss -Htln "sport = :$port" | grep -q . && continue
    prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
      --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" --log.level=warn \
      >"$work/prometheus.log" 2>&1 &
    prom_pid=$!
    for _ in $(seq 1 150); do
      kill -0 "$prom_pid" 2>/dev/null || break
      if curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
        url="http://127.0.0.1:$port"
        break
      fi
      sleep 0.2
    done
    [ -n "$url" ] && break
    kill "$prom_pid" 2>/dev/null; wait "$prom_pid" 2>/dev/null || true
    prom_pid=
  done
  [ -n "$url" ] || { cat "$work/prometheus.log" >&2; echo "bench: Prometheus did not start" >&2; exit 1; }
}
