#!/usr/bin/env bash
# Benchmark: `wsus-airgap mirror` against `rsync -a` and `cp -a` + `sync` on the same generated
# trees.
#
# Usage: [FILES=N] [RUNS=N] [BIN=PATH] bench/mirror.sh [WORK_DIR]
#   WORK_DIR  where to generate (default: ${TMPDIR:-/tmp}/wsus-airgap-bench-mirror); the source
#             tree is kept and reused while FILES is unchanged.
#   FILES     content files (default 50000), 1 KiB to 64 KiB each.
#   RUNS      runs of each timed step (default 3); the median wall time is kept (the best in
#             step 3).
#   BIN       the wsus-airgap to measure (default: this tree's release build).
# Needs: rsync, python3, GNU time (/usr/bin/time).
#
# Steps, each timed for each tool on its own destination, page cache warm:
#   1. first copy into an empty destination: of the FILES tree against rsync (information),
#      and of a Pareto tree (1,500 files, 64 KiB to 96 MiB, about 2.7 GB) against `cp -a`
#      followed by `sync`, since wsus-airgap's copies are on disk when it returns. Target:
#      wsus-airgap's throughput >= cp -a + sync's. Each Pareto copy is deleted after its run,
#      so that page-cache pressure from earlier copies does not slow later ones. (`sync`
#      writes back every file system's dirty data, other programs' too: on a shared machine
#      its time varies with what else runs);
#   2. a second incremental run when nothing changed. Target: wsus-airgap <= rsync -a;
#   3. 10% of the source files rewritten (same size, new bytes and time), then a run.
#      Target: wsus-airgap's copy throughput >= 0.8x rsync's. Each run gets a fresh 10%.
# wsus-airgap flushes every copied file to disk before renaming it into place; rsync does not.
# Each timed run starts after a `sync`, so neither pays for the other's pending writes.
set -euo pipefail
cd "$(dirname "$0")/.."

files=${FILES:-50000}
runs=${RUNS:-3}
case $files in '' | *[!0-9]* | 0*) echo "bench: FILES must be a whole number >= 1" >&2; exit 2 ;; esac
case $runs in '' | *[!0-9]* | 0*) echo "bench: RUNS must be a whole number >= 1" >&2; exit 2 ;; esac
dir=${1:-${TMPDIR:-/tmp}/wsus-airgap-bench-mirror}
gnu_time=/usr/bin/time
for tool in rsync python3; do
  command -v $tool >/dev/null || { echo "bench: $tool is not installed" >&2; exit 2; }
done
[ -x "$gnu_time" ] || { echo "bench: GNU time ($gnu_time) is not installed" >&2; exit 2; }

cargo build --release --quiet --bins --examples
bin=${BIN:-target/release/wsus-airgap}
source bench/lib.sh

