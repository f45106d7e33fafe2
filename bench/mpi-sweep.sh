#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fastmd-mpi, R ranks x T threads in {1,2} x {1,2}: the corpus replicated (bench/replicate-corpus.sh)
# on /dev/shm, each cell built into a fresh OUT under mpirun, medians of REPS runs, beside a plain
# `fastmd build` at 1 thread run in the same loop (the baseline of the speedups). The start-up cost
# of mpirun itself (mpirun -n R /bin/true) is shown apart, and the "net" column subtracts it.
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
declare -A t
base_runs=()
for ((r = 0; r < reps; r++)); do
    base_runs+=("$(plain)")
    for R in 1 2; do
        t[true-$R]+="$(timed "${mpirun[@]}" -n "$R" /bin/true) "
        for T in 1 2; do t[$R-$T]+="$(cell "$R" "$T") "; done
    done
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
