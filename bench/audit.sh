#!/usr/bin/env bash
# Benchmark: `wsus-airgap audit` against sha1sum and b3sum on the same generated WsusContent.
#
# Usage: bench/audit.sh [SITE_DIR]
#   SITE_DIR  where to generate the tree (default: target/bench/audit-site); kept and reused
#             while the generator's settings below are unchanged.
# Needs: sha1sum (coreutils), b3sum (`cargo install b3sum`), GNU time is not needed.
#
# The tree is about 2.3 GB: 2,000 files spread log-uniformly from 1 KiB to 8 MiB, plus four
# 128 MiB .exe/.esd files. The page cache is warmed first, so the figures are CPU-bound
# hashing, the case where the tool's own speed matters most. Each command runs RUNS times
# (default 3); the best wall time and its CPU time (user + system) are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

site=${1:-target/bench/audit-site}
runs=${RUNS:-3}
generator_args=(--files 2000 --min-size 1024 --max-size 8388608 --large 4 --large-size 134217728 --seed 11)

for tool in sha1sum b3sum; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 2; }
done

cargo build --release --quiet --bin wsus-airgap --example synth-site
bin=target/release/wsus-airgap

stamp="$site/.bench-settings"
if [ "$(cat "$stamp" 2>/dev/null)" != "${generator_args[*]}" ]; then
  rm -rf "$site"
  target/release/examples/synth-site "$site" "${generator_args[@]}"
  echo "${generator_args[*]}" > "$stamp"
fi

# Only the content files (the names every tool hashes), in one list for all tools.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
(cd "$site" && find . -mindepth 2 -type f -name '*.*' -print0 | sort -z) > "$list"
files=$(tr -cd '\0' < "$list" | wc -c)
bytes=$(cd "$site" && xargs -0 stat -c %s < "$list" | awk '{s+=$1} END {print s}')
(cd "$site" && xargs -0 cat < "$list" > /dev/null) # warm the page cache

# best_of NAME COMMAND...: runs COMMAND $runs times; sets WALL and CPU (seconds) of the best.
best_of() {
  local name=$1; shift
  WALL=; CPU=
  for _ in $(seq "$runs"); do
    local out
    out=$( { TIMEFORMAT='%R %U %S'; time "$@" > /dev/null; } 2>&1 | tail -n 1)
    read -r real user sys <<<"$out"
    if [ -z "$WALL" ] || awk -v a="$real" -v b="$WALL" 'BEGIN {exit !(a < b)}'; then
      WALL=$real; CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.3f", u + s}')
    fi
  done
  printf '%-34s %7.3f s wall %7.3f s cpu %7.0f MB/s\n' "$name" "$WALL" "$CPU" \
    "$(awk -v b="$bytes" -v t="$WALL" 'BEGIN {print b / t / 1e6}')"
}

in_site() { (cd "$site" && "$@"); }
sha1sum_all() { in_site xargs -0 sha1sum < "$list"; }
sha1sum_parallel() { in_site xargs -0 -P "$(nproc)" -n 50 sha1sum < "$list"; }
b3sum_all() { in_site xargs -0 b3sum < "$list"; }
b3sum_one_thread() { in_site xargs -0 b3sum --num-threads 1 < "$list"; }

echo "bench: $files content files, $bytes bytes, $(nproc) CPUs, best of $runs"
best_of "wsus-airgap audit" "$bin" audit --quiet "$site"; audit_wall=$WALL; audit_cpu=$CPU
best_of "wsus-airgap audit --jobs 1" "$bin" audit --quiet --jobs 1 "$site"; audit1_wall=$WALL
best_of "sha1sum" sha1sum_all; sha_wall=$WALL; sha_cpu=$CPU
best_of "sha1sum, $(nproc) at once (xargs -P)" sha1sum_parallel; shap_wall=$WALL
best_of "b3sum" b3sum_all; b3_wall=$WALL
best_of "b3sum --num-threads 1" b3sum_one_thread; b3_cpu=$CPU

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo
echo "speed-up of audit over sha1sum (target >= 1.00):           $(ratio "$sha_wall" "$audit_wall")x"
echo "speed-up of audit over sha1sum run $(nproc) at once:              $(ratio "$shap_wall" "$audit_wall")x"
echo "speed-up of audit --jobs 1 over sha1sum (one core each):   $(ratio "$sha_wall" "$audit1_wall")x"
echo "audit wall time / b3sum wall time:                         $(ratio "$audit_wall" "$b3_wall")"
# What BLAKE3 adds to the audit's CPU time, estimated with single-threaded b3sum's CPU time
# for the same bytes: BLAKE3 / (audit - BLAKE3) is its cost on top of everything else
# (SHA-1, reading, walking). On a CPU-bound run this is bounded below by the ratio of the two
# hash speeds: see docs/speed.md.
echo "BLAKE3 on top of the rest of the audit (target < 10%):      $(awk -v b="$b3_cpu" -v a="$audit_cpu" 'BEGIN {printf "%.1f%%", 100 * b / (a - b)}')"
