#!/usr/bin/env bash
# Benchmark: hashing. `audit` against sha1sum, `manifest verify` and `verify --media` against
# b3sum, on the same generated files in one run, page cache warm.
#
# Usage: [RUNS=N] [BIN=PATH] bench/hash.sh [WORK_DIR]
#   WORK_DIR  where to generate (default: ${TMPDIR:-/tmp}/wsus-airgap-bench-hash); the trees
#             are kept and reused while the generator's settings below are unchanged. About
#             7.5 GB.
#   RUNS      rounds (default 5); each round runs every command once, each next to its peer,
#             so that a busy moment of the machine hits both alike. Each ratio is the median
#             over rounds of the ratio within a round (judged against the target); the ratio
#             of the median wall times is printed beside it.
#   BIN       the wsus-airgap to measure (default: this tree's release build), to compare
#             builds on the same data.
#   COLD      1: drop the page cache before every command (needs root: writes
#             /proc/sys/vm/drop_caches), so that each reads its files from the disk; the
#             default is a warm cache, where the hashing is measured.
# Needs: sha1sum (coreutils), b3sum.
#
# Trees (examples/synth-site):
#   pareto: 1,500 content files, 64 KiB to 96 MiB, Pareto sizes (shape 0.65), 2.69 GB;
#   big:    one 5 GB .esd file and 20 files like the above: one file must not serialise the run.
# Peers: `sha1sum` and `b3sum` over the same list of files, one process each (b3sum maps each
# file and hashes it on all cores). Targets, each a ratio of wall times in the same run:
#   audit / sha1sum <= 0.20 (pareto); manifest verify / b3sum and verify --media / b3sum
#   <= 1.10 (both trees).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
cold=${COLD:-0}
if [ "$cold" = 1 ] && ! [ -w /proc/sys/vm/drop_caches ]; then
  echo "bench: COLD=1 needs a writable /proc/sys/vm/drop_caches (root)" >&2; exit 2
fi
# settle: with COLD=1, write back and drop the page cache.
settle() { if [ "$cold" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi; }
case $runs in '' | *[!0-9]* | 0*) echo "bench: RUNS must be a whole number >= 1" >&2; exit 2 ;; esac
dir=${1:-${TMPDIR:-/tmp}/wsus-airgap-bench-hash}
for tool in sha1sum b3sum; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 2; }
done

cargo build --release --quiet --bin wsus-airgap --example synth-site
bin=${BIN:-target/release/wsus-airgap}
synth=target/release/examples/synth-site
source bench/lib.sh

pareto_args=(--files 1500 --min-size 65536 --max-size 100663296 --pareto 0.65 --seed 16)
big_args=(--files 20 --min-size 65536 --max-size 100663296 --pareto 0.65 --large 1
  --large-size 5000000000 --seed 17)
