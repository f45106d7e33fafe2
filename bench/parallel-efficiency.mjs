#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Pages per second through the Node.js client (client/) and `fastmd serve` at 1, 2, ... N
// workers (N = os.availableParallelism()), the speedup against one worker, and the same pages
// rendered in-process by the npm packages marked and markdown-it, as ratios. Target: through the
// client, fastmd is at least 8x faster than the faster of the two, even at one worker.
//
//   cd client && npm ci && npm run build && cd .. && node bench/parallel-efficiency.mjs
//   options: --corpus DIR (default ../shared/corpus, or FASTMD_CORPUS), --runs R (default 5),
//            --workers 1,2,4 (default 1..N; powers of two and N past 8), --by-path (the sidecar
//            reads the pages; default: content sent inline), --no-code (results without `code`),
//            --json FILE (the figures as JSON)
//   FASTMD_BINARY: the binary (default build/release/fastmd)
// Every run renders the whole corpus in one transformBatch call (chunks of 1000); the peers render
// the same strings with their default options. Peers and fastmd run in alternation, and each
// figure is the median of its runs, so that a shared machine's changing load does not skew the ratios.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const clientDir = path.join(repo, 'client');

function arg(name, fallback) {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : fallback;
}
const flag = (name) => process.argv.includes(name);

const corpus = path.resolve(arg('--corpus', process.env.FASTMD_CORPUS ?? path.join(repo, '..', 'shared', 'corpus')));
if (!fs.existsSync(corpus)) {
    console.log(`parallel-efficiency: skipped: no corpus at ${corpus} (give --corpus DIR or FASTMD_CORPUS)`);
    process.exit(0);
}
const clientEntry = path.join(clientDir, 'dist', 'index.js');
const req = createRequire(path.join(clientDir, 'package.json'));
let marked, MarkdownIt;
try {
    ({ marked } = await import(pathToFileURL(req.resolve('marked')).href));
    MarkdownIt = (await import(pathToFileURL(req.resolve('markdown-it')).href)).default;
} catch (e) {
    console.error(`parallel-efficiency: marked and markdown-it are not installed in client/: run npm ci there (${e.message})`);
    process.exit(1);
}
if (!fs.existsSync(clientEntry)) {
    console.error('parallel-efficiency: the client is not built: run npm run build in client/');
    process.exit(1);
}
const { createFastmd, resolveBinary } = await import(pathToFileURL(clientEntry).href);
const binary = resolveBinary();
if (!fs.existsSync(binary)) {
    console.error(`parallel-efficiency: no fastmd binary at ${binary}: build it or set FASTMD_BINARY`);
    process.exit(1);
}

const runs = Math.max(1, Number(arg('--runs', 5)));
const byPath = flag('--by-path');
const includeCode = !flag('--no-code');
const N = os.availableParallelism();
const workerList = arg('--workers')
    ? arg('--workers').split(',').map(Number)
    : N <= 8
      ? Array.from({ length: N }, (_, i) => i + 1)
      : [...new Set([...Array.from({ length: Math.floor(Math.log2(N)) + 1 }, (_, i) => 2 ** i), N])];

// The pages: every *.md under the corpus, sorted by path.
const pages = [];
(function walk(dir, rel) {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path.join(dir, e.name), r);
        else if (e.isFile() && e.name.endsWith('.md')) pages.push({ file: r, content: fs.readFileSync(path.join(dir, e.name), 'utf8') });
    }
})(corpus, '');
const bytes = pages.reduce((n, p) => n + Buffer.byteLength(p.content), 0);
const batch = byPath ? pages.map((p) => p.file) : pages;

const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const seconds = async (fn) => {
    const t = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t) / 1e9;
};

console.log(`parallel-efficiency: ${pages.length} pages, ${(bytes / 1e6).toFixed(1)} MB from ${corpus}`);
console.log(`  binary ${binary}; ${os.cpus()[0]?.model ?? 'cpu'}, ${N} hardware threads; Node ${process.version}`);
console.log(`  ${byPath ? 'pages read by the sidecar (by path)' : 'content sent inline'}; results ${includeCode ? 'with' : 'without'} code`);
console.log(`  per worker count: a warm-up, then ${runs} rounds of (marked, markdown-it, fastmd) one after the other; medians\n`);

