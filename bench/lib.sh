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

nothing() { :; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k * 1024 / 1e6}'; } # KiB -> MB
met() { if awk "BEGIN {exit !($1)}"; then echo MET; else echo "NOT MET"; fi; }
