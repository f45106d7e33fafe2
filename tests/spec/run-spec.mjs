#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// CommonMark 0.31.2 conformance: runs every example of the spec (npm package commonmark-spec)
// through `<binary> render --dialect commonmark --unsafe --no-heading-ids`, compares the HTML
// after the spec's normalisation (test/normalize.py, reimplemented in normalize.mjs) and checks
// the result against tests/spec/known-failures.txt, which must list exactly the examples that fail.
//
// Usage: node run-spec.mjs --binary PATH [--jobs N] [--only N,M,...] [--verbose]
// Exit status: 0 when every failure is listed and every listed example still fails; 1 otherwise;
// 2 for bad usage.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import spec from 'commonmark-spec';
import { normalize } from './normalize.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const RENDER_ARGS = ['render', '--dialect', 'commonmark', '--unsafe', '--no-heading-ids'];

/*** Arguments ***/

function parseArgs(argv) {
    const opts = { binary: null, jobs: 8, only: null, verbose: false,
                   knownFailures: join(HERE, 'known-failures.txt') };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) usage(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--binary') opts.binary = value();
        else if (a === '--jobs') opts.jobs = Math.max(1, parseInt(value(), 10) || 1);
        else if (a === '--only') opts.only = new Set(value().split(',').map(Number));
        else if (a === '--known-failures') opts.knownFailures = value();
        else if (a === '--verbose') opts.verbose = true;
        else usage(`unknown argument ${a}`);
    }
    if (!opts.binary) usage('--binary is required');
    return opts;
}

function usage(msg) {
    process.stderr.write(`run-spec.mjs: ${msg}\n` +
        'usage: node run-spec.mjs --binary PATH [--jobs N] [--only N,M] [--known-failures FILE] [--verbose]\n');
    process.exit(2);
}

/*** known-failures.txt: "<number> <reason>" per line; '#' starts a comment ***/

function readKnownFailures(path) {
    const known = new Map();
    const text = readFileSync(path, 'utf8');
    text.split('\n').forEach((raw, idx) => {
        const line = raw.replace(/#.*/, '').trim();
        if (line === '') return;
        const m = /^(\d+)\s+(\S.*)$/.exec(line);
        if (!m) throw new Error(`${path}:${idx + 1}: expected "<number> <reason>"`);
        known.set(Number(m[1]), m[2]);
    });
    return known;
}

/*** Running the binary ***/

function render(binary, markdown) {
    return new Promise((resolve) => {
        const child = spawn(binary, RENDER_ARGS, { stdio: ['pipe', 'pipe', 'pipe'] });
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
            results[i] = await render(binary, examples[i].markdown);
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
    const known = readKnownFailures(opts.knownFailures);
    // spec.txt writes tabs as '→'; the spec's own runner turns them back into tabs.
    const examples = spec.tests
        .filter((t) => opts.only === null || opts.only.has(t.number))
        .map((t) => ({ ...t, markdown: t.markdown.replace(/→/g, '\t'), html: t.html.replace(/→/g, '\t') }));

    const results = await runAll(opts.binary, examples, opts.jobs);
    const spawnError = results.find((r) => r.code === -1);
    if (spawnError) {
        process.stderr.write(`run-spec.mjs: cannot run ${opts.binary}: ${spawnError.stderr}\n`);
        process.exitCode = 2;
        return;
    }
    let passed = 0, failed = 0;
    const unexpectedFail = [], unexpectedPass = [];
    examples.forEach((ex, i) => {
        const r = results[i];
        const ok = r.code === 0 && normalize(r.html) === normalize(ex.html);
        if (ok) passed++;
        else failed++;
        if (!ok && !known.has(ex.number)) unexpectedFail.push({ ex, r });
        if (ok && known.has(ex.number)) unexpectedPass.push(ex);
        if (!ok && (opts.verbose || !known.has(ex.number))) {
            process.stdout.write(`FAIL example ${ex.number} (${ex.section})` +
                (known.has(ex.number) ? ` [known: ${known.get(ex.number)}]` : '') + '\n' +
                `--- markdown\n${show(ex.markdown)}--- expected\n${show(ex.html)}` +
                `--- got (exit ${r.code})\n${show(r.html)}${r.stderr ? '--- stderr\n' + r.stderr : ''}\n`);
        }
    });
    for (const ex of unexpectedPass) {
        process.stdout.write(`unexpected pass: example ${ex.number} (${ex.section}) is listed in ` +
            'known-failures.txt but passes; remove it from the list\n');
    }
    if (opts.only === null) {
        for (const num of known.keys()) {
            if (!examples.some((e) => e.number === num))
                process.stdout.write(`known-failures.txt lists example ${num}, which does not exist\n`);
        }
    }
    process.stdout.write(`${passed} passed, ${failed} failed\n`);
    if (unexpectedFail.length || unexpectedPass.length) {
        process.stdout.write(`${unexpectedFail.length} unexpected failure(s), ` +
            `${unexpectedPass.length} unexpected pass(es)\n`);
        process.exitCode = 1;
    }
}

main().catch((e) => {
    process.stderr.write(`run-spec.mjs: ${e.stack ?? e}\n`);
    process.exitCode = 2;
});
