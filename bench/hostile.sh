#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Time and peak memory of every hostile page of tests/hostile/cases.mjs through `fastmd render`
# (/usr/bin/time -f '%e %M'), as a table with the targets: under 0.5 s and 64 MB per page. Then
# `build --threads 2 --max-memory 256M` over two pages of 8 MB front matter, whose peak must stay
# under 256 MB. Each figure is the median of RUNS runs (default 3; the peak is the largest).
# With BASELINE=path/to/other/fastmd, each case runs both binaries in turn, in the same loop, and
# the table shows both medians and their ratio (after / before): a loaded machine slows both.
#   cmake --preset release && cmake --build --preset release && bench/hostile.sh
# FASTMD=path/to/fastmd overrides the binary. Exit status 1 when a case misses its code or a
# target (the binary under test only; the baseline is reported, not judged).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FASTMD:-$here/build/release/fastmd}
base=${BASELINE:-}
runs=${RUNS:-3}
[[ -x $bin ]] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
[[ -z $base || -x $base ]] || { echo "BASELINE=$base is not an executable" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (Debian package: time)" >&2; exit 1; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fastmd-hostile-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# median FILE: the median of the first column; max FILE: the largest second column.
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
peak_mb() { awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { printf "%.1f", m / 1024 }' "$1"; }

# run_case BIN TAG NAME ARGS...: one render of page NAME; appends "secs kib" to $tmp/TAG.times
# and leaves the error code seen in $tmp/TAG.got.
run_case() {
    local b=$1 tag=$2 name=$3
    shift 3
    set +e
    /usr/bin/time -o "$tmp/time" -f '%e %M' "$b" render "$@" "$tmp/pages/$name.md" \
        > /dev/null 2> "$tmp/err"
    local rc=$?
    set -e
    tail -n 1 "$tmp/time" >> "$tmp/$tag.times"
    local got=ok
    if [[ $rc -ne 0 ]]; then
        got=$(sed -n 's/.*: error: front matter is not valid YAML.*/frontmatter/p;
                     s/.*: error: front matter.*/frontmatter/p;
                     s/.*: error: a custom rule is invalid.*/rule/p' "$tmp/err" | head -1)
        got=${got:-exit$rc}
    fi
    echo "$got" > "$tmp/$tag.got"
}

node "$here/tests/hostile/cases.mjs" "$tmp/pages" > "$tmp/cases.tsv"
status=0
echo "binary: $bin${base:+, baseline: $base}; median of $runs runs; peak: the largest"
if [[ -n $base ]]; then
    printf '%-26s %-12s %-12s %9s %9s %6s %9s %9s  %s\n' case expected got 'before s' \
        'after s' ratio 'before MB' 'after MB' verdict
else
    printf '%-26s %-12s %-12s %8s %9s  %s\n' case expected got seconds 'peak MB' verdict
fi
while IFS=$'\t' read -r name code args; do
    read -r -a extra <<< "$args"
    rm -f "$tmp"/*.times
    for ((r = 0; r < runs; r++)); do
        [[ -z $base ]] || run_case "$base" before "$name" "${extra[@]}"
        run_case "$bin" after "$name" "${extra[@]}"
    done
    got=$(cat "$tmp/after.got")
    secs=$(median "$tmp/after.times")
    mb=$(peak_mb "$tmp/after.times")
    verdict=ok
    [[ $got == "$code" ]] || verdict="WRONG CODE"
    awk -v s="$secs" -v m="$mb" 'BEGIN { exit !(s >= 0.5 || m >= 64) }' && verdict="OVER TARGET"
    [[ $verdict == ok ]] || status=1
    if [[ -n $base ]]; then
        bsecs=$(median "$tmp/before.times")
        bmb=$(peak_mb "$tmp/before.times")
        ratio=$(awk -v a="$secs" -v b="$bsecs" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
        printf '%-26s %-12s %-12s %9s %9s %6s %9s %9s  %s\n' "$name" "$code" "$got" "$bsecs" \
            "$secs" "$ratio" "$bmb" "$mb" "$verdict"
    else
        printf '%-26s %-12s %-12s %8s %9s  %s\n' "$name" "$code" "$got" "$secs" "$mb" "$verdict"
    fi
done < "$tmp/cases.tsv"

echo
echo "== build --threads 2 --max-memory 256M over two pages of 8 MB front matter"
mkdir -p "$tmp/two"
cp "$tmp/pages/ones-8m.md" "$tmp/two/a.md"
cp "$tmp/pages/flow-open-8m.md" "$tmp/two/b.md"
# run_build BIN TAG: one build into a fresh OUT; appends "secs kib" to $tmp/TAG.btimes and
# "rc failed" to $tmp/TAG.bresult.
run_build() {
    rm -rf "$tmp/out"
    set +e
    /usr/bin/time -o "$tmp/time" -f '%e %M' "$1" build --quiet --threads 2 --max-memory 256M \
        "$tmp/two" "$tmp/out" 2> "$tmp/err"
    local rc=$?
    set -e
    tail -n 1 "$tmp/time" >> "$tmp/$2.btimes"
    local failed
    failed=$(grep -c '"code":"frontmatter"' "$tmp/out/manifest.ndjson" || true)
    echo "$rc $failed" > "$tmp/$2.bresult"
}
for ((r = 0; r < runs; r++)); do
    [[ -z $base ]] || run_build "$base" before
    run_build "$bin" after
done
for tag in ${base:+before} after; do
    read -r rc failed < "$tmp/$tag.bresult"
    secs=$(median "$tmp/$tag.btimes")
    mb=$(peak_mb "$tmp/$tag.btimes")
    verdict=ok
    [[ $rc -eq 1 && $failed -eq 2 ]] || verdict="WRONG RESULT (exit $rc, $failed pages with code frontmatter)"
    awk -v m="$mb" 'BEGIN { exit !(m >= 256) }' && verdict="OVER 256 MB"
    [[ $tag == before || $verdict == ok ]] || status=1
    printf '%-6s %s s, peak %s MB, %s of 2 pages failed with code frontmatter: %s\n' "$tag" "$secs" \
        "$mb" "$failed" "$verdict"
done
exit $status