mkdir -p "$dir"
src="$dir/source"
stamp="$dir/.bench-settings"
if [ ! -d "$src" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$files" ]; then
  rm -rf "$src" "$stamp"
  echo "bench: generating $files files in $src ..."
  target/release/examples/synth-site "$src" --files "$files" --min-size 1024 --max-size 65536 > /dev/null
  echo "$files" > "$stamp"
fi
pareto="$dir/pareto"
pareto_args=(--files 1500 --min-size 65536 --max-size 100663296 --pareto 0.65 --seed 16)
if [ ! -d "$pareto" ] || [ "$(cat "$pareto.settings" 2>/dev/null)" != "${pareto_args[*]}" ]; then
  rm -rf "$pareto" "$pareto.settings"
  echo "bench: generating a Pareto tree in $pareto ..."
  target/release/examples/synth-site "$pareto" "${pareto_args[@]}" > /dev/null
  echo "${pareto_args[*]}" > "$pareto.settings"
fi
ours="$dir/ours"
theirs="$dir/rsync"
export WSUS_AIRGAP_CACHE_DIR="$dir/cache"
rm -rf "$ours" "$theirs" "$dir/pareto-ours" "$dir/pareto-cp" "$WSUS_AIRGAP_CACHE_DIR"
bytes=$(du -sb "$src" | cut -f1)
pareto_bytes=$(du -sb "$pareto" | cut -f1)
cat_all() { find "$src" "$pareto" -type f -print0 | xargs -0 cat > /dev/null; }
cat_all # warm the page cache

# change_tenth N: rewrites every tenth source file (offset N), same size, new bytes and time.
change_tenth() {
  python3 - "$src" "$1" <<'PY'
import os, sys
root, offset = sys.argv[1], int(sys.argv[2])
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
changed = 0
for index, path in enumerate(paths):
    if index % 10 == offset % 10:
        size = os.path.getsize(path)
        with open(path, "r+b") as file:
            file.write(os.urandom(size))
        changed += size
print(changed)
PY
}

# settle: writes back what earlier steps left dirty, so that no run pays for another's writes.
settle() { sync; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "inf"}'; }
echo "bench: $files files, $(awk -v b="$bytes" 'BEGIN {printf "%.0f", b / 1e6}') MB, $(nproc) CPUs, best of $runs"
echo
echo "1. first copy into an empty destination, $files files"
RUNS_SAVED=$runs; runs=1
best_of "wsus-airgap mirror" settle "$bin" mirror --quiet "$src" "$ours"; first_ours=$WALL
best_of "rsync -a" settle rsync -a "$src/" "$theirs/"; first_theirs=$WALL
runs=$RUNS_SAVED
cp_sync() { cp -a "$1" "$2" && sync; }
echo
echo "1b. first copy into an empty destination, Pareto tree ($(awk -v b="$pareto_bytes" 'BEGIN {printf "%.0f", b / 1e6}') MB)"
drop_pareto_ours() { rm -rf "$dir/pareto-ours" "$dir/pareto-cache"; sync; }
drop_pareto_cp() { rm -rf "$dir/pareto-cp"; sync; }
median_of "wsus-airgap mirror" settle drop_pareto_ours env WSUS_AIRGAP_CACHE_DIR="$dir/pareto-cache" \
  "$bin" mirror --quiet "$pareto" "$dir/pareto-ours"
pareto_ours=$WALL
median_of "cp -a + sync" settle drop_pareto_cp bash -c "$(declare -f cp_sync); cp_sync '$pareto' '$dir/pareto-cp'"
pareto_cp=$WALL
echo
echo "2. second incremental run, nothing changed"
median_of "wsus-airgap mirror" settle nothing "$bin" mirror --quiet "$src" "$ours"; noop_ours=$WALL
median_of "rsync -a" settle nothing rsync -a "$src/" "$theirs/"; noop_theirs=$WALL
echo
echo "3. 10% of the files changed"
changed_ours=; changed_theirs=
for run in $(seq "$runs"); do
  changed=$(change_tenth "$run")
  settle
  "$gnu_time" -o "$timings" -f '%e' "$bin" mirror --quiet "$src" "$ours" > /dev/null
  wall=$(cat "$timings")
  if [ -z "$changed_ours" ] || awk -v a="$wall" -v b="$changed_ours" 'BEGIN {exit !(a < b)}'; then changed_ours=$wall; fi
  settle
  "$gnu_time" -o "$timings" -f '%e' rsync -a "$src/" "$theirs/"
  wall=$(cat "$timings")
  if [ -z "$changed_theirs" ] || awk -v a="$wall" -v b="$changed_theirs" 'BEGIN {exit !(a < b)}'; then changed_theirs=$wall; fi
done
printf '%-34s %7.2f s wall\n' "wsus-airgap mirror" "$changed_ours"
printf '%-34s %7.2f s wall\n' "rsync -a" "$changed_theirs"
if ! diff -r "$ours" "$theirs" > /dev/null; then echo "bench: the destinations differ" >&2; exit 1; fi
echo
mbs() { awk -v b="$1" -v t="$2" 'BEGIN {print b / t / 1e6}'; }
printf 'first copy, %s files: wsus-airgap %.0f MB/s, rsync %.0f MB/s (%s x)\n' \
  "$files" "$(mbs "$bytes" "$first_ours")" "$(mbs "$bytes" "$first_theirs")" "$(ratio "$first_theirs" "$first_ours")"
printf 'first copy, Pareto tree: wsus-airgap %.0f MB/s, cp -a + sync %.0f MB/s: %s x (target >= 1.00): %s\n' \
  "$(mbs "$pareto_bytes" "$pareto_ours")" "$(mbs "$pareto_bytes" "$pareto_cp")" \
  "$(ratio "$pareto_cp" "$pareto_ours")" "$(met "$pareto_cp / $pareto_ours >= 1.0")"
printf 'nothing changed: wsus-airgap / rsync wall time %s x (target <= 1.00): %s\n' \
  "$(ratio "$noop_ours" "$noop_theirs")" "$(met "$noop_ours <= $noop_theirs")"
printf '10%% changed (%.0f MB): copy throughput wsus-airgap / rsync %s x (target >= 0.80): %s\n' \
  "$(awk -v b="$changed" 'BEGIN {print b / 1e6}')" "$(ratio "$changed_theirs" "$changed_ours")" \
  "$(met "$changed_theirs / $changed_ours >= 0.8")"
