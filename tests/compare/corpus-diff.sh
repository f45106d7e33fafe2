#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds a corpus with two fastmd binaries and lists every page whose HTML differs, grouped by a
# signature of the first difference (the tags around it, with text and attribute values elided),
# so that each class of difference can be explained once. Output goes to a temporary directory
# on /dev/shm, removed at the end. Always exits 0 once both builds ran (2 for bad usage, or when a
# binary fails as a whole); differences are data, not failures.
#   tests/compare/corpus-diff.sh OLD_BIN NEW_BIN [CORPUS]
# FASTMD_BUILD_ARGS adds flags to both builds (e.g. "--footnotes --smart").
# CORPUS_DIFF_EXAMPLES (default 3) is how many pages each group names.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
if (($# < 2 || $# > 3)); then
    echo "usage: corpus-diff.sh OLD_BIN NEW_BIN [CORPUS]" >&2
    exit 2
fi
old=$1 new=$2 corpus=${3:-$here/../shared/corpus}
examples=${CORPUS_DIFF_EXAMPLES:-3}
read -r -a extra <<<"${FASTMD_BUILD_ARGS:-}"
for b in "$old" "$new"; do
    [[ -x $b ]] || { echo "corpus-diff.sh: $b is not an executable" >&2; exit 2; }
done
[[ -d $corpus ]] || { echo "corpus-diff.sh: $corpus is not a directory" >&2; exit 2; }

shm=/dev/shm
[[ -d $shm && -w $shm ]] || shm=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$shm/fastmd-corpus-diff.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

build() { # label binary
    local rc=0
    "$2" build --quiet "${extra[@]}" "$corpus" "$tmp/$1" 2>"$tmp/$1.err" || rc=$?
    # Exit 0, or 3 when some pages failed (they are compared like the others): anything else
    # means the build itself did not run.
    if ((rc != 0 && rc != 3)); then
        echo "corpus-diff.sh: $1 build ($2) failed with exit $rc:" >&2
        tail -n 5 "$tmp/$1.err" >&2
        exit 2
    fi
    echo "$1: $2 (exit $rc, $(grep -c . "$tmp/$1.err" || true) lines on stderr)"
}
build old "$old"
build new "$new"

(cd "$tmp/old" && find . -name '*.html' -type f | sort) >"$tmp/old.list"
(cd "$tmp/new" && find . -name '*.html' -type f | sort) >"$tmp/new.list"
comm -23 "$tmp/old.list" "$tmp/new.list" >"$tmp/only-old"
comm -13 "$tmp/old.list" "$tmp/new.list" >"$tmp/only-new"
comm -12 "$tmp/old.list" "$tmp/new.list" >"$tmp/both"

# The signature of the first difference between two files: from the last '<' before the first
# differing byte of the first differing line to its end, on each side, with text between tags
# and attribute values elided and words in bare text reduced to 'w', cut after its second tag
# and to 70 bytes at most, so that pages that differ in the same way share a signature.
signature() {
    local line
    line=$(cmp "$1" "$2" 2>&1 | sed -n 's/.*line \([0-9]*\).*/\1/p' | head -n 1)
    if [[ -z $line ]]; then # one file is a prefix of the other
        echo "one side ends early"
        return
    fi
    awk -v L="$line" -v F2="$2" '
        function skel(s) {
            gsub(/\t/, " ", s)
            gsub(/="[^"]*"/, "=\"…\"", s)
            gsub(/>[^<]+</, ">…<", s)
            gsub(/>[^<]+$/, ">…", s)
            if (s !~ /</) gsub(/[A-Za-z0-9]+/, "w", s)
            t = index(s, ">")
            if (t > 0 && (u = index(substr(s, t + 1), ">")) > 0) s = substr(s, 1, t + u)
            s = substr(s, 1, 70)
            sub(/[ \t]+$/, "", s)
            return s
        }
        FNR == L && FILENAME != F2 { a = $0 }
        FNR == L && FILENAME == F2 { b = $0 }
        END {
            n = length(a) < length(b) ? length(a) : length(b)
            for (i = 1; i <= n && substr(a, i, 1) == substr(b, i, 1); i++) ;
            s = 1
            for (j = i; j >= 1; j--) if (substr(a, j, 1) == "<") { s = j; break }
            printf "- %s  |  + %s\n", skel(substr(a, s)), skel(substr(b, s))
        }' "$1" "$2"
}

: >"$tmp/diffs"
while IFS= read -r f; do
    if ! cmp -s "$tmp/old/$f" "$tmp/new/$f"; then
        printf '%s\t%s\n' "${f#./}" "$(signature "$tmp/old/$f" "$tmp/new/$f")" >>"$tmp/diffs"
    fi
done <"$tmp/both"

ndiff=$(grep -c . "$tmp/diffs" || true)
echo "corpus: $corpus"
lines() { grep -c . "$1" || true; }
echo "pages: $(lines "$tmp/both") in both, $ndiff differ," \
    "$(lines "$tmp/only-old") only from old, $(lines "$tmp/only-new") only from new"
if [[ -s $tmp/only-old || -s $tmp/only-new ]]; then
    echo
    echo "== pages written by one binary only"
    sed 's|^\./|old only: |' "$tmp/only-old"
    sed 's|^\./|new only: |' "$tmp/only-new"
fi
if ((ndiff > 0)); then
    echo
    echo "== pages whose HTML differs"
    cut -f1 "$tmp/diffs"
    echo
    nclass=$(cut -f2 "$tmp/diffs" | sort -u | grep -c .)
    echo "== $nclass classes of first difference (pages, signature, examples)"
    # Groups, largest first, each with its first pages.
    awk -F'\t' '{ if (!($2 in n)) order[++k] = $2; n[$2]++ }
        END { for (i = 1; i <= k; i++) printf "%d\t%d\t%s\n", n[order[i]], i, order[i] }' \
        "$tmp/diffs" | sort -t$'\t' -k1,1nr -k2,2n >"$tmp/groups"
    while IFS=$'\t' read -r count _ sig; do
        printf '%6d  %s\n' "$count" "$sig"
        SIG=$sig awk -F'\t' '$2 == ENVIRON["SIG"] { print "        " $1 }' "$tmp/diffs" |
            head -n "$examples"
    done <"$tmp/groups"
fi
exit 0
