#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Compare fastmd's footnotes and smart punctuation with cmark-gfm's on the documents in docs/.
// Each document is rendered by
//   <binary> render --footnotes --smart --unsafe --no-heading-ids
//   cmark-gfm --extension table --extension strikethrough --extension autolink
//             --extension tasklist --extension footnotes --smart --unsafe
// (this cmark-gfm, 0.29.0.gfm.6, spells --footnotes as --extension footnotes), both outputs are
// normalised (as the CommonMark spec's test/normalize.py does), and the documented differences
// of differences.json are applied to fastmd's side: each entry replaces a snippet of fastmd's
// normalised output with cmark-gfm's. After that every document must match, and every entry
// must have applied, so the documented set of differences is asserted exactly: a new
// difference fails, and so does one that went away (update docs/cmark-gfm-comparison.md and
// differences.json together).
//
// Usage: node compare.mjs --binary PATH [--cmark PATH] [--only NAME] [--verbose]
// Exit status: 0 when the differences are exactly the documented ones; 1 otherwise; 2 for bad
// usage or a renderer that cannot run.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const FASTMD_ARGS = ['render', '--footnotes', '--smart', '--unsafe', '--no-heading-ids'];
const CMARK_ARGS = ['--extension', 'table', '--extension', 'strikethrough', '--extension',
    'autolink', '--extension', 'tasklist', '--extension', 'footnotes', '--smart', '--unsafe'];

function usage(msg) {
    process.stderr.write(`compare.mjs: ${msg}\n` +
        'usage: node compare.mjs --binary PATH [--cmark PATH] [--only NAME] [--verbose]\n');
    process.exit(2);
}

function parseArgs(argv) {
    const o = { binary: null, cmark: 'cmark-gfm', only: null, verbose: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
        if (a === '--binary') o.binary = value();
        else if (a === '--cmark') o.cmark = value();
        else if (a === '--only') o.only = value();
        else if (a === '--verbose') o.verbose = true;
        else usage(`unknown argument ${a}`);
    }
    if (!o.binary) usage('--binary is required');
    return o;
}

/*** Normalisation (the rules of the spec's test/normalize.py) ***
 * Whitespace runs collapse to one space outside <pre>, and go next to block tags; a newline
 * after <br> goes; self-closing tags become open tags; tag and attribute names are lower-cased
 * and attributes sorted; character references are decoded, then & < > " written as entities. */

const BLOCK_TAGS = new Set(['article', 'header', 'aside', 'hgroup', 'blockquote', 'hr', 'iframe',
    'body', 'li', 'map', 'button', 'object', 'canvas', 'ol', 'caption', 'output', 'col', 'p',
    'colgroup', 'pre', 'dd', 'progress', 'div', 'section', 'dl', 'table', 'td', 'dt', 'tbody',
    'embed', 'textarea', 'fieldset', 'tfoot', 'figcaption', 'th', 'figure', 'thead', 'footer', 'tr',
    'form', 'ul', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'video', 'script', 'style']);
const NAMED = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', ndash: '\u2013',
    mdash: '\u2014', hellip: '\u2026', lsquo: '\u2018', rsquo: '\u2019', ldquo: '\u201c',
    rdquo: '\u201d' };

function decode(s) {
    return s.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z][a-zA-Z0-9]*);/g, (m, ref) => {
        if (ref[0] === '#') {
            const n = /^#[xX]/.test(ref) ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
            return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : m;
        }
        return Object.hasOwn(NAMED, ref) ? NAMED[ref] : m;
    });
}

const escapeText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

