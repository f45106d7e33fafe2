#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Time and peak memory of every hostile page of tests/hostile/cases.mjs through `fastmd render`
# (/usr/bin/time -f '%e %M', one run each), as a table with the targets: under 0.5 s and 64 MB
# per page. Then `build --threads 2 --max-memory 256M` over two pages of 8 MB front matter, whose
# peak must stay under 256 MB. Needs a quiet machine for figures worth recording.
#   cmake --preset release && cmake --build --preset release && bench/hostile.sh
# FASTMD=path/to/fastmd overrides the binary. Exit status 1 when a case misses its code or a target.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FASTMD:-$here/build/release/fastmd}
[[ -x $bin ]] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (Debian package: time)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fastmd-hostile-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

node "$here/tests/hostile/cases.mjs" "$tmp/pages" > "$tmp/cases.tsv"
status=0
printf '%-26s %-12s %-12s %8s %9s  %s\n' case expected got seconds 'peak MB' verdict
while IFS=$'\t' read -r name code args; do
    read -r -a extra <<< "$args"
    set +e
    /usr/bin/time -o "$tmp/time" -f '%e %M' "$bin" render "${extra[@]}" "$tmp/pages/$name.md" \
        > /dev/null 2> "$tmp/err"
    rc=$?
    set -e
    read -r secs kib < <(tail -n 1 "$tmp/time")
    got=ok
    if [[ $rc -ne 0 ]]; then
        got=$(sed -n 's/.*: error: front matter is not valid YAML.*/frontmatter/p;
                     s/.*: error: a custom rule is invalid.*/rule/p' "$tmp/err" | head -1)
        got=${got:-exit$rc}
    fi
    mb=$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')
    verdict=ok
    [[ $got == "$code" ]] || verdict="WRONG CODE"
    awk -v s="$secs" -v k="$kib" 'BEGIN { exit !(s >= 0.5 || k >= 65536) }' && verdict="OVER TARGET"
    [[ $verdict == ok ]] || status=1
    printf '%-26s %-12s %-12s %8s %9s  %s\n' "$name" "$code" "$got" "$secs" "$mb" "$verdict"
done < "$tmp/cases.tsv"

echo
echo "== build --threads 2 --max-memory 256M over two pages of 8 MB front matter"
mkdir -p "$tmp/two"
cp "$tmp/pages/ones-8m.md" "$tmp/two/a.md"
cp "$tmp/pages/flow-open-8m.md" "$tmp/two/b.md"
set +e
/usr/bin/time -o "$tmp/time" -f '%e %M' "$bin" build --quiet --threads 2 --max-memory 256M \
    "$tmp/two" "$tmp/out" 2> "$tmp/err"
rc=$?
set -e
read -r secs kib < <(tail -n 1 "$tmp/time")
mb=$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')
failed=$(grep -c '"code":"frontmatter"' "$tmp/out/manifest.ndjson" || true)
verdict=ok
[[ $rc -eq 1 && $failed -eq 2 ]] || verdict="WRONG RESULT (exit $rc, $failed pages with code frontmatter)"
awk -v k="$kib" 'BEGIN { exit !(k >= 262144) }' && verdict="OVER 256 MB"
[[ $verdict == ok ]] || status=1
printf '%s s, peak %s MB, %s of 2 pages failed with code frontmatter: %s\n' "$secs" "$mb" "$failed" "$verdict"
exit $status
