#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// GitHub Flavored Markdown spec conformance: runs every example of gfm-spec-0.29.0.gfm.6.txt
// through `<binary> render --dialect gfm --unsafe --no-heading-ids` (plus the flags an example's
// extension needs), compares the HTML after the spec's normalisation (normalize.mjs) and checks
// the result against gfm-expectations.txt, the examples allowed to fail, each with its kind:
//   tagfilter, tasklist, extension, front-matter, commonmark-0.31.2: permanent differences; such
//       an example may start to pass without failing the run (it is reported);
//   md4c: a bug of the md4c-based parser; when such an example passes the run fails, so that the
//       list is kept honest and emptied.
// Any failure not listed fails the run.
//
// Usage: node run-gfm-spec.mjs --binary PATH [--jobs N] [--only N,M] [--spec FILE]
//                              [--expectations FILE] [--verbose]
// Exit status: 0 when every failure is listed and no temporary entry passes; 1 otherwise; 2 for
// bad usage or a broken spec or expectations file.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalize } from './normalize.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const RENDER_ARGS = ['render', '--dialect', 'gfm', '--unsafe', '--no-heading-ids'];

// What each example kind adds to RENDER_ARGS. The gfm dialect turns tables, strikethrough, task
// lists and extended autolinks on together (fastmd has no switch per extension); core examples
// ('') run in the same dialect, as users' pages do. An unknown kind is an error, not a guess.
const EXTENSION_ARGS = {
    '': [], table: [], strikethrough: [], autolink: [], tagfilter: [],
    disabled: [], // the task-list examples, which cmark-gfm's own runner leaves disabled
    tasklist: [], footnotes: ['--footnotes'],
};

const KINDS = new Map([
    ['tagfilter', 'permanent'], ['tasklist', 'permanent'], ['extension', 'permanent'],
    ['front-matter', 'permanent'], ['commonmark-0.31.2', 'permanent'], ['md4c', 'temporary'],
]);

/*** Arguments ***/

function parseArgs(argv) {
    const opts = { binary: null, jobs: 8, only: null, verbose: false,
                   spec: join(HERE, 'gfm-spec-0.29.0.gfm.6.txt'),
                   expectations: join(HERE, 'gfm-expectations.txt') };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) usage(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--binary') opts.binary = value();
        else if (a === '--jobs') opts.jobs = Math.max(1, parseInt(value(), 10) || 1);
        else if (a === '--only') opts.only = new Set(value().split(',').map(Number));
        else if (a === '--spec') opts.spec = value();
        else if (a === '--expectations') opts.expectations = value();
        else if (a === '--verbose') opts.verbose = true;
        else usage(`unknown argument ${a}`);
    }
    if (!opts.binary) usage('--binary is required');
    return opts;
}

function usage(msg) {
    process.stderr.write(`run-gfm-spec.mjs: ${msg}\n` +
        'usage: node run-gfm-spec.mjs --binary PATH [--jobs N] [--only N,M] [--spec FILE] ' +
        '[--expectations FILE] [--verbose]\n');
    process.exit(2);
}

/*** The spec: examples fenced by 32 backticks and "example [extension]" ***
 * The input comes before a line holding only ".", the expected HTML after it; "→" stands for a
 * tab. Examples are numbered from 1 in file order, as cmark-gfm's spec_tests.py numbers them. */

