#!/usr/bin/env bash
# Every benchmark in one run: bench/hash.sh, package.sh, mirror.sh and manifest.sh one after
# the other (each with its own defaults and work folder, see each script), their full output
# kept in OUT_DIR, then every target line of all four together: the ratio against the peer,
# the target and whether it is met. About 15 minutes on 2 CPUs once the data exists (the first
# run generates about 12 GB under ${TMPDIR:-/tmp}); run it on a machine doing nothing else.
#
# Usage: [RUNS=N] [BIN=PATH] bench/all.sh [OUT_DIR]   (OUT_DIR default: target/bench)
# Needs what the four scripts need: sha1sum, b3sum, cabextract, rsync, minisign, python3 and
# GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/bench}
mkdir -p "$out"
for bench in hash package mirror manifest; do
  echo "bench: $bench ..." >&2
  if ! "bench/$bench.sh" > "$out/$bench.txt" 2>&1; then
    echo "bench: $bench.sh failed; see $out/$bench.txt" >&2
    exit 1
  fi
done
echo "bench: $(date -u +%Y-%m-%d), $(nproc) CPUs; every target (full output in $out/):"
grep -h 'target' "$out"/{hash,package,mirror,manifest}.txt | grep -E 'MET|NOT MET'
