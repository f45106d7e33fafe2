#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Self-test of corpus-diff.sh on tests/compare/docs: one binary against itself differs nowhere;
# against a wrapper that adds --html5 (void elements as <img> rather than <img />) it finds and
# groups the pages that change; and it leaves nothing on /dev/shm.
#   tests/compare/corpus-diff-test.sh FASTMD
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fastmd=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fastmd-corpus-diff-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "corpus-diff-test: $*" >&2; exit 1; }
leftovers() {
    find /dev/shm -maxdepth 1 -name 'fastmd-corpus-diff.*' -user "$(id -u)" 2>/dev/null | wc -l
}
before=$(leftovers)

"$here/corpus-diff.sh" "$fastmd" "$fastmd" "$here/docs" >"$tmp/same" ||
    fail "exit $? for the same binary"
grep -q '^pages: 12 in both, 0 differ, 0 only from old, 0 only from new$' "$tmp/same" ||
    { cat "$tmp/same"; fail "the same binary should differ nowhere"; }

printf '#!/bin/sh\ncmd=$1; shift\nexec "%s" "$cmd" --html5 "$@"\n' "$fastmd" >"$tmp/html5"
chmod +x "$tmp/html5"
"$here/corpus-diff.sh" "$fastmd" "$tmp/html5" "$here/docs" >"$tmp/html5.out" ||
    fail "exit $? for the --html5 wrapper"
cat "$tmp/html5.out"
grep -q '^pages: 12 in both, [1-9][0-9]* differ' "$tmp/html5.out" || fail "no difference found"
grep -q '^ *[0-9]* *- <img [^|]*/>.*|  + <img [^/]*>' "$tmp/html5.out" ||
    fail "no <img /> -> <img> group"
grep -q '^        08-smart-code-html.html$' "$tmp/html5.out" ||
    fail "08-smart-code-html.html not listed"

[[ $(leftovers) -le $before ]] || fail "corpus-diff.sh left a directory on /dev/shm"
echo "corpus-diff-test: ok"
