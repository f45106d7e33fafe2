#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Whole-process speed: each command below runs as its own fresh process, as a user runs it, so
# start-up, page faults, system calls and exit all count. Paired, alternating rounds (the order
# rotates each round, one discarded warm-up round), medians of RUNS, output on /dev/shm and
# beside it on a disk folder; then, once per command, the deterministic counts: page faults,
# task-clock and context switches (perf stat) and system calls per page (strace -c -f).
#
#   bench/whole-process.sh [CORPUS]        CORPUS: a folder of *.md pages (default ../shared/corpus)
#
# Environment: RUNS (9), FASTMD (build/bench/fastmd), BENCH_BIN (the folder of fmd-md4c-loop,
# fmd-io-floor and fmd-cmark-loop; default build/bench), DISK (a disk folder for the disk
# figures, default build/whole-process-disk; empty skips them), COUNTS (1; 0 skips perf and
# strace), ONLY (comma-separated case names to run, e.g. fastmd-ndjson-1,md4c-loop), BASELINE
# (another fastmd binary, e.g. a build of main: its cases base-ndjson-N and base-tree-N run in the
# same rounds, so that before and after are paired too).
#
# Cases: fastmd-ndjson-N  `fastmd build --threads N CORPUS --ndjson FILE`
#        fastmd-tree-N    `fastmd build --threads N CORPUS OUT`
#        base-*           the same with $BASELINE
#        md4c-loop        read each page, md4c's md_html into one file (1 thread)
#        cmark-loop       the same with cmark-gfm and its GFM extensions (when built)
#        io-floor         read each page, write its bytes into one file (no rendering)
#        io-floor-tree    read each page, write its bytes to OUT/<path>.html (no rendering)
# Wall times on a shared machine are noisy: read them beside the load average printed with them,
# and trust the counts first. The CPU column is perf's task-clock of each timed run (all threads
# together), steadier than wall time under other tenants' load; it does not show parallelism.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$here/../shared/corpus}
runs=${RUNS:-9}
bin=${FASTMD:-$here/build/bench/fastmd}
bb=${BENCH_BIN:-$here/build/bench}
disk=${DISK-$here/build/whole-process-disk}
counts=${COUNTS:-1}
[[ -x $bin ]] || { echo "build first: cmake --preset bench && cmake --build --preset bench" >&2; exit 1; }
[[ -x $bb/fmd-md4c-loop && -x $bb/fmd-io-floor ]] ||
    { echo "no fmd-md4c-loop / fmd-io-floor in $bb (FMD_BUILD_BENCH=ON)" >&2; exit 1; }
[[ -d $src ]] || { echo "no corpus folder at $src" >&2; exit 1; }
src=$(cd "$src" && pwd)

cases=(fastmd-ndjson-1 fastmd-ndjson-2 md4c-loop)
[[ -x $bb/fmd-cmark-loop ]] && cases+=(cmark-loop)
cases+=(io-floor fastmd-tree-1 fastmd-tree-2 io-floor-tree)
if [[ -n ${BASELINE:-} ]]; then
    [[ -x $BASELINE ]] || { echo "BASELINE $BASELINE is not an executable" >&2; exit 1; }
    cases=(base-ndjson-1 "${cases[@]:0:1}" base-ndjson-2 "${cases[@]:1:${#cases[@]}-4}"
           base-tree-1 fastmd-tree-1 base-tree-2 fastmd-tree-2 io-floor-tree)
fi
if [[ -n ${ONLY:-} ]]; then
    IFS=, read -r -a cases <<<"$ONLY"
fi

shm=$(mktemp -d /dev/shm/fastmd-whole.XXXXXX)
made_disk=""
cleanup() {
    rm -rf "$shm"
    [[ -n $made_disk ]] && rm -rf "$made_disk"
    return 0
}
trap cleanup EXIT

# Set cmd to case $1's command line, with its output under folder $2.
case_cmd() {
    local name=$1 o=$2
    case $name in
    fastmd-ndjson-*) cmd=("$bin" build --quiet --threads "${name##*-}" "$src" --ndjson "$o/$name.ndjson") ;;
    fastmd-tree-*) cmd=("$bin" build --quiet --threads "${name##*-}" "$src" "$o/$name") ;;
    base-ndjson-*) cmd=("$BASELINE" build --quiet --threads "${name##*-}" "$src" --ndjson "$o/$name.ndjson") ;;
    base-tree-*) cmd=("$BASELINE" build --quiet --threads "${name##*-}" "$src" "$o/$name") ;;
    md4c-loop) cmd=("$bb/fmd-md4c-loop" "$src" "$o/$name.html") ;;
    cmark-loop) cmd=("$bb/fmd-cmark-loop" "$src" "$o/$name.html") ;;
    io-floor) cmd=("$bb/fmd-io-floor" "$src" "$o/$name.out") ;;
    io-floor-tree) cmd=("$bb/fmd-io-floor" --tree "$src" "$o/$name") ;;
    *) echo "unknown case $name" >&2; exit 64 ;;
    esac
}

clear_out() { rm -rf "$2/$1" "$2/$1".*; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# The floor each case is measured against: one output file or a tree.
floor_of() { case $1 in *tree*) echo io-floor-tree ;; *) echo io-floor ;; esac; }