mkdir -p "$dir"
"$bin" keygen --force --secret "$dir/site.key" --public "$dir/site.pub" > /dev/null
# generate NAME ARGS...: the media folder $dir/NAME (WsusContent, signed manifest).
generate() {
  local name=$1; shift
  local media="$dir/$name" stamp="$dir/$name.settings"
  if [ ! -d "$media/WsusContent" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$*" ]; then
    rm -rf "$media" "$stamp"
    echo "bench: generating $media ..."
    "$synth" "$media/WsusContent" "$@" > /dev/null
    echo "$*" > "$stamp"
  fi
  "$bin" manifest create --quiet --content "$media/WsusContent" --key "$dir/site.key" \
    --sequence 1 --out "$media" > /dev/null
}
generate pareto "${pareto_args[@]}"
generate big "${big_args[@]}"

# time_of COMMAND...: the wall, user and system seconds of one run, on one line.
time_of() {
  local TIMEFORMAT='%3R %3U %3S' out
  out=$( { time "$@" > /dev/null 2>&1; } 2>&1 ) || { echo "bench: failed: $*" >&2; exit 1; }
  echo "$out"
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# round_ratio A B: the median over rounds of A's wall time over B's in the same round (the
# machine's load changes less within a round than across the run).
round_ratio() {
  paste -d ' ' <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") | awk '{print $1 / $2}' | median |
    awk '{printf "%.2f", $1}'
}

# measure TREE: runs COMMANDS round-robin; sets T[NAME] to the median wall time, CPU[NAME] to
# the median user + system time and W[NAME] to every wall time, round by round.
declare -A T CPU W
measure() {
  local media="$dir/$1"; shift
  local list
  list=$(cd "$media/WsusContent" && find . -mindepth 2 -type f -print0 | sort -z | tr '\0' '\n')
  local files bytes
  files=$(wc -l <<<"$list")
  bytes=$(cd "$media/WsusContent" && tr '\n' '\0' <<<"$list" | xargs -0 stat -c %s | awk '{s += $1} END {printf "%.0f", s}')
  if [ "$cold" != 1 ]; then # warm the cache
    (cd "$media/WsusContent" && tr '\n' '\0' <<<"$list" | xargs -0 cat > /dev/null)
  fi
  echo "$(basename "$media"): $files content files, $bytes bytes ($(awk -v b="$bytes" 'BEGIN {printf "%.2f", b / 1e9}') GB)"
  local -A walls cpus
  local round name
  for round in $(seq "$runs"); do
    for name in "${ORDER[@]}"; do
      settle
      read -r wall user sys < <(cd "$media/WsusContent" && time_of bash -c "${COMMANDS[$name]}")
      walls[$name]+="$wall "
      cpus[$name]+="$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}') "
    done
  done
  while IFS= read -r name; do
    W[$name]=${walls[$name]% }
    T[$name]=$(tr ' ' '\n' <<<"${walls[$name]}" | grep . | median)
    CPU[$name]=$(tr ' ' '\n' <<<"${cpus[$name]}" | grep . | median)
    printf '  %-28s %7.3f s wall %7.3f s cpu %6.0f MB/s   (runs: %s)\n' "$name" "${T[$name]}" \
      "${CPU[$name]}" "$(awk -v b="$bytes" -v t="${T[$name]}" 'BEGIN {print b / t / 1e6}')" "${walls[$name]% }"
  done < <(printf '%s\n' "${!COMMANDS[@]}" | sort)
}

abs=$(cd "$dir" && pwd)
absbin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
common="--quiet --trust '$abs/site.pub'"
echo "bench: $(nproc) CPUs, median of $runs rounds, page cache $([ "$cold" = 1 ] && echo "dropped before each command" || echo warm); $("$absbin" --version 2>/dev/null || echo "$absbin"),"
echo "       $(sha1sum --version | head -n 1), $(b3sum --version)"
echo
declare -A COMMANDS=(
  [audit]="'$absbin' audit --quiet ."
  ["audit --jobs 1"]="'$absbin' audit --quiet --jobs 1 ."
  [sha1sum]="find . -mindepth 2 -type f -print0 | xargs -0 sha1sum"
  ["manifest verify"]="'$absbin' manifest verify $common '$abs/pareto'"
  ["verify --media"]="'$absbin' verify $common --state '$abs/state.json' --media '$abs/pareto'"
  [b3sum]="find . -mindepth 2 -type f -print0 | xargs -0 b3sum"
)
ORDER=(audit sha1sum "audit --jobs 1" "manifest verify" b3sum "verify --media")
measure pareto
declare -A R
R[audit]=$(round_ratio "${W[audit]}" "${W[sha1sum]}")
R[mv1]=$(round_ratio "${W["manifest verify"]}" "${W[b3sum]}")
R[vm1]=$(round_ratio "${W["verify --media"]}" "${W[b3sum]}")
audit=${T[audit]} sha=${T[sha1sum]} mv1=${T["manifest verify"]} vm1=${T["verify --media"]} b31=${T[b3sum]}
echo
declare -A COMMANDS=(
  ["manifest verify"]="'$absbin' manifest verify $common '$abs/big'"
  ["verify --media"]="'$absbin' verify $common --state '$abs/state.json' --media '$abs/big'"
  [b3sum]="find . -mindepth 2 -type f -print0 | xargs -0 b3sum"
)
ORDER=("manifest verify" b3sum "verify --media")
measure big
R[mv2]=$(round_ratio "${W["manifest verify"]}" "${W[b3sum]}")
R[vm2]=$(round_ratio "${W["verify --media"]}" "${W[b3sum]}")
mv2=${T["manifest verify"]} vm2=${T["verify --media"]} b32=${T[b3sum]}

# verdict LABEL KEY MEDIAN_A MEDIAN_B TARGET: one line: the median of the per-round ratios
# (judged against TARGET), then the ratio of the medians.
verdict() {
  printf '%-40s %s (target <= %s): %-7s ratio of medians %s\n' "$1" "${R[$2]}" "$5" \
    "$(met "${R[$2]} <= $5")" "$(ratio "$3" "$4")"
}
echo
echo "wall-time ratios, median over rounds of the ratio in each round:"
verdict "audit / sha1sum (pareto):" audit "$audit" "$sha" 0.20
verdict "manifest verify / b3sum (pareto):" mv1 "$mv1" "$b31" 1.10
verdict "verify --media / b3sum (pareto):" vm1 "$vm1" "$b31" 1.10
verdict "manifest verify / b3sum (one 5 GB file):" mv2 "$mv2" "$b32" 1.10
verdict "verify --media / b3sum (one 5 GB file):" vm2 "$vm2" "$b32" 1.10
