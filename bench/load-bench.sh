#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fmd-load-bench (thread pool of openat+read+close against io_uring, docs/adr/0003) run REPS
# times in a row with the machine it ran on, so run-to-run spread shows next to each table.
# SHM=1 also runs it on a copy of SRC in /dev/shm (tmpfs); COLD=N adds N cold rounds (needs root:
# it drops the page cache before every cold run).
#   bench/load-bench.sh [SRC]     SRC defaults to ../shared/corpus; REPS=3 RUNS=21 COLD=0 SHM=0
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$here/../shared/corpus}
reps=${REPS:-3}
runs=${RUNS:-21}
cold=${COLD:-0}
bin=${LOAD_BENCH:-$here/build/h-uring/fmd-load-bench}
[[ -x $bin ]] || { echo "build first: cmake -S . -B build/h-uring -DFMD_BUILD_BENCH=ON" \
    "-DFMD_BUILD_TESTS=OFF && cmake --build build/h-uring --target fmd-load-bench" >&2; exit 1; }
[[ -d $src ]] || { echo "no source tree at $src" >&2; exit 1; }

echo "nproc $(nproc), kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "io_uring_disabled=$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo n/a)," \
    "liburing $(pkg-config --modversion liburing 2>/dev/null || echo '?')"
df -T "$src" /dev/shm | awk 'NR > 1 { print "filesystem of " $7 ": " $2 }'
echo "load now: $(cut -d' ' -f1-3 /proc/loadavg)"

trees=("$src")
if [[ ${SHM:-0} == 1 ]]; then
    shm=$(mktemp -d /dev/shm/fmd-load-bench.XXXXXX)
    trap 'rm -rf "$shm"' EXIT
    cp -r "$src/." "$shm/"
    trees+=("$shm")
fi
for tree in "${trees[@]}"; do
    for ((i = 1; i <= reps; i++)); do
        echo; echo "== $tree, repetition $i of $reps (load $(cut -d' ' -f1 /proc/loadavg))"
        c=$cold
        [[ $tree == "$src" ]] || c=0 # tmpfs has no cold case
        "$bin" --runs "$runs" --cold "$c" "$tree"
    done
done
