# shellcheck shell=bash
# Shared helpers for bench/<tool>.sh (sourced).

# median_ms CMD...: run CMD $RUNS times (default 20), print the median wall time in ms.
median_ms() {
  local runs=${RUNS:-20} i t0 t1 times=()
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f\n", m/1000}'
}

# peak_rss_kb CMD...: peak resident memory of CMD in KiB (GNU time if present, else /proc polling).
peak_rss_kb() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1
  else
    "$@" >/dev/null 2>&1 &
    local pid=$! peak=0 rss
    while kill -0 "$pid" 2>/dev/null; do
      rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
      [ "${rss:-0}" -gt "$peak" ] && peak=$rss
      sleep 0.005
    done
    echo "$peak"
  fi
}

# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }
