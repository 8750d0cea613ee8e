#!/usr/bin/env bash
# Benchmark: `wsus-airgap inspect` and `check` on a large export package, against `cabextract`
# unpacking the same cabinet.
#
# Usage: [SCALE=N] [RUNS=N] bench/package.sh [WORK_DIR]
#   WORK_DIR  where to generate the package (default: ${TMPDIR:-/tmp}/wsus-airgap-bench-package-x
#             followed by SCALE); kept and reused while the generator's settings are unchanged.
#   SCALE     size multiplier (whole number, default 2): multiplies the updates and the missing
#             file references, so memory scaling can be checked. SCALE=1 gives 40,000 updates
#             and a metadata.txt of about 580 MB, SCALE=2 80,000 and about 1.16 GB, SCALE=3
#             about 1.74 GB; SCALE=4 and above pass the cabinet format's limits (2 GiB of data
#             per folder and per file).
#   RUNS      runs of each command (default 3); the best wall time is kept, and the highest peak
#             RSS of all runs.
# Needs: cabextract, GNU time (/usr/bin/time).
#
# The page cache is warmed first, so the figures are CPU-bound: cabinet decompression plus
# parsing for inspect, decompression plus writing for cabextract. MB here is 10^6 bytes.
# Targets (at SCALE=2: >= 60,000 updates, >= 1 GB of metadata.txt): inspect and check wall
# time <= 1.5x cabextract's; peak RSS < 300 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

scale=${SCALE:-2}
runs=${RUNS:-3}
case $scale in '' | *[!0-9]* | 0*) echo "bench: SCALE must be a whole number >= 1" >&2; exit 2 ;; esac
case $runs in '' | *[!0-9]* | 0*) echo "bench: RUNS must be a whole number >= 1" >&2; exit 2 ;; esac
dir=${1:-${TMPDIR:-/tmp}/wsus-airgap-bench-package-x$scale}
gnu_time=/usr/bin/time
generator_args=(--files 2 --updates $((40000 * scale)) --missing $((80000 * scale))
  --languages 8 --description-bytes 1400)

command -v cabextract >/dev/null || { echo "bench: cabextract is not installed" >&2; exit 2; }
[ -x "$gnu_time" ] || { echo "bench: GNU time ($gnu_time) is not installed" >&2; exit 2; }

cargo build --release --quiet --bins --examples
bin=target/release/wsus-airgap

source bench/lib.sh
trap 'rm -f "$timings"; rm -rf "$extract"' EXIT
mkdir -p "$dir"
cab="$dir/big.cab"
extract="$dir/extract"
stamp="$dir/.bench-settings"
if [ ! -f "$cab" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${generator_args[*]}" ]; then
  rm -rf "$dir/WsusContent" "$cab" "$extract" "$stamp"
  echo "bench: generating $cab ..."
  target/release/examples/synth-site "$dir/WsusContent" --package "$cab" "${generator_args[@]}" > /dev/null
  echo "${generator_args[*]}" > "$stamp"
fi

# member_size NAME: the uncompressed size of member NAME, from `cabextract -l`.
listing=$(cabextract -l "$cab")
member_size() {
  awk -F'|' -v name="$1" '{gsub(/^ +| +$/, "", $1); gsub(/^ +| +$/, "", $3)} $3 == name {print $1}' \
    <<<"$listing"
}
xml_bytes=$(member_size package.xml)
meta_bytes=$(member_size metadata.txt)
if [ -z "$xml_bytes" ] || [ -z "$meta_bytes" ]; then
  echo "bench: $cab lacks package.xml or metadata.txt" >&2; exit 1
fi
cab_bytes=$(stat -c %s "$cab")
cat "$cab" > /dev/null # warm the page cache

clear_extract() { rm -rf "$extract"; }

echo "bench: SCALE=$scale (${generator_args[*]}), $(nproc) CPUs, best of $runs"
printf 'cabinet:      %13s bytes (%s)\n' "$cab_bytes" "$cab"
printf 'package.xml:  %13s bytes\n' "$xml_bytes"
printf 'updates:      %13s\n' "$((40000 * scale))"
printf 'metadata.txt: %13s bytes (%.0f MB; >= 1 GB at SCALE=2)\n' "$meta_bytes" \
  "$(awk -v b="$meta_bytes" 'BEGIN {print b / 1e6}')"
echo
best_of "wsus-airgap inspect" nothing "$bin" inspect "$cab"; inspect_wall=$WALL; inspect_rss=$RSS
best_of "cabextract" clear_extract cabextract -q -d "$extract" "$cab"; cab_wall=$WALL
# check exits 1: the generated package references files the folder lacks.
best_of "wsus-airgap check" nothing sh -c '"$0" check --quiet --package "$1" --content "$2"; [ $? -le 1 ]' \
  "$bin" "$cab" "$dir/WsusContent"
check_wall=$WALL; check_rss=$RSS

ratio=$(awk -v a="$inspect_wall" -v b="$cab_wall" 'BEGIN {printf "%.2f", a / b}')
check_ratio=$(awk -v a="$check_wall" -v b="$cab_wall" 'BEGIN {printf "%.2f", a / b}')
echo
printf 'inspect parse throughput:       %7.1f MB/s (package.xml + metadata.txt, uncompressed)\n' \
  "$(awk -v b="$((xml_bytes + meta_bytes))" -v t="$inspect_wall" 'BEGIN {print b / t / 1e6}')"
printf 'inspect / cabextract wall time: %7.2f x    (target <= 1.5x): %s\n' "$ratio" "$(met "$ratio <= 1.5")"
printf 'check / cabextract wall time:   %7.2f x    (target <= 1.5x): %s\n' "$check_ratio" "$(met "$check_ratio <= 1.5")"
printf 'inspect peak RSS:               %7.1f MB   (target < 300 MB): %s\n' "$(mb "$inspect_rss")" \
  "$(met "$(mb "$inspect_rss") < 300")"
printf 'check peak RSS:                 %7.1f MB   (target < 300 MB): %s\n' "$(mb "$check_rss")" \
  "$(met "$(mb "$check_rss") < 300")"
