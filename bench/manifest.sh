#!/usr/bin/env bash
# Benchmark: the manifest layer on 1,000,000 content files.
#
# Usage: [FILES=N] [RUNS=N] [BIN=PATH] bench/manifest.sh [WORK_DIR]
#   WORK_DIR  where to generate (default: ${TMPDIR:-/tmp}/wsus-airgap-bench-manifest); the tree is
#             kept and reused while FILES is unchanged.
#   FILES     content files (default 1000000; the targets below are for that many).
#   RUNS      runs of each command (default 3); the best wall time is kept, and the highest
#             peak RSS of all runs.
#   BIN       the wsus-airgap to measure in part 2 (default: this tree's release build).
# Needs: minisign, b3sum, GNU time (/usr/bin/time).
#
# Part 1, the manifest without hashing: examples/manifest-bench builds a manifest of FILES
# synthetic entries, serializes, signs and writes it ("create"), then reads, verifies and
# parses it back ("verify"); minisign signs and verifies the same manifest file.
# Targets: create (serializing, signing and writing, as the example times it, without making
# up the entries) and verify (the manifest's parse and signature check) each < 2 s.
# Part 2, end to end on a generated WsusContent of FILES small files (1 B to 8 KiB), page
# cache warm: `manifest create` and `manifest verify` (listing, hashing every file, signing or
# verifying) against b3sum hashing the same files. Targets: each < 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."

files=${FILES:-1000000}
runs=${RUNS:-3}
case $files in '' | *[!0-9]* | 0*) echo "bench: FILES must be a whole number >= 1" >&2; exit 2 ;; esac
case $runs in '' | *[!0-9]* | 0*) echo "bench: RUNS must be a whole number >= 1" >&2; exit 2 ;; esac
dir=${1:-${TMPDIR:-/tmp}/wsus-airgap-bench-manifest}
gnu_time=/usr/bin/time
for tool in minisign b3sum; do
  command -v $tool >/dev/null || { echo "bench: $tool is not installed" >&2; exit 2; }
done
[ -x "$gnu_time" ] || { echo "bench: GNU time ($gnu_time) is not installed" >&2; exit 2; }

cargo build --release --quiet --bins --examples
bin=${BIN:-target/release/wsus-airgap}
bench=target/release/examples/manifest-bench

mkdir -p "$dir"
site="$dir/media"
stamp="$dir/.bench-settings"
if [ ! -d "$site/WsusContent" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$files" ]; then
  rm -rf "$site" "$stamp"
  echo "bench: generating $files files in $site/WsusContent ..."
  target/release/examples/synth-site "$site/WsusContent" --files "$files" --min-size 1 \
    --max-size 8192 > /dev/null
  echo "$files" > "$stamp"
fi
layer="$dir/layer"
mkdir -p "$layer"
source bench/lib.sh
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.1f", a / b; else print "inf"}'; }
b3sum_all() { find "$site/WsusContent" -type f -print0 | xargs -0 b3sum > /dev/null; }

echo "bench: $files files, $(nproc) CPUs, best of $runs"
echo
echo "part 1: the manifest layer, no hashing of content"
best_of "manifest create (build, sign)" nothing "$bench" create "$layer" --entries "$files"
create_wall=$WALL; create_rss=$RSS
printf 'manifest.json: %s bytes\n' "$(stat -c %s "$layer/manifest.json")"
best_of "manifest verify (verify, parse)" nothing "$bench" verify "$layer"
verify_wall=$WALL; verify_rss=$RSS
minisign -G -W -f -p "$layer/minisign.pub" -s "$layer/minisign.key" > /dev/null
best_of "minisign -S (sign the same file)" nothing minisign -S -s "$layer/minisign.key" \
  -m "$layer/manifest.json" -x "$layer/minisign.sig"
sign_wall=$WALL
best_of "minisign -V (verify ours)" nothing minisign -Vq -p "$layer/site.pub" -m "$layer/manifest.json"
minisign_wall=$WALL
echo
# The example's own figure: its wall time also holds making up the million entries.
written=$("$bench" create "$layer" --entries "$files" |
  grep -oE 'serialized, signed and written in [0-9.]+' | awk '{print $NF}')
printf 'create (serialize, sign, write): %5.2f s (target < 2 s): %s; peak RSS %.1f MB; %s x minisign -S\n' \
  "$written" "$(met "$written < 2")" "$(mb "$create_rss")" "$(ratio "$written" "$sign_wall")"
printf 'verify (parse and signature check): %5.2f s (target < 2 s): %s; peak RSS %.1f MB; %s x minisign -V\n' \
  "$verify_wall" "$(met "$verify_wall < 2")" "$(mb "$verify_rss")" "$(ratio "$verify_wall" "$minisign_wall")"

echo
echo "part 2: end to end, hashing every file"
"$bin" keygen --force --secret "$dir/site.key" --public "$dir/site.pub" > /dev/null
b3sum_all # warm the page cache
best_of "wsus-airgap manifest create" nothing "$bin" manifest create --quiet --content "$site/WsusContent" \
  --key "$dir/site.key" --sequence 1 --out "$site"
e2e_create=$WALL; e2e_create_rss=$RSS
best_of "wsus-airgap manifest verify" nothing "$bin" manifest verify --quiet "$site" --trust "$dir/site.pub"
e2e_verify=$WALL; e2e_verify_rss=$RSS
best_of "b3sum (find | xargs)" nothing bash -c "find '$site/WsusContent' -type f -print0 | xargs -0 b3sum"
b3_wall=$WALL
echo
printf 'manifest create: %5.2f s (target < 10 s): %s; peak RSS %.1f MB; %s x b3sum\n' \
  "$e2e_create" "$(met "$e2e_create < 10")" "$(mb "$e2e_create_rss")" "$(ratio "$e2e_create" "$b3_wall")"
printf 'manifest verify: %5.2f s (target < 10 s): %s; peak RSS %.1f MB; %s x b3sum\n' \
  "$e2e_verify" "$(met "$e2e_verify < 10")" "$(mb "$e2e_verify_rss")" "$(ratio "$e2e_verify" "$b3_wall")"