// The peers, in-process, one thread, on the same strings.
const md = new MarkdownIt();
let sink = 0;
const peerPass = {
    marked: () => {
        for (const p of pages) sink += marked.parse(p.content).length;
    },
    'markdown-it': () => {
        for (const p of pages) sink += md.render(p.content).length;
    },
};

// Peers and fastmd are measured in alternation, so that a machine whose load changes (shared
// cores) slows all three alike and the ratios stay fair.
const rows = [];
for (const w of workerList) {
    const client = await createFastmd({ binary, workers: w, root: corpus });
    let failed = 0;
    const fastmdPass = async () => {
        const results = await client.transformBatch(batch, { includeCode, chunkSize: 1000 });
        failed = results.reduce((n, r) => n + (r.ok ? 0 : 1), 0);
        if (results.length !== pages.length) throw new Error('missing results');
    };
    await fastmdPass();
    for (const f of Object.values(peerPass)) f();
    const t = { fastmd: [], marked: [], 'markdown-it': [] };
    for (let r = 0; r < runs; r++) {
        t.marked.push(await seconds(peerPass.marked));
        t['markdown-it'].push(await seconds(peerPass['markdown-it']));
        t.fastmd.push(await seconds(fastmdPass));
    }
    await client.close();
    const rate = (k) => pages.length / median(t[k]);
    rows.push({
        workers: w,
        seconds: median(t.fastmd),
        pagesPerSecond: rate('fastmd'),
        mbPerSecond: bytes / 1e6 / median(t.fastmd),
        markedPagesPerSecond: rate('marked'),
        markdownItPagesPerSecond: rate('markdown-it'),
        failed,
    });
}
const base = rows.find((r) => r.workers === 1) ?? rows[0];

const pad = (s, n) => String(s).padStart(n);
console.log(
    `${pad('workers', 7)} ${pad('pages/s', 9)} ${pad('MB/s', 6)} ${pad('speedup', 8)} ${pad('effic.', 7)}` +
        ` ${pad('marked/s', 9)} ${pad('md-it/s', 8)} ${pad('vs marked', 10)} ${pad('vs md-it', 9)}`,
);
for (const r of rows) {
    r.speedup = r.pagesPerSecond / base.pagesPerSecond;
    r.efficiency = r.speedup / (r.workers / base.workers);
    r.vsMarked = r.pagesPerSecond / r.markedPagesPerSecond;
    r.vsMarkdownIt = r.pagesPerSecond / r.markdownItPagesPerSecond;
    console.log(
        `${pad(r.workers, 7)} ${pad(r.pagesPerSecond.toFixed(0), 9)} ${pad(r.mbPerSecond.toFixed(1), 6)} ${pad(r.speedup.toFixed(2) + 'x', 8)} ` +
            `${pad((100 * r.efficiency).toFixed(0) + '%', 7)} ${pad(r.markedPagesPerSecond.toFixed(0), 9)} ${pad(r.markdownItPagesPerSecond.toFixed(0), 8)} ` +
            `${pad(r.vsMarked.toFixed(1) + 'x', 10)} ${pad(r.vsMarkdownIt.toFixed(1) + 'x', 9)}` +
            (r.failed ? `  (${r.failed} pages failed)` : ''),
    );
}
const ratio1 = Math.min(base.vsMarked, base.vsMarkdownIt);
const faster = base.vsMarked < base.vsMarkdownIt ? 'marked' : 'markdown-it';
const met = ratio1 >= 8;
console.log(
    `\ntarget: fastmd through the client at ${base.workers} worker(s) is ${ratio1.toFixed(1)}x the faster peer (${faster}): ${met ? 'met' : 'MISSED'} (>= 8x)`,
);

const jsonOut = arg('--json');
if (jsonOut) {
    fs.writeFileSync(
        jsonOut,
        JSON.stringify({ corpus, pages: pages.length, bytes, byPath, includeCode, runs, hardwareThreads: N, node: process.version, rows, targetRatio: ratio1, targetMet: met }, null, 2) + '\n',
    );
}
if (sink < 0) console.log(sink);
