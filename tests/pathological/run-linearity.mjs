#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Linearity of `fastmd render` on every pathological class of gen.mjs, measured deterministically:
// callgrind counts the instructions executed inside fmd_kernel_page_render (--toggle-collect)
// for a page of about S bytes and one of about 2S bytes. The growth for a doubled input is
// 2^k, with k = ln(W2/W1) / ln(B2/B1) (W: instructions, B: page bytes), so classes whose page
// size is not exactly proportional to n compare fairly. A class is super-linear when that growth
// is above THRESHOLD (2.3: linear work with fixed costs stays at or under 2.0, a quadratic term
// that dominates gives 4.0, and k = 1.2 is already far from noise, which callgrind does not have).
// known-superlinear.txt lists the classes that are super-linear with the md4c-based parser; the
// run fails when an unlisted class is super-linear, when a listed class is linear (remove it),
// and when the binary crashes or prints nothing for a page.
// Inputs are generated into a temporary directory that is removed at the end.
//
// Usage: node run-linearity.mjs --binary PATH [--valgrind PATH] [--jobs N] [--only A,B]
//                               [--scale X] [--known FILE] [--verbose]
// Exit status: 0 when every class behaves as listed; 1 otherwise; 2 for bad usage.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLASSES, pageOfSize } from './gen.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const THRESHOLD = 2.3;
const FUNCTION = 'fmd_kernel_page_render';

function parseArgs(argv) {
    const opts = { binary: null, valgrind: 'valgrind', jobs: 2, only: null, scale: 1,
                   verbose: false, known: join(HERE, 'known-superlinear.txt') };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) usage(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--binary') opts.binary = value();
        else if (a === '--valgrind') opts.valgrind = value();
        else if (a === '--jobs') opts.jobs = Math.max(1, parseInt(value(), 10) || 1);
        else if (a === '--only') opts.only = value().split(',');
        else if (a === '--scale') opts.scale = Number(value());
        else if (a === '--known') opts.known = value();
        else if (a === '--verbose') opts.verbose = true;
        else usage(`unknown argument ${a}`);
    }
    if (!opts.binary) usage('--binary is required');
    if (!(opts.scale > 0)) usage('--scale must be a positive number');
    for (const c of opts.only ?? []) if (!Object.hasOwn(CLASSES, c)) usage(`unknown class ${c}`);
    return opts;
}

function usage(msg) {
    process.stderr.write(`run-linearity.mjs: ${msg}\n` +
        'usage: node run-linearity.mjs --binary PATH [--valgrind PATH] [--jobs N] [--only A,B] ' +
        '[--scale X] [--known FILE] [--verbose]\n');
    process.exit(2);
}

// known-superlinear.txt: "<class> <reason>" per line; '#' starts a comment.
function readKnown(path) {
    const known = new Map();
    readFileSync(path, 'utf8').split('\n').forEach((raw, idx) => {
        const line = raw.replace(/#.*/, '').trim();
        if (line === '') return;
        const m = /^(\S+)\s+(\S.*)$/.exec(line);
        if (!m) throw new Error(`${path}:${idx + 1}: expected "<class> <reason>"`);
        if (!Object.hasOwn(CLASSES, m[1]))
            throw new Error(`${path}:${idx + 1}: unknown class ${m[1]}`);
        known.set(m[1], m[2]);
    });
    return known;
}

// Instructions executed inside FUNCTION for one page, or an error string.
function countInstructions(opts, dir, file) {
    return new Promise((resolve) => {
        const args = ['--tool=callgrind', `--toggle-collect=${FUNCTION}`,
                      `--callgrind-out-file=${file}.cg`, opts.binary, 'render', file];
        const child = spawn(opts.valgrind, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let outBytes = 0, err = '';
        child.stdout.on('data', (b) => { outBytes += b.length; });
        child.stderr.on('data', (b) => { err += b; });
        child.on('error', (e) => resolve({ error: `cannot run ${opts.valgrind}: ${e.message}` }));
        child.on('close', (code, signal) => {
            const m = /Collected\s*:\s*(\d+)/.exec(err);
            // Exit 0, or the binary's "pages failed" code with a message: a page may fail
            // cleanly (a limit), but never crash or vanish.
            const clean = code === 0 || (code !== null && code < 64 && /error/.test(err));
            if (signal || !clean) resolve({ error: `exit ${signal ?? code}: ${err.slice(-400)}` });
            else if (!m || Number(m[1]) === 0)
                resolve({ error: `no instruction count for ${FUNCTION} (stripped binary?)` });
            else resolve({ ir: Number(m[1]), outBytes, exit: code });
        });
    });
}

async function measure(opts, dir, name) {
    const base = Math.round(CLASSES[name][2] * opts.scale);
    const res = { name, sizes: [], irs: [] };
    for (const bytes of [base, 2 * base]) {
        const page = pageOfSize(name, bytes);
        const file = join(dir, `${name}-${bytes}.md`);
        writeFileSync(file, page);
        const r = await countInstructions(opts, dir, file);
        rmSync(file, { force: true });
        rmSync(`${file}.cg`, { force: true });
        if (r.error) return { ...res, error: r.error };
        res.sizes.push(Buffer.byteLength(page));
        res.irs.push(r.ir);
    }
    const k = Math.log(res.irs[1] / res.irs[0]) / Math.log(res.sizes[1] / res.sizes[0]);
    return { ...res, growth: 2 ** k };
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const known = readKnown(opts.known);
    const names = opts.only ?? Object.keys(CLASSES);
    const dir = mkdtempSync(join(tmpdir(), 'fastmd-pathological-'));
    const results = new Array(names.length);
    try {
        let next = 0;
        const worker = async () => {
            while (next < names.length) {
                const i = next++;
                results[i] = await measure(opts, dir, names[i]);
            }
        };
        await Promise.all(Array.from({ length: Math.min(opts.jobs, names.length) }, worker));
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }

    let bad = 0;
    const pad = (s, n) => String(s).padEnd(n);
    process.stdout.write(`${pad('class', 28)} ${pad('bytes', 15)} ${pad('instructions', 25)} ` +
        `x2 input   verdict\n`);
    for (const r of results) {
        let verdict;
        if (r.error) {
            verdict = `FAIL (${r.error.trim()})`;
            bad++;
        } else {
            const superlinear = r.growth > THRESHOLD;
            if (superlinear && known.has(r.name)) verdict = 'super-linear (known: md4c)';
            else if (superlinear) { verdict = 'FAIL: super-linear, not listed'; bad++; }
            else if (known.has(r.name)) {
                verdict = 'FAIL: linear but listed in known-superlinear.txt; remove it';
                bad++;
            } else verdict = 'linear';
        }
        const sizes = r.sizes.join('/'), irs = r.irs.join('/');
        const growth = r.growth === undefined ? '-' : r.growth.toFixed(2);
        process.stdout.write(`${pad(r.name, 28)} ${pad(sizes, 15)} ${pad(irs, 25)} ` +
            `${pad(growth, 10)} ${verdict}\n`);
    }
    process.stdout.write(`${results.length} classes, threshold ${THRESHOLD}x work for 2x input, ` +
        `${bad} failure(s)\n`);
    if (bad) process.exitCode = 1;
}

main().catch((e) => {
    process.stderr.write(`run-linearity.mjs: ${e.stack ?? e}\n`);
    process.exitCode = 2;
});
