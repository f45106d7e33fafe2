// SPDX-License-Identifier: MIT
// The client at scale, against the real `fastmd serve`: behaviour, not timings. 10,000 files in
// one call (complete, in order, with the client's memory bounded), two chunks of a call at most
// on the sidecar at a time, and many calls at once.
// Compiled with client/tsconfig.test.json to client/dist/test/tests/performance/parallel.test.js;
// run by ctest (client_tests) or `npm test` in client/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createFastmd, type BatchInput } from '../../client/src/index.js';
import { fastmdBinary, gc, inflightWrapper, isPage, page, tmpdir } from '../../client/test/helpers.js';

const binary = fastmdBinary();
const MiB = 1 << 20;

/** A root with @p n pages on disk (d<k>/p<i>.md), for batches given by path only. */
function rootWith(n: number): { root: string; files: string[] } {
    const root = tmpdir('scale');
    const files: string[] = [];
    for (let i = 0; i < n; i++) {
        const rel = `d${i % 50}/p${i}.md`;
        if (i < 50) fs.mkdirSync(path.join(root, `d${i}`));
        fs.writeFileSync(path.join(root, rel), page(i, 12));
        files.push(rel);
    }
    return { root, files };
}

test('10,000 files in one call: complete, in order, memory bounded', { timeout: 120_000 }, async () => {
    const n = 10000;
    const { root, files } = rootWith(n);
    const c = await createFastmd({ binary, root, workers: 2 });
    try {
        // Warm up, so that the baseline holds the client's code and the sidecar's first answers.
        await c.transformBatch(files.slice(0, 500));
        for await (const r of c.transformBatchStream(files.slice(0, 500))) assert.ok(r.ok);
        gc();
        const rss0 = process.memoryUsage().rss;

        // 1. transformBatchStream, results dropped as they come, by a consumer slower than the
        // sidecar: the heap stays flat (about two chunks of results, ~3 MiB here; ~10x that if
        // the client read ahead of its consumer).
        const base = process.memoryUsage().heapUsed;
        let peak = 0;
        let k = 0;
        for await (const r of c.transformBatchStream(files, { chunkSize: 500 })) {
            assert.equal(r.index, k);
            assert.ok(r.ok && isPage(r.result.html, k), `item ${k}`);
            if (++k % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
            if (k % 500 === 0) {
                gc();
                peak = Math.max(peak, process.memoryUsage().heapUsed - base);
            }
        }
        assert.equal(k, n);
        assert.ok(peak < 12 * MiB, `streaming 10,000 results grew the heap by ${(peak / MiB).toFixed(1)} MiB`);

        // 2. transformBatch: the results are kept, so the heap grows by about their size and no more.
        gc();
        const heap0 = process.memoryUsage().heapUsed;
        let progressCalls = 0;
        const results = await c.transformBatch(files, { onProgress: () => progressCalls++ });
        assert.equal(results.length, n);
        let resultBytes = 0;
        for (let i = 0; i < n; i++) {
            const r = results[i]!;
            assert.equal(r.index, i);
            assert.ok(r.ok && isPage(r.result.html, i), `item ${i}`);
            resultBytes += 2 * r.result.html.length + 1024;
        }
        assert.ok(progressCalls >= 1);
        gc();
        const held = process.memoryUsage().heapUsed - heap0;
        assert.ok(
            held < 2 * resultBytes + 16 * MiB,
            `holding 10,000 results took ${(held / MiB).toFixed(1)} MiB of heap (their HTML: ${(resultBytes / MiB).toFixed(1)} MiB)`,
        );
        const rssGrowth = process.memoryUsage().rss - rss0;
        assert.ok(rssGrowth < 512 * MiB, `RSS grew by ${(rssGrowth / MiB).toFixed(0)} MiB`);
    } finally {
        await c.close();
    }
});

test('a call keeps two chunks in flight, never more; the sidecar answers health throughout', { timeout: 120_000 }, async () => {
    const n = 10000;
    const files: BatchInput[] = Array.from({ length: n }, (_, i) => ({ file: `p${i}.md`, content: page(i, 20) }));
    const dir = tmpdir('window');
    const log = path.join(dir, 'most');
    const c = await createFastmd({ binary: inflightWrapper(dir, binary, log), workers: 2 });
    try {
        let polls = 0;
        let polling = true;
        const poller = (async () => {
            while (polling) {
                assert.equal((await c.health()).status, 'ok');
                polls++;
                await new Promise((r) => setTimeout(r, 5));
            }
        })();
        const results = await c.transformBatch(files, { chunkSize: 250 });
        polling = false;
        await poller;
        assert.equal(results.length, n);
        assert.ok(results.every((r, i) => r.ok && r.index === i));
        assert.ok(polls > 0);
        assert.equal(Number(fs.readFileSync(log, 'utf8')), 2, 'chunks in flight at once');

        // The stream, with a consumer slower than the sidecar, holds no more.
        await c.ping(); // starts the wrapper's count again
        let k = 0;
        for await (const r of c.transformBatchStream(files, { chunkSize: 250 })) {
            assert.equal(r.index, k++);
            if (k % 1000 === 0) await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(k, n);
        assert.equal(Number(fs.readFileSync(log, 'utf8')), 2, 'chunks in flight at once (stream)');
    } finally {
        await c.close();
    }
});

test('many calls at once: each gets its own results, in order', { timeout: 120_000 }, async () => {
    const c = await createFastmd({ binary, workers: 2 });
    try {
        const calls = Array.from({ length: 6 }, (_, b) => {
            const files = Array.from({ length: 1500 }, (_, i) => ({ file: `b${b}/p${i}.md`, content: page(b * 100000 + i) }));
            return c.transformBatch(files, { chunkSize: 200 }).then((rs) => ({ b, rs }));
        });
        const singles = Array.from({ length: 100 }, (_, i) => c.transform(`s${i}.md`, page(900000 + i)));
        const [batches, one] = await Promise.all([Promise.all(calls), Promise.all(singles)]);
        for (const { b, rs } of batches) {
            assert.equal(rs.length, 1500);
            rs.forEach((r, i) => assert.ok(r.ok && r.index === i && isPage(r.result.html, b * 100000 + i), `call ${b} item ${i}`));
        }
        one.forEach((r, i) => assert.ok(isPage(r.html, 900000 + i)));
    } finally {
        await c.close();
    }
});
