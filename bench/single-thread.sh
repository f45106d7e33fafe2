#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The single-thread speed check in one run, one thread, medians: (1) fastmd's kernel alone against md4c's
# own HTML renderer over the same pages in memory; (2) `fastmd build` end to end against `cp -r`
# of the same tree, output on /dev/shm and on disk. Prints both ratios.
#   cmake --preset bench && cmake --build --preset bench && bench/single-thread.sh [SRC] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$here/../shared/corpus}
runs=${2:-11}
build=${BUILD:-$here/build/bench}
[[ -x $build/fmd-kernel-bench && -x $build/fastmd ]] ||
    { echo "build first: cmake --preset bench && cmake --build --preset bench" >&2; exit 1; }
echo "== 1. kernel alone vs md4c-html (pages in memory, 1 thread, $runs runs)"
"$build/fmd-kernel-bench" --runs "$runs" "$src"
echo
echo "== 2. fastmd build vs cp -r (end to end, 1 thread, $runs runs)"
FASTMD="$build/fastmd" RUNS="$runs" "$here/bench/build-vs-cp.sh" "$src" 1
