#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Incremental builds against a full build of the same tree, paired: each round runs a clean full
# build, then a rebuild with no change, then a rebuild after editing 10 pages, one after the
# other; the medians of RUNS rounds (default 7, after one discarded warm-up) and their ratios are
# printed. With FASTMD_OLD (a previous release's fastmd) each round also runs its full build, to
# show what the state and the journal cost a clean build. With FASTMD_BASE (another build of
# fastmd: the baseline of a change) each round also runs its full build, no-change rebuild and
# 10-edited rebuild into a folder of its own, beside the others, so that both sets of ratios
# come from the same rounds and the same load.
# After the edits of a round it waits 2.1 s, so that the next round's pages are not "racy" (a
# page modified within 2 s of a build is read again) and its no-change rebuild is one.
# SRC is copied first (cp -a: the shared corpus is never modified) and left 2.5 s alone, so that
# no page is "racy" (modified within 2 s of a build). Output goes to /dev/shm (steady figures)
# and to a disk folder (noisy: file creation on a journalled disk swings).
#   bench/incremental.sh [SRC] [THREADS]    SRC defaults to ../shared/corpus, THREADS to 2
#   DISK=/var/tmp RUNS=7 FASTMD=build/release/fastmd FASTMD_OLD=/path/to/old/fastmd
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$here/../shared/corpus}
threads=${2:-2}
runs=${RUNS:-7}
bin=${FASTMD:-$here/build/release/fastmd}
old=${FASTMD_OLD:-}
basebin=${FASTMD_BASE:-}
disk=${DISK:-/var/tmp}
[[ -x $bin ]] || { echo "build first: cmake --workflow --preset release" >&2; exit 1; }
[[ -d $src ]] || { echo "no source tree at $src" >&2; exit 1; }
[[ -z $old || -x $old ]] || { echo "FASTMD_OLD=$old is not executable" >&2; exit 1; }
[[ -z $basebin || -x $basebin ]] || { echo "FASTMD_BASE=$basebin is not executable" >&2; exit 1; }

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a - b }'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
timed() { # prints the seconds "$@" took; its output is dropped, a failure (but 1) stops the script
    local t0 t1 rc=0
    t0=$(now)
    "$@" >/dev/null 2>&1 || rc=$?
    t1=$(now)
    ((rc == 0 || rc == 1)) || { echo "failed ($rc): $*" >&2; exit 1; }
    sub "$t1" "$t0"
}

measure() { # $1 = parent folder, $2 = label
    local base work
    base=$1
    mkdir -p "$base"
    work=$(mktemp -d "$base/fastmd-incremental-XXXXXX")
    cleanup_dirs+=("$work")
    cp -a "$src" "$work/src"
    mapfile -t pages < <(find "$work/src" -name '*.md' | LC_ALL=C sort | awk 'NR % 700 == 1' | head -10)
    sleep 2.5
    local tf=() tn=() tt=() to=() bf=() bn=() bt=() r
    for ((r = -1; r < runs; r++)); do
        rm -rf "$work/out" "$work/base-out"
        local f n t o=0 xf=0 xn=0 xt=0
        f=$(timed "$bin" build --quiet --threads "$threads" "$work/src" "$work/out")
        [[ -z $basebin ]] || xf=$(timed "$basebin" build --quiet --threads "$threads" "$work/src" "$work/base-out")
        n=$(timed "$bin" build --quiet --threads "$threads" "$work/src" "$work/out")
        [[ -z $basebin ]] || xn=$(timed "$basebin" build --quiet --threads "$threads" "$work/src" "$work/base-out")
        for p in "${pages[@]}"; do printf '\nEdited in round %d.\n' "$r" >>"$p"; done
        t=$(timed "$bin" build --quiet --threads "$threads" "$work/src" "$work/out")
        [[ -z $basebin ]] || xt=$(timed "$basebin" build --quiet --threads "$threads" "$work/src" "$work/base-out")
        if [[ -n $old ]]; then
            rm -rf "$work/old-out"
            o=$(timed "$old" build --quiet --threads "$threads" "$work/src" "$work/old-out")
        fi
        sleep 2.1 # the edited pages leave the racy window before the next round
        if ((r >= 0)); then
            tf+=("$f"); tn+=("$n"); tt+=("$t"); to+=("$o"); bf+=("$xf"); bn+=("$xn"); bt+=("$xt")
        fi
    done
    local mf mn mt mo
    mf=$(printf '%s\n' "${tf[@]}" | median)
    mn=$(printf '%s\n' "${tn[@]}" | median)
    mt=$(printf '%s\n' "${tt[@]}" | median)
    mo=$(printf '%s\n' "${to[@]}" | median)
    awk -v f="$mf" -v n="$mn" -v t="$mt" -v o="$mo" -v where="$2" 'BEGIN {
        printf "%-10s full %8.1f ms   no change %7.1f ms (%.3fx)   10 edited %7.1f ms (%.3fx)",
               where, f * 1000, n * 1000, n / f, t * 1000, t / f
        if (o > 0) printf "   old release full %8.1f ms (new/old %.3fx)", o * 1000, f / o
        printf "\n" }'
    if [[ -n $basebin ]]; then
        mf=$(printf '%s\n' "${bf[@]}" | median)
        mn=$(printf '%s\n' "${bn[@]}" | median)
        mt=$(printf '%s\n' "${bt[@]}" | median)
        awk -v f="$mf" -v n="$mn" -v t="$mt" -v where="$2 base" 'BEGIN {
            printf "%-10s full %8.1f ms   no change %7.1f ms (%.3fx)   10 edited %7.1f ms (%.3fx)\n",
                   where, f * 1000, n * 1000, n / f, t * 1000, t / f }'
    fi
    rm -rf "$work"
}

cleanup_dirs=()
trap 'rm -rf "${cleanup_dirs[@]}"' EXIT
trap 'exit 130' INT TERM

pages=$(find "$src" -name '*.md' -o -name '*.markdown' | wc -l)
echo "src $src: $pages pages; $threads threads; $runs rounds, medians; fastmd $("$bin" --version)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
measure /dev/shm "/dev/shm"
measure "$disk" "disk"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
