#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fastmd-mpi, R ranks x T threads in {1,2} x {1,2}: the corpus replicated (bench/replicate-corpus.sh)
# on /dev/shm, each cell built into a fresh OUT under mpirun, medians of REPS runs, beside a plain
# `fastmd build` at 1 thread run in the same loop (the baseline of the speedups). The start-up cost
# of mpirun itself (mpirun -n R /bin/true) is shown apart, and the "net" column subtracts it.
# Then the break-even corpus size where MPI across R = 2 nodes beats one node, from the costs
# measured in the same loop: c a page on one core (plain build minus a one-page build), m the
# merge a page (`fastmd merge` of the 2-rank OUT minus that of the one-page OUT) and s_mpi
# mpirun's start (-n 2 /bin/true):
# MPI pays once P * (c/T * (1 - 1/R) - m) > s_mpi (docs/scale-out.md), for T threads a node.
# Wall times: only a quiet machine gives figures worth recording; say which machine it was.
#   bench/mpi-sweep.sh [BUILD_DIR] [COPIES] [REPS]     (CORPUS: default ../shared/corpus)
#   defaults: build/release 8 5; needs fastmd and fastmd-mpi in BUILD_DIR, and mpirun.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/release}
copies=${2:-8}
reps=${3:-5}
corpus=${CORPUS:-$here/../../shared/corpus}
bin=$build/fastmd
mpibin=$build/fastmd-mpi
[[ -x $mpibin ]] || { echo "mpi-sweep: no $mpibin (configure with MPI installed)" >&2; exit 2; }
# A container: root allowed, ranks beyond the cores, shared memory only, no binding of a rank's
# threads to one core.
mpirun=(mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader)
work=$(mktemp -d /dev/shm/fastmd-mpi-sweep.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/replicate-corpus.sh" "$corpus" "$work/src" "$copies" >/dev/null
pages=$(find "$work/src" -name '*.md' -o -name '*.markdown' | wc -l)

now() { date +%s.%N; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# Seconds one command takes.
timed() {
    local t0
    t0=$(now)
    "$@" >/dev/null 2>&1 || { [[ $? -eq 1 ]] || { echo "mpi-sweep: failed: $*" >&2; exit 1; }; }
    echo "$(now) - $t0" | bc
}
plain() { rm -rf "$work/out"; timed "$bin" build --quiet --no-progress --threads 1 "$work/src" "$work/out"; }
cell() { rm -rf "$work/out"; timed "${mpirun[@]}" -n "$1" "$mpibin" --quiet --no-progress --threads "$2" "$work/src" "$work/out"; }

echo "fastmd $("$bin" --version | cut -d' ' -f2), $pages pages ($copies copies), $(nproc) cores, medians of $reps"
# One page: a build's own start-up (process, walk, OUT), apart from its pages.
mkdir -p "$work/one"
cp "$(find "$work/src" -name '*.md' | head -1)" "$work/one/page.md"
# As shard 1 of 1, so that its merge gives the merge's own fixed cost (process, lock, checks).
one() { rm -rf "$work/one-out"; timed "$bin" build --quiet --no-progress --threads 1 --shard 1/1 "$work/one" "$work/one-out"; }
declare -A t
base_runs=() one_runs=() merge_runs=() merge1_runs=()
for ((r = 0; r < reps; r++)); do
    base_runs+=("$(plain)")
    one_runs+=("$(one)")
    merge1_runs+=("$(timed "$bin" merge --quiet "$work/one-out")")
    for R in 1 2; do
        t[true-$R]+="$(timed "${mpirun[@]}" -n "$R" /bin/true) "
        for T in 1 2; do t[$R-$T]+="$(cell "$R" "$T") "; done
    done
    # The last cell left the 2-rank OUT: its merge alone (fastmd-mpi's rank 0 runs the same).
    merge_runs+=("$(timed "$bin" merge --quiet "$work/out")")
done
base=$(printf '%s\n' "${base_runs[@]}" | median)
printf 'plain build, 1 thread: %.3f s\n' "$base"
printf '%-3s %-3s %9s %12s %9s %9s\n' R T wall_s mpirun_s net_s speedup
for R in 1 2; do
    start=$(tr ' ' '\n' <<<"${t[true-$R]}" | grep . | median)
    for T in 1 2; do
        w=$(tr ' ' '\n' <<<"${t[$R-$T]}" | grep . | median)
        printf '%-3s %-3s %9.3f %12.3f %9.3f %8.2fx\n' "$R" "$T" "$w" "$start" \
            "$(echo "$w - $start" | bc)" "$(echo "$base / $w" | bc -l)"
    done
done

# The break-even: c and m per page, s_mpi for 2 ranks; linear thread scaling within a node.
start1=$(printf '%s\n' "${one_runs[@]}" | median)
merge=$(printf '%s\n' "${merge_runs[@]}" | median)
merge1=$(printf '%s\n' "${merge1_runs[@]}" | median)
smpi=$(tr ' ' '\n' <<<"${t[true-2]}" | grep . | median)
c=$(echo "($base - $start1) / $pages" | bc -l)
m=$(echo "($merge - $merge1) / $pages" | bc -l)
printf 'per page: c %.1f us on one core, m %.1f us merge; build start %.3f s, mpirun -n 2 %.3f s\n' \
    "$(echo "$c * 1000000" | bc -l)" "$(echo "$m * 1000000" | bc -l)" "$start1" "$smpi"
printf 'break-even, 2 nodes against 1 (T threads a node):'
for T in 1 2 16; do
    gain=$(echo "$c / $T * (1 - 1 / 2) - $m" | bc -l)
    if [[ $(echo "$gain > 0" | bc -l) -eq 1 ]]; then
        printf ' T=%s: %.0f pages;' "$T" "$(echo "$smpi / $gain" | bc -l)"
    else
        printf ' T=%s: never (the merge costs more than a second node saves);' "$T"
    fi
done
echo