export function parseSpec(text) {
    const FENCE = '`'.repeat(32);
    const examples = [];
    let state = 'doc', cur = null, section = '', lineNo = 0;
    for (const line of text.split('\n')) {
        lineNo++;
        if (state === 'doc') {
            if (line.startsWith(FENCE + ' example') || line === FENCE + ' example') {
                const ext = line.slice(FENCE.length + ' example'.length).trim();
                cur = { number: examples.length + 1, extension: ext, section, line: lineNo,
                        markdown: '', html: '' };
                state = 'markdown';
            } else if (/^#{1,6} /.test(line)) {
                section = line.replace(/^#+ +/, '').trim();
            }
        } else if (state === 'markdown') {
            if (line === '.') state = 'html';
            else cur.markdown += line + '\n';
        } else if (line === FENCE) {
            cur.markdown = cur.markdown.replace(/→/g, '\t');
            cur.html = cur.html.replace(/→/g, '\t');
            examples.push(cur);
            state = 'doc';
        } else {
            cur.html += line + '\n';
        }
    }
    if (state !== 'doc') throw new Error(`example starting at line ${cur.line} is not closed`);
    return examples;
}

/*** gfm-expectations.txt: "<number> <kind> <reason>" per line; '#' starts a comment ***/

function readExpectations(path) {
    const known = new Map();
    readFileSync(path, 'utf8').split('\n').forEach((raw, idx) => {
        const line = raw.replace(/#.*/, '').trim();
        if (line === '') return;
        const m = /^(\d+)\s+(\S+)\s+(\S.*)$/.exec(line);
        if (!m) throw new Error(`${path}:${idx + 1}: expected "<number> <kind> <reason>"`);
        const where = `${path}:${idx + 1}`;
        if (!KINDS.has(m[2]))
            throw new Error(`${where}: unknown kind ${m[2]} (${[...KINDS.keys()].join(', ')})`);
        if (known.has(Number(m[1]))) throw new Error(`${where}: example ${m[1]} listed twice`);
        known.set(Number(m[1]),
                  { kind: m[2], reason: m[3], temporary: KINDS.get(m[2]) === 'temporary' });
    });
    return known;
}

/*** Running the binary ***/

function render(binary, args, markdown) {
    return new Promise((resolve) => {
        const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        const out = [], err = [];
        child.stdout.on('data', (b) => out.push(b));
        child.stderr.on('data', (b) => err.push(b));
        child.on('error', (e) => resolve({ code: -1, html: '', stderr: String(e) }));
        child.on('close', (code, signal) => resolve({
            code: signal ? `signal ${signal}` : code,
            html: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
        }));
        child.stdin.on('error', () => {}); // the child may exit before reading everything
        child.stdin.end(markdown);
    });
}

async function runAll(binary, examples, jobs) {
    const results = new Array(examples.length);
    let next = 0;
    async function worker() {
        while (next < examples.length) {
            const i = next++;
            const ex = examples[i];
            results[i] = await render(binary, [...RENDER_ARGS, ...EXTENSION_ARGS[ex.extension]],
                                      ex.markdown);
        }
    }
    await Promise.all(Array.from({ length: Math.min(jobs, examples.length) }, worker));
    return results;
}

function show(s) {
    return s.replace(/\t/g, '→');
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const known = readExpectations(opts.expectations);
    const all = parseSpec(readFileSync(opts.spec, 'utf8'));
    for (const ex of all) {
        if (!Object.hasOwn(EXTENSION_ARGS, ex.extension))
            throw new Error(`example ${ex.number} (line ${ex.line}): ` +
                            `unknown extension "${ex.extension}"`);
    }
    const examples = all.filter((e) => opts.only === null || opts.only.has(e.number));

    const results = await runAll(opts.binary, examples, opts.jobs);
    const spawnError = results.find((r) => r.code === -1);
    if (spawnError) {
        process.stderr.write(`run-gfm-spec.mjs: cannot run ${opts.binary}: ${spawnError.stderr}\n`);
        process.exitCode = 2;
        return;
    }
    let passed = 0, failed = 0;
    const unexpectedFail = [], unexpectedPass = [], permanentPass = [];
    examples.forEach((ex, i) => {
        const r = results[i];
        const k = known.get(ex.number);
        const ok = r.code === 0 && normalize(r.html) === normalize(ex.html);
        if (ok) passed++;
        else failed++;
        if (!ok && !k) unexpectedFail.push(ex);
        if (ok && k && k.temporary) unexpectedPass.push(ex);
        if (ok && k && !k.temporary) permanentPass.push(ex);
        if (!ok && (opts.verbose || !k)) {
            const ext = ex.extension ? ` [${ex.extension}]` : '';
            process.stdout.write(`FAIL example ${ex.number}${ext} (${ex.section})` +
                (k ? ` [allowed, ${k.kind}: ${k.reason}]` : '') + '\n' +
                `--- markdown\n${show(ex.markdown)}--- expected\n${show(ex.html)}` +
                `--- got (exit ${r.code})\n${show(r.html)}` +
                (r.stderr ? '--- stderr\n' + r.stderr : '') + '\n');
        }
    });
    for (const ex of unexpectedPass) {
        process.stdout.write(`unexpected pass: example ${ex.number} (${ex.section}) is listed as ` +
            `${known.get(ex.number).kind} in gfm-expectations.txt but passes; remove it\n`);
    }
    for (const ex of permanentPass) {
        process.stdout.write(`note: example ${ex.number} (${ex.section}) passes, listed as ` +
            `${known.get(ex.number).kind}\n`);
    }
    let stale = 0;
    for (const num of known.keys()) {
        if (!all.some((e) => e.number === num)) {
            process.stdout.write(`gfm-expectations.txt lists example ${num}, which does not ` +
                                 'exist\n');
            stale++;
        }
    }
    process.stdout.write(`${passed} passed, ${failed} failed (of ${examples.length})\n`);
    if (unexpectedFail.length || unexpectedPass.length || stale) {
        process.stdout.write(`${unexpectedFail.length} unexpected failure(s), ` +
            `${unexpectedPass.length} unexpected pass(es), ${stale} stale entr(ies)\n`);
        process.exitCode = 1;
    }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
    main().catch((e) => {
        process.stderr.write(`run-gfm-spec.mjs: ${e.stack ?? e}\n`);
        process.exitCode = 2;
    });
}
