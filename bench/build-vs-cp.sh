#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fastmd build end to end against `cp -r` of the same tree (which creates as many files), run
# side by side, alternating, median of RUNS (default 7) after one discarded warm-up each.
# The output goes to /dev/shm (steady figures) and, beside it, to a disk folder (noisy: file
# creation on a journalled disk swings tenfold).
#   bench/build-vs-cp.sh [SRC] [THREADS]     SRC defaults to ../shared/corpus, THREADS to 1
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$here/../shared/corpus}
threads=${2:-1}
runs=${RUNS:-7}
bin=${FASTMD:-$here/build/release/fastmd}
[[ -x $bin ]] || { echo "build first: cmake --workflow --preset release" >&2; exit 1; }
[[ -d $src ]] || { echo "no source tree at $src" >&2; exit 1; }

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a - b }'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

measure() { # $1 = output parent folder
    local base=$1 tb=() tc=() t0 t1
    mkdir -p "$base"
    for ((r = -1; r < runs; r++)); do
        rm -rf "$base/fastmd-out" "$base/cp-out"
        t0=$(now); "$bin" build --quiet --threads "$threads" "$src" "$base/fastmd-out"; t1=$(now)
        ((r >= 0)) && tb+=("$(sub "$t1" "$t0")")
        t0=$(now); cp -r "$src" "$base/cp-out"; t1=$(now)
        ((r >= 0)) && tc+=("$(sub "$t1" "$t0")")
    done
    rm -rf "$base/fastmd-out" "$base/cp-out"
    local mb mc
    mb=$(printf '%s\n' "${tb[@]}" | median)
    mc=$(printf '%s\n' "${tc[@]}" | median)
    awk -v b="$mb" -v c="$mc" -v where="$2" -v t="$threads" 'BEGIN {
        printf "%-12s %-8s fastmd build %8.1f ms   cp -r %8.1f ms   ratio %.2f\n", where, t, b*1000, c*1000, b/c }'
}

pages=$(find "$src" -name '*.md' -o -name '*.markdown' | wc -l)
echo "src $src: $pages pages; $runs runs, median; fastmd $("$bin" --version)"
echo "output       threads"
measure /dev/shm/fastmd-bench "/dev/shm"
measure "$here/build/bench-disk" "disk"
