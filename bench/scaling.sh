#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The scaling figures of docs/performance.md, in one run, with fastmd bench (medians, min-max,
# speedup, Karp-Flatt, Amdahl fit):
#   1. the kernel alone (pages in memory), LPT schedule and the naive schedule(dynamic, 1);
#   2. end to end into a file tree beside the I/O floor (same tree, same writer, no rendering),
#      output on /dev/shm, then the same on disk;
#   3. end to end into one NDJSON stream.
#   bench/scaling.sh [SRC] [THREADS] [REPEAT]    defaults: ../shared/corpus, 1-<cores>, 7
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$here/../shared/corpus}
threads=${2:-1-$(nproc)}
repeat=${3:-7}
bin=${FASTMD:-$here/build/release/fastmd}
[[ -x $bin ]] || { echo "build first: cmake --workflow --preset release" >&2; exit 1; }
echo "== machine: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" topology | head -3
echo
echo "== 1a. kernel alone, LPT (the default)"
"$bin" bench "$src" --threads "$threads" --repeat "$repeat" --kernel-only
echo
echo "== 1b. kernel alone, naive schedule(dynamic, 1) in input order"
"$bin" bench "$src" --threads "$threads" --repeat "$repeat" --kernel-only --schedule dynamic
echo
echo "== 2a. end to end, file tree on /dev/shm, beside the I/O floor"
"$bin" bench "$src" --threads "$threads" --repeat "$repeat" --io-floor --out /dev/shm/fastmd-scaling
echo
echo "== 2b. end to end, file tree on disk ($here/build), beside the I/O floor"
"$bin" bench "$src" --threads "$threads" --repeat "$repeat" --io-floor --out "$here/build/fastmd-scaling"
echo
echo "== 3. end to end, one NDJSON stream on /dev/shm"
"$bin" bench "$src" --threads "$threads" --repeat "$repeat" --ndjson --out /dev/shm/fastmd-scaling
