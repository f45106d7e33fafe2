#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One page of about BYTES (default 1 MiB) of each pathological class (tests/pathological/gen.mjs)
# through `fastmd render`, one at a time: wall time and peak RSS from /usr/bin/time, the exit
# status, and a per-class timeout, printed as a table. Pages are generated into a temporary
# directory that is removed at the end. Timings are only meaningful on a quiet machine.
#   bench/pathological.sh [--bytes N] [--timeout SECONDS] [--only A,B] [FASTMD]
# FASTMD defaults to build/bench/fastmd, then build/release/fastmd, then build/ci/fastmd.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
gen=$here/tests/pathological/gen.mjs
bytes=1048576
limit=10
only=""
while (($#)); do
    case $1 in
    --bytes) bytes=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h | --help) sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "pathological.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
fastmd=${1:-}
if [[ -z $fastmd ]]; then
    for b in bench release ci; do
        [[ -x $here/build/$b/fastmd ]] && { fastmd=$here/build/$b/fastmd; break; }
    done
fi
die() { echo "pathological.sh: $*" >&2; exit 2; }
[[ -n $fastmd && -x $fastmd ]] || die "no fastmd binary; build one first"
[[ -x /usr/bin/time ]] || die "needs /usr/bin/time (Debian package time)"
command -v timeout >/dev/null || die "needs timeout (coreutils)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fastmd-patho-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [[ -n $only ]]; then
    classes=${only//,/ }
else
    classes=$(node "$gen" --list | cut -d' ' -f1)
fi
echo "fastmd: $fastmd; pages of at most $bytes bytes; timeout ${limit}s per class"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1 /proc/loadavg)"
printf '%-28s %9s %9s %11s %6s  %s\n' class bytes seconds "peak RSS KB" exit result
for c in $classes; do
    page=$tmp/$c.md
    node "$gen" "$c" "$bytes" "$page"
    size=$(stat -c %s "$page")
    set +e
    timeout -k 2 "$limit" /usr/bin/time -f '%e %M' -o "$tmp/time" "$fastmd" render "$page" \
        >/dev/null 2>"$tmp/err"
    rc=$?
    set -e
    if ((rc == 124 || rc == 137)); then
        secs=">$limit"; rss="-"; result="timeout"
    else
        read -r secs rss < <(tail -n 1 "$tmp/time")
        if ((rc == 0)); then result="ok"
        elif ((rc > 128)); then result="crash (signal $((rc - 128)))"
        else result="error: $(grep -m1 -i error "$tmp/err" | cut -c1-60)"
        fi
    fi
    printf '%-28s %9s %9s %11s %6s  %s\n' "$c" "$size" "$secs" "$rss" "$rc" "$result"
    rm -f "$page"
done