# Paired rounds over every case with output under $1; prints the table, titled $2.
timings() {
    local o=$1 title=$2 r i k name t0 t1
    declare -A t=() c=()
    local n=${#cases[@]}
    for ((r = -1; r < runs; r++)); do
        for ((i = 0; i < n; i++)); do
            k=$(((i + (r < 0 ? 0 : r)) % n))
            name=${cases[k]}
            clear_out "$name" "$o"
            case_cmd "$name" "$o"
            t0=$EPOCHREALTIME
            if ((have_perf)); then
                perf stat -x, -o "$shm/tc.csv" -e task-clock -- "${cmd[@]}" >/dev/null 2>&1
            else
                "${cmd[@]}" >/dev/null 2>&1
            fi || { echo "$name failed (exit $?): ${cmd[*]}" >&2; exit 1; }
            t1=$EPOCHREALTIME
            clear_out "$name" "$o"
            ((r >= 0)) && t[$name]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}') "
            ((r >= 0 && have_perf)) && c[$name]+="$(awk -F, '$3 == "task-clock" {print $1}' "$shm/tc.csv") "
        done
    done
    declare -A med=()
    for name in "${cases[@]}"; do
        med[$name]=$(printf '%s\n' ${t[$name]} | median)
    done
    echo
    echo "### $title: median of $runs paired runs (load average before: $load0)"
    echo
    echo "| case | wall median ms | min | max | / md4c-loop | / its I/O floor | CPU median ms | CPU / md4c-loop |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    declare -A cmed=()
    for name in "${cases[@]}"; do
        cmed[$name]=$( ((have_perf)) && printf '%s\n' ${c[$name]} | median || echo 0)
    done
    for name in "${cases[@]}"; do
        local f mn mx
        f=$(floor_of "$name")
        mn=$(printf '%s\n' ${t[$name]} | sort -g | head -1)
        mx=$(printf '%s\n' ${t[$name]} | sort -g | tail -1)
        awk -v n="$name" -v m="${med[$name]}" -v lo="$mn" -v hi="$mx" -v base="${med[md4c-loop]:-}" \
            -v fl="${med[$f]:-}" -v cm="${cmed[$name]}" -v cb="${cmed[md4c-loop]:-0}" 'BEGIN {
                r1 = base != "" ? sprintf("%.2f", m / base) : "-";
                r2 = fl != "" ? sprintf("%.2f", m / fl) : "-";
                r3 = cm > 0 && cb > 0 ? sprintf("%.2f", cm / cb) : "-";
                c1 = cm > 0 ? sprintf("%.1f", cm) : "-";
                printf "| %s | %.1f | %.1f | %.1f | %s | %s | %s | %s |\n", n, m * 1e3, lo * 1e3, hi * 1e3,
                       r1, r2, c1, r3 }'
    done
}

have_perf=0
perf stat -x, -e task-clock true >/dev/null 2>&1 && have_perf=1
pages=$(find "$src" -type f \( -name '*.md' -o -name '*.markdown' \) | wc -l)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "# whole-process: $src, $pages pages, $(nproc) CPUs; $("$bin" --version 2>&1 | head -1)"
echo "started $(date -u '+%Y-%m-%d %H:%M UTC'), load average $load0"

timings "$shm" "/dev/shm"
if [[ -n $disk ]]; then
    if [[ ! -e $disk ]]; then made_disk=$disk; fi
    mkdir -p "$disk"
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    timings "$disk" "disk ($disk)"
fi

if [[ $counts == 1 ]]; then
    echo
    echo "### Counts, one run each, output on /dev/shm (per page: divided by $pages)"
    echo
    echo "| case | page faults | faults/page | task-clock ms | context switches | syscalls | syscalls/page | top syscalls (calls) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    for name in "${cases[@]}"; do
        case_cmd "$name" "$shm"
        pf=$shm/perf.csv
        st=$shm/strace.txt
        clear_out "$name" "$shm"
        perf stat -x, -o "$pf" -e page-faults,task-clock,context-switches -- "${cmd[@]}" \
            >/dev/null 2>&1 || { echo "$name failed under perf: ${cmd[*]}" >&2; exit 1; }
        clear_out "$name" "$shm"
        strace -c -f -o "$st" -- "${cmd[@]}" >/dev/null 2>&1 ||
            { echo "$name failed under strace: ${cmd[*]}" >&2; exit 1; }
        clear_out "$name" "$shm"
        awk -F, -v n="$name" -v pages="$pages" -v st="$st" '
            $3 == "page-faults" { pf = $1 } $3 == "task-clock" { tc = $1 }
            $3 == "context-switches" { cs = $1 }
            END {
                total = 0; top = "";
                while ((getline line < st) > 0) {
                    split(line, f, " ");
                    if (line ~ / total$/) { total = f[4]; continue }
                    if (f[1] !~ /^[0-9.]+$/ || f[4] !~ /^[0-9]+$/) continue;
                    calls[f[length(f)]] = f[4];
                }
                k = 0;
                for (s in calls) { names[++k] = s }
                for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
                    if (calls[names[j]] > calls[names[i]]) { x = names[i]; names[i] = names[j]; names[j] = x }
                for (i = 1; i <= k && i <= 6; i++) top = top sprintf("%s%s %d", i > 1 ? ", " : "", names[i], calls[names[i]]);
                printf "| %s | %d | %.2f | %.1f | %d | %d | %.2f | %s |\n", n, pf, pf / pages, tc, cs,
                       total, total / pages, top }' "$pf"
        rm -f "$pf" "$st"
    done
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