function normalize(html) {
    let out = '', last = 'start', lastTag = '', inPre = false;
    const tokens = html.match(/<!--[\s\S]*?-->|<[^>]*>|[^<]+|</g) ?? [];
    for (const tok of tokens) {
        let m;
        if (tok.startsWith('<!--')) {
            out += tok;
            last = 'comment';
        } else if ((m = /^<\/\s*([a-zA-Z][^\s>]*)\s*>$/.exec(tok)) !== null) {
            const tag = m[1].toLowerCase();
            if (tag === 'pre') inPre = false;
            else if (BLOCK_TAGS.has(tag)) out = out.trimEnd();
            out += `</${tag}>`;
            last = 'end';
            lastTag = tag;
        } else if ((m = /^<([a-zA-Z][^\t\n\r\f />]*)([\s\S]*?)(\/?)>$/.exec(tok)) !== null) {
            const tag = m[1].toLowerCase();
            if (tag === 'pre') inPre = true;
            if (BLOCK_TAGS.has(tag)) out = out.trimEnd();
            const attrs = [];
            const re = /([^\s/>="']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?/g;
            let a;
            while ((a = re.exec(m[2])) !== null) {
                let v = a[2];
                if (v !== undefined && /^["']/.test(v)) v = v.slice(1, -1);
                attrs.push([a[1].toLowerCase(), v === undefined ? null : escapeText(decode(v))]);
            }
            attrs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
            const attrText = attrs.map(([k, v]) => (v === null ? ` ${k}` : ` ${k}="${v}"`));
            out += `<${tag}${attrText.join('')}>`;
            last = m[3] === '/' ? 'end' : 'start';
            lastTag = tag;
        } else {
            let d = decode(tok);
            const afterTag = last === 'start' || last === 'end';
            if (afterTag && lastTag === 'br') d = d.replace(/^\n+/, '');
            if (!inPre) d = d.replace(/\s+/g, ' ');
            if (afterTag && BLOCK_TAGS.has(lastTag) && !inPre)
                d = last === 'start' ? d.trimStart() : d.trim();
            out += escapeText(d);
            last = 'text';
        }
    }
    return out.trim();
}

/*** Running ***/

function run(cmd, args, input) {
    const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error) {
        process.stderr.write(`compare.mjs: cannot run ${cmd}: ${r.error.message}\n`);
        process.exit(2);
    }
    if (r.status !== 0) {
        process.stderr.write(`compare.mjs: ${cmd} exited with ${r.status}: ${r.stderr}\n`);
        process.exit(2);
    }
    return r.stdout;
}

// One block per line, for showing a difference.
const lines = (s) => s.replace(/(<(?:p|li|h[1-6]|ol|ul|section|pre|blockquote|table|tr)[ >])/g,
    '\n$1').trim().split('\n');

function showDiff(a, b) {
    const la = lines(a), lb = lines(b);
    let text = '';
    for (let i = 0; i < Math.max(la.length, lb.length); i++) {
        if (la[i] === lb[i]) continue;
        if (la[i] !== undefined) text += `  fastmd: ${la[i]}\n`;
        if (lb[i] !== undefined) text += `  cmark:  ${lb[i]}\n`;
    }
    return text;
}

function main() {
    const opts = parseArgs(process.argv.slice(2));
    const expected = JSON.parse(readFileSync(join(HERE, 'differences.json'), 'utf8'));
    const docs = readdirSync(join(HERE, 'docs')).filter((f) => f.endsWith('.md')).sort()
        .filter((f) => opts.only === null || f === opts.only);
    let failures = 0, documented = 0;
    for (const name of docs) {
        const md = readFileSync(join(HERE, 'docs', name), 'utf8');
        const fast = normalize(run(opts.binary, FASTMD_ARGS, md));
        const cmark = normalize(run(opts.cmark, CMARK_ARGS, md));
        const entries = expected[name] ?? [];
        let patched = fast;
        const problems = [];
        for (const e of entries) {
            if (!patched.includes(e.fastmd)) {
                problems.push(`documented difference no longer found (${e.reason}):\n` +
                              `  fastmd: ${e.fastmd}`);
                continue;
            }
            patched = patched.split(e.fastmd).join(e.cmark);
        }
        const same = patched === cmark;
        if (same && problems.length === 0) {
            documented += entries.length;
            process.stdout.write(entries.length === 0 ? `match   ${name}\n`
                : `differ  ${name}: ${entries.length} documented difference(s)\n`);
            if (opts.verbose) for (const e of entries) process.stdout.write(`  - ${e.reason}\n`);
            continue;
        }
        failures++;
        process.stdout.write(`FAIL    ${name}\n`);
        for (const p of problems) process.stdout.write(`  ${p}\n`);
        if (!same) {
            process.stdout.write('  undocumented difference (after the documented ones):\n' +
                                 showDiff(patched, cmark));
        }
    }
    for (const name of Object.keys(expected)) {
        if (name.startsWith('_')) continue;
        if (!docs.includes(name) && opts.only === null) {
            failures++;
            process.stdout.write(`FAIL    differences.json lists ${name}, which is not in docs/\n`);
        }
    }
    process.stdout.write(`${docs.length} documents, ${documented} documented difference(s), ` +
                         `${failures} failure(s)\n`);
    process.exitCode = failures === 0 ? 0 : 1;
}

main();
