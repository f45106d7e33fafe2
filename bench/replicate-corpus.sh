#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Make a larger batch for scaling sweeps: N copies of a source tree side by side (copy1/ ...),
# so that every page is a real page and the directory layout is the corpus's own.
#   bench/replicate-corpus.sh SRC DEST N      e.g. ../shared/corpus /dev/shm/corpus-x8 8 (~66 MB)
set -euo pipefail
src=${1:?SRC}
dest=${2:?DEST}
n=${3:?N}
rm -rf "$dest"
mkdir -p "$dest"
for ((i = 1; i <= n; i++)); do
    cp -r "$src" "$dest/copy$i"
done
echo "$dest: $(find "$dest" -name '*.md' | wc -l) pages, $(du -sh "$dest" | cut -f1)"
