#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install.sh BUILD_DIR VERSION [deb]
# Installs the build into a temporary prefix with `cmake --install`, checks that the binary, the
# manual pages (fastmd.1 and one per command), the documentation and the licence are there and
# that the installed binary runs (--version prints VERSION) and `man -l` reads every page; where
# the build packed the Node client (FMD_CLIENT_PACK), a temporary Node project installs the
# tarball from PREFIX/share/fastmd and renders a page through FASTMD_BINARY, then through PATH.
# With `deb`: builds the .deb with cpack, checks that `dpkg-deb -c` lists /usr/bin/fastmd and the
# pages, unpacks it into a temporary root and runs the binary from there. Removes everything it made, pass or fail.
set -euo pipefail
build=$1 version=$2 mode=${3:-prefix}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fastmd-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }

if [[ $mode == prefix ]]; then
    prefix=$tmp/prefix
    cmake --install "$build" --prefix "$prefix" >"$tmp/log" || { cat "$tmp/log"; fail "cmake --install failed"; }
    for f in bin/fastmd share/man/man1/fastmd.1 share/doc/fastmd/README.md share/doc/fastmd/LICENSE \
             share/doc/fastmd/guide.md share/doc/fastmd/troubleshooting.md share/doc/fastmd/tuning.md \
             share/doc/fastmd/exit-codes.md share/doc/fastmd/protocol.md; do
        [[ -f $prefix/$f ]] || fail "$f is not installed under the prefix"
    done
    [[ -x $prefix/bin/fastmd ]] || fail "bin/fastmd is not executable"
    [[ ! -e $prefix/share/doc/fastmd/man ]] || fail "the man folder is installed among the docs"
    got=$(env -i PATH="$prefix/bin" fastmd --version) || fail "the installed fastmd --version failed"
    [[ $got == "fastmd $version" ]] || fail "the installed fastmd --version printed '$got'"
    # It renders a page, found through PATH alone.
    html=$(printf '# Hi\n' | env -i PATH="$prefix/bin" fastmd render)
    [[ $html == '<h1 id="hi">Hi</h1>' ]] || fail "the installed fastmd rendered '$html'"
    # One page per command that `fastmd --help` lists, besides fastmd.1.
    cmds=$(env -i PATH="$prefix/bin" fastmd --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p')
    [[ $(wc -w <<<"$cmds") -ge 5 ]] || fail "commands parsed from fastmd --help: '$cmds'"
    pages=(fastmd.1)
    for c in $cmds; do pages+=("fastmd-$c.1"); done
    for p in "${pages[@]}"; do
        [[ -f $prefix/share/man/man1/$p ]] || fail "share/man/man1/$p is not installed"
        if command -v man >/dev/null; then
            MANWIDTH=80 man -l "$prefix/share/man/man1/$p" 2>"$tmp/man.err" | grep -q '^NAME' \
                || fail "man -l does not show the installed $p"
            [[ ! -s $tmp/man.err ]] || { cat "$tmp/man.err"; fail "man -l printed warnings on $p"; }
        fi
    done
    # The client tarball, where the build packed it (FMD_CLIENT_PACK): a fresh Node project
    # installs it from the prefix and renders a page with only FASTMD_BINARY set, then with only
    # PATH, and names both as tried when neither leads to fastmd.
    client=""
    if grep -q '^FMD_CLIENT_PACK:BOOL=ON$' "$build/CMakeCache.txt"; then
        tgz=$(find "$prefix/share/fastmd" -maxdepth 1 -name 'fastmd-client-*.tgz' 2>/dev/null | head -n 1)
        [[ -n $tgz ]] || fail "share/fastmd/fastmd-client-*.tgz is not installed"
        node=$(command -v node) || fail "FMD_CLIENT_PACK is on but node is not on PATH"
        mkdir "$tmp/proj"
        printf '{"name": "install-test", "private": true, "type": "module"}\n' >"$tmp/proj/package.json"
        (cd "$tmp/proj" && npm install --offline --no-audit --no-fund --cache "$tmp/npm-cache" \
            "$tgz" >"$tmp/npm.log" 2>&1) || { cat "$tmp/npm.log"; fail "npm install of $tgz failed"; }
        cat >"$tmp/proj/render.mjs" <<'JS'
import { createFastmd } from '@fastmd/client';
const fastmd = await createFastmd({});
const page = await fastmd.transform('a.md', '# Hi\n');
console.log(`${fastmd.binarySource} ${page.html.trim()}`);
await fastmd.close();
JS
        got=$(cd "$tmp/proj" && env -i PATH=/nonexistent FASTMD_BINARY="$prefix/bin/fastmd" "$node" render.mjs) \
            || fail "the installed client with FASTMD_BINARY alone failed"
        [[ $got == 'FASTMD_BINARY <h1 id="hi">Hi</h1>' ]] || fail "client, FASTMD_BINARY alone: '$got'"
        got=$(cd "$tmp/proj" && env -i PATH="$prefix/bin" "$node" render.mjs) \
            || fail "the installed client with PATH alone failed"
        [[ $got == 'PATH <h1 id="hi">Hi</h1>' ]] || fail "client, PATH alone: '$got'"
        if (cd "$tmp/proj" && env -i PATH=/nonexistent "$node" render.mjs >/dev/null 2>"$tmp/nobin.err"); then
            fail "the installed client found a binary with neither FASTMD_BINARY nor PATH"
        fi
        grep -q 'FASTMD_BINARY: not set' "$tmp/nobin.err" || { cat "$tmp/nobin.err"; fail "no list of what was tried"; }
        client="; the packed client renders through FASTMD_BINARY and through PATH"
    fi
    echo "install test: $(find "$prefix" -type f | wc -l) files under the prefix; fastmd $version runs$client"
elif [[ $mode == deb ]]; then
    (cd "$build" && cpack -G DEB -B "$tmp/pkg" >"$tmp/log" 2>&1) || { cat "$tmp/log"; fail "cpack failed"; }
    deb=$(find "$tmp/pkg" -maxdepth 1 -name "fastmd_${version}_*.deb" | head -n 1)
    [[ -n $deb ]] || { ls "$tmp/pkg"; fail "no fastmd_${version}_*.deb made"; }
    dpkg-deb -c "$deb" >"$tmp/contents"
    for f in ./usr/bin/fastmd ./usr/share/man/man1/fastmd.1 ./usr/share/man/man1/fastmd-build.1 \
             ./usr/share/doc/fastmd/LICENSE; do
        grep -q " $f\$" "$tmp/contents" || { cat "$tmp/contents"; fail "$f is not in the .deb"; }
    done
    # dpkg-shlibdeps computed Depends from what the binary links: libfyaml, and no longer md4c
    # (fastmd parses Markdown itself).
    deps=$(dpkg-deb -f "$deb" Depends)
    grep -q libfyaml <<<"$deps" || fail "the .deb's Depends does not name libfyaml: $deps"
    if grep -q libmd4c <<<"$deps"; then fail "the .deb depends on md4c, which fastmd does not link: $deps"; fi
    dpkg-deb -x "$deb" "$tmp/root"
    got=$(env -i PATH="$tmp/root/usr/bin" fastmd --version) || fail "fastmd from the .deb does not run"
    [[ $got == "fastmd $version" ]] || fail "fastmd from the .deb printed '$got'"
    echo "install test: $(basename "$deb") lists $(wc -l <"$tmp/contents") entries; fastmd $version runs"
else
    fail "mode must be prefix or deb, not '$mode'"
fi
