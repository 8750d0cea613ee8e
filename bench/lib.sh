# Helpers shared by the benchmark scripts; sourced, not run. Callers set `runs` and
# `gnu_time` first.

timings=$(mktemp)
trap 'rm -f "$timings"' EXIT

# best_of NAME SETUP COMMAND...: runs SETUP then, timed, COMMAND, $runs times; sets WALL to the
# best wall time (seconds) and RSS to the highest peak RSS (KiB) of all runs.
best_of() {
  local name=$1 setup=$2; shift 2
  WALL=; RSS=0
  for _ in $(seq "$runs"); do
    $setup
    if ! "$gnu_time" -o "$timings" -f '%e %M' "$@" > /dev/null; then
      echo "bench: $name failed:" >&2; cat "$timings" >&2; exit 1
    fi
    local wall rss
    read -r wall rss < "$timings"
    if [ -z "$WALL" ] || awk -v a="$wall" -v b="$WALL" 'BEGIN {exit !(a < b)}'; then WALL=$wall; fi
    if [ "$rss" -gt "$RSS" ]; then RSS=$rss; fi
  done
  printf '%-34s %7.2f s wall %7.1f MB peak RSS\n' "$name" "$WALL" "$(mb "$RSS")"
}

# median_of NAME SETUP CLEANUP COMMAND...: runs SETUP, then, timed, COMMAND, then CLEANUP
# (untimed), $runs times; sets WALL to the median wall time (seconds) and RSS to the highest
# peak RSS (KiB) of all runs.
median_of() {
  local name=$1 setup=$2 cleanup=$3; shift 3
  local walls=() wall rss
  RSS=0
  for _ in $(seq "$runs"); do
    $setup
    if ! "$gnu_time" -o "$timings" -f '%e %M' "$@" > /dev/null; then
      echo "bench: $name failed:" >&2; cat "$timings" >&2; exit 1
    fi
    read -r wall rss < "$timings"
    walls+=("$wall")
    if [ "$rss" -gt "$RSS" ]; then RSS=$rss; fi
    $cleanup
  done
  WALL=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
  printf '%-34s %7.2f s wall (median; runs: %s)\n' "$name" "$WALL" "${walls[*]}"
}

nothing() { :; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k * 1024 / 1e6}'; } # KiB -> MB
met() { if awk "BEGIN {exit !($1)}"; then echo MET; else echo "NOT MET"; fi; }
