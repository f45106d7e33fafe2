#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Show that the current tree writes the same bytes as revision REV on the same inputs: REV is
# built in a temporary git worktree (removed after), the current tree in a temporary build
# directory; both run on examples/ (and on CORPUS, when given or found beside the clone):
# the HTML tree and manifest, the --ndjson stream, and a serve transcript of JSON-RPC lines.
# Usage: scripts/compare-release.sh REV [CORPUS]
# NEW_FLAGS=... adds flags to the current tree's `build` into a folder (e.g. --no-rewrite-links
# when REV predates link rewriting).
set -euo pipefail
rev=${1:?usage: scripts/compare-release.sh REV [CORPUS]}
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${2:-}
if [ -z "$corpus" ] && [ -d "$root/../shared/corpus" ]; then corpus=$(cd "$root/../shared/corpus" && pwd); fi
work=$(mktemp -d /tmp/fmd-compare-XXXXXX)
cleanup() {
    git -C "$root" worktree remove --force "$work/old-src" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

build() { # SRC BUILD_DIR
    cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DFMD_BUILD_TESTS=OFF >/dev/null
    cmake --build "$2" -j2 --target fastmd >/dev/null
}
git -C "$root" worktree add --detach "$work/old-src" "$rev" >/dev/null 2>&1
build "$work/old-src" "$work/old-build"
build "$root" "$work/new-build"
old=$work/old-build/fastmd
new=$work/new-build/fastmd

status=0
same() { # WHAT A B
    # OUT/.fastmd is the build state, not output: its records hold this run's output inodes and
    # times, so two runs of one binary differ there.
    if diff -r -q -x .fastmd "$2" "$3" >/dev/null; then
        echo "same: $1"
    else
        echo "DIFFERENT: $1"
        status=1
    fi
}

inputs=("$root/examples")
[ -n "$corpus" ] && inputs+=("$corpus")
for src in "${inputs[@]}"; do
    name=$(basename "$src")
    "$old" build --quiet --threads 2 "$src" "$work/old-$name" >/dev/null 2>&1 || true
    # shellcheck disable=SC2086 # NEW_FLAGS is a list of flags
    "$new" build --quiet --threads 2 ${NEW_FLAGS:-} "$src" "$work/new-$name" >/dev/null 2>&1 || true
    same "$name: tree and manifest" "$work/old-$name" "$work/new-$name"
    "$old" build --quiet --threads 2 --ndjson "$work/old-$name.ndjson" "$src" >/dev/null 2>&1 || true
    "$new" build --quiet --threads 2 --ndjson "$work/new-$name.ndjson" "$src" >/dev/null 2>&1 || true
    same "$name: --ndjson stream" "$work/old-$name.ndjson" "$work/new-$name.ndjson"
done

# A serve transcript: the methods whose answers do not depend on time or the machine.
requests=$work/requests.ndjson
cat >"$requests" <<'REQ'
{"jsonrpc":"2.0","id":1,"method":"ping"}
{"jsonrpc":"2.0","id":2,"method":"transform","params":{"content":"---\ntitle: T\n---\n# Hi *there*\n\nA [link](https://example.com) and `code`.[^1]\n\n[^1]: A note.\n"}}
{"jsonrpc":"2.0","id":3,"method":"normalize","params":{"content":"\ufeffa\r\nb\u0000c\r"}}
{"jsonrpc":"2.0","id":4,"method":"computeDigest","params":{"files":[{"file":"index.md","content":"abc"}]}}
{"jsonrpc":"2.0","id":5,"method":"transformBatch","params":{"files":[{"file":"guide/code.md"},{"file":"index.md"},{"file":"../outside.md"},{"file":"nope.md"},{"file":"b.md","content":"---\na: [\n---\n"}]}}
{"jsonrpc":"2.0","id":9,"method":"transformBatch","params":{"files":[{"file":"a.md","content":"# A\n"},{"file":"guide/headings.md"}],"stream":true}}
{"jsonrpc":"2.0","id":10,"method":"transformBatch","params":{"bytes":10,"frames":true,"files":[{"file":"a.md","contentBytes":4},{"file":"b.md","contentBytes":6}]}}
# A
## B 

{"jsonrpc":"2.0","id":6,"method":"transform","params":{"content":"x","options":{"rules":[{"pattern":"(","replacement":"y","regex":true}]}}}
{"jsonrpc":"2.0","id":7,"method":"nosuchmethod"}
not json
{"jsonrpc":"2.0","id":8,"method":"shutdown"}
REQ
(cd "$root/examples" && "$old" serve --quiet --threads 2 <"$requests" >"$work/old-serve.ndjson" 2>/dev/null)
(cd "$root/examples" && "$new" serve --quiet --threads 2 <"$requests" >"$work/new-serve.ndjson" 2>/dev/null)
# Timings differ from run to run, the lanes answer concurrent requests in any order, and how a
# batch's items are grouped into frames depends on timing: compare the answers without timings,
# one line per framed item, sorted.
strip() { node "$root/scripts/serve-transcript.mjs" "$1"; }
strip "$work/old-serve.ndjson" >"$work/old-serve.txt"
strip "$work/new-serve.ndjson" >"$work/new-serve.txt"
same "serve transcript ($(wc -l <"$work/new-serve.txt") lines)" "$work/old-serve.txt" "$work/new-serve.txt"
exit $status
