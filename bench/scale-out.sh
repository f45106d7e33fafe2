#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shards on one machine: the corpus replicated (bench/replicate-corpus.sh) on /dev/shm, built
# plain and as N = 1..4 shards + merge, every shard of a run started at once with T threads each
# (what a job array of N one-core tasks does on one node), medians of REPS runs. Then the fixed
# cost of one `fastmd build` (a one-page SRC) and the merge, shown apart. Wall times: only a quiet
# machine gives figures worth recording; say which machine it was.
#   bench/scale-out.sh [FASTMD] [CORPUS] [COPIES] [REPS] [T]
#   defaults: build/release/fastmd ../shared/corpus 8 5 1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build/release/fastmd}
corpus=${2:-$here/../../shared/corpus}
copies=${3:-8}
reps=${4:-5}
threads=${5:-1}
work=$(mktemp -d /dev/shm/fastmd-scale-out.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/replicate-corpus.sh" "$corpus" "$work/src" "$copies" >/dev/null
pages=$(find "$work/src" -name '*.md' -o -name '*.markdown' | wc -l)
mkdir -p "$work/one" && printf '# One\n' >"$work/one/a.md"

now() { date +%s.%N; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# One run of N shards at once into a fresh OUT, then the merge: prints total and merge seconds.
run_shards() {
    local n=$1 out=$work/out t0 t1 t2
    rm -rf "$out"
    t0=$(now)
    for ((k = 1; k <= n; k++)); do
        "$bin" build --quiet --no-progress --threads "$threads" --shard "$k/$n" "$work/src" "$out" &
    done
    wait
    t1=$(now)
    "$bin" merge --quiet "$out"
    t2=$(now)
    echo "$(echo "$t2 - $t0" | bc) $(echo "$t2 - $t1" | bc)"
}

run_plain() {
    local out=$work/out t0
    rm -rf "$out"
    t0=$(now)
    "$bin" build --quiet --no-progress --threads "$threads" "$1" "$out"
    echo "$(now) - $t0" | bc
}

echo "fastmd $("$bin" --version | cut -d' ' -f2), $pages pages ($copies copies), $threads thread(s) per shard, $(nproc) cores, medians of $reps"
base=$(for ((r = 0; r < reps; r++)); do run_plain "$work/src"; done | median)
printf '%-10s %9s %9s %9s\n' run wall_s speedup merge_s
printf '%-10s %9.3f %9.2f %9s\n' plain "$base" 1 -
for n in 1 2 3 4; do
    : >"$work/t"
    for ((r = 0; r < reps; r++)); do run_shards "$n" >>"$work/t"; done
    wall=$(cut -d' ' -f1 "$work/t" | median)
    merge=$(cut -d' ' -f2 "$work/t" | median)
    printf '%-10s %9.3f %9.2f %9.3f\n' "$n shards" "$wall" "$(echo "$base / $wall" | bc -l)" "$merge"
done
start=$(for ((r = 0; r < reps; r++)); do run_plain "$work/one"; done | median)
printf 'start-up: one fastmd build of a one-page SRC: %.3f s; per page (plain, %d pages): %.1f us\n' \
    "$start" "$pages" "$(echo "($base - $start) / $pages * 1000000" | bc -l)"
