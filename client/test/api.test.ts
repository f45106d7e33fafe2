// SPDX-License-Identifier: MIT
// The client against the real `fastmd serve`: every method, results in input order, progress
// over the whole batch, cancellation through an AbortSignal and a timeout (with the sidecar's
// stats showing that it stopped), leaving a stream early, and close().
//   FASTMD_BINARY=build/release/fastmd node --test dist/test/client/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    CancelledError,
    ClosedError,
    createFastmd,
    ItemError,
    TimeoutError,
    type BatchInput,
    type BatchProgress,
    type Fastmd,
} from '../src/index.js';
import { fastmdBinary, isPage, page, slowRoot, sleep, tmpdir, until } from './helpers.js';

const binary = fastmdBinary();

interface Counters {
    pages: { total: number; cancelled: number };
    batches: { total: number; cancelled: number };
}

/** The sidecar's page and batch counters. */
async function counters(c: Fastmd): Promise<Counters> {
    return (await c.stats()) as unknown as Counters;
}

/** Waits until no batch is queued or running on the sidecar; returns its counters then. */
async function idle(c: Fastmd): Promise<Counters> {
    await until(async () => {
        const h = await c.health();
        return h.running === 0 && h.queued === 0;
    }, 20000, 'the sidecar to finish its batches');
    return counters(c);
}

/**
 * Asserts that the sidecar stopped working on a cancelled batch: it cancelled pages, it holds no
 * batch, and its page count stays below the batch's and does not move any more.
 */
async function assertStopped(c: Fastmd, before: Counters, total: number): Promise<void> {
    const a = await idle(c);
    await sleep(300);
    const b = await counters(c);
    assert.equal(b.pages.total, a.pages.total, 'the sidecar kept rendering after the cancellation');
    assert.ok(b.pages.total - before.pages.total < total, `the sidecar rendered every page (${b.pages.total - before.pages.total})`);
    assert.ok(b.pages.cancelled > before.pages.cancelled, 'the sidecar cancelled no page');
    assert.ok(b.batches.cancelled > before.batches.cancelled, 'the sidecar cancelled no batch');
}

test('ping, health, transform, normalize, computeDigest, stats, close', { timeout: 120_000 }, async () => {
    const c = await createFastmd({ binary, workers: 2 });
    try {
        assert.deepEqual(await c.ping(), { pong: true });
        const h = await c.health();
        assert.equal(h.status, 'ok');
        assert.equal(h.workers, 2);

        const r = await c.transform('guide/intro.md', '---\ntitle: Intro\n---\n# Hello `x`\n\nSee [docs](/docs).\n', {});
        assert.match(r.html, /<h1 id="hello-x">Hello <code>x<\/code><\/h1>/);
        assert.match(r.html, /<a href="\/docs">docs<\/a>/);
        assert.equal(r.map, null);
        assert.deepEqual(r.dependencies, []);
        assert.equal(r.metadata.title, 'Intro');
        assert.equal(r.metadata.file, 'guide/intro.md');
        assert.deepEqual(r.metadata.frontmatter, { title: 'Intro' });
        assert.equal(r.metadata.headings[0]?.id, 'hello-x');
        assert.match(r.metadata.hash, /^[0-9a-f]{16}$/);
        // The manifest's names, and the old ones as aliases for one release.
        assert.equal(r.metadata.links, 1);
        assert.equal(r.metadata.linkCount, r.metadata.links);
        assert.ok(r.metadata.words > 2);
        assert.equal(r.metadata.wordCount, r.metadata.words);
        const plain = await c.transform('plain.md', '"Quoted" text[^1].\n\n[^1]: Note.\n', {});
        assert.equal(plain.metadata.frontmatter, null, 'no front matter: null');
        assert.doesNotMatch(plain.html, /footnote|\u201c/, 'footnotes and smart quotes off, as in build');
        // code is a module whose default export is the HTML.
        const mod = (await import(`data:text/javascript,${encodeURIComponent(r.code!)}`)) as { default: string };
        assert.equal(mod.default, r.html);

        // A batch builds `code` on the client: the same bytes as the sidecar's, also for a page
        // full of what the template literal must escape.
        const tricky = 'Back`ticks` and ${x} and \\ and `` `code` `` and\r\nCR\rlines\n\n    ${indented}\\`\n';
        const single = await c.transform('t.md', tricky, {});
        const [item] = await c.transformBatch([{ file: 't.md', content: tricky }]);
        assert.ok(item?.ok);
        assert.equal(item.result.html, single.html);
        assert.equal(item.result.code, single.code);
        const mod2 = (await import(`data:text/javascript,${encodeURIComponent(item.result.code!)}`)) as { default: string };
        assert.equal(mod2.default, single.html);
        const [bare] = await c.transformBatch(['t.md', { file: 'x.md', content: '# x' }].slice(1), { includeCode: false });
        assert.ok(bare?.ok);
        assert.equal(bare.result.code, null);

        // A page error rejects a single transform with ItemError.
        await assert.rejects(c.transform('bad.md', '---\ntitle: [\n---\nx\n'), (e: unknown) => {
            assert.ok(e instanceof ItemError, String(e));
            assert.equal(e.code, 'frontmatter');
            assert.equal(e.file, 'bad.md');
            return true;
        });

        assert.deepEqual(await c.normalize('\ufeffa\r\nb\rc', { removeBom: true, normalizeLf: true }), {
            content: 'a\nb\nc',
            changed: true,
        });
        const files = [
            { path: 'b.md', size: 10, mtime: 1700000000000 },
            { path: 'a.md', size: 3, mtime: 1700000000123.5 },
        ];
        const d1 = await c.computeDigest(files);
        const d2 = await c.computeDigest([...files].reverse());
        assert.match(d1.digest, /^[0-9a-f]{32}$/);
        assert.equal(d1.digest, d2.digest);

        const s = await counters(c);
        assert.ok(s.pages.total >= 2);
        const prom = await c.stats('prometheus');
        assert.equal(typeof prom, 'string');
        assert.match(prom, /fastmd_pages_total/);
    } finally {
        const pid = c.pid!;
        const exit = await c.close();
        assert.equal(exit?.exitCode, 0, 'the sidecar did not exit 0 after shutdown');
        assert.throws(() => process.kill(pid, 0), /ESRCH/);
    }
    await assert.rejects(c.ping(), ClosedError);
});

test('results come in input order, with inline content, paths and failed items', { timeout: 120_000 }, async () => {
    const root = tmpdir('order');
    fs.mkdirSync(path.join(root, 'docs'));
    const n = 3000;
    const files: BatchInput[] = [];
    for (let i = 0; i < n; i++) {
        // Sizes vary a lot, so the sidecar's largest-first schedule reorders the work.
        const content = page(i, i % 97 === 0 ? 400 : 1 + (i % 13));
        if (i % 3 === 0) {
            fs.writeFileSync(path.join(root, 'docs', `p${i}.md`), content);
            files.push(i % 2 === 0 ? `docs/p${i}.md` : { file: `docs/p${i}.md` });
        } else {
            files.push({ file: `inline/p${i}.md`, content });
        }
    }
    files[1234] = '../outside.md';
    files[2345] = 'docs/missing.md';
    const c = await createFastmd({ binary, root, workers: 2 });
    try {
        for (const chunkSize of [256, 5000]) {
            const results = await c.transformBatch(files, { chunkSize });
            assert.equal(results.length, n);
            for (let i = 0; i < n; i++) {
                const r = results[i]!;
                assert.equal(r.index, i);
                const f = files[i]!;
                assert.equal(r.file, typeof f === 'string' ? f : f.file);
                if (i === 1234 || i === 2345) {
                    assert.equal(r.ok, false, `item ${i} should have failed`);
                    if (!r.ok) {
                        assert.ok(r.error instanceof ItemError);
                        assert.equal(r.error.code, i === 1234 ? 'outside-root' : 'no-input');
                        assert.equal(r.error.index, i);
                    }
                } else {
                    assert.ok(r.ok, `item ${i} failed: ${r.ok ? '' : r.error.message}`);
                    assert.ok(isPage(r.result.html, i), `item ${i} holds another page's HTML`);
                    assert.equal(r.result.metadata.title, `Page ${i}`);
                }
            }
        }
        // The stream gives the same results, in the same order.
        let k = 0;
        for await (const r of c.transformBatchStream(files, { chunkSize: 300 })) {
            assert.equal(r.index, k);
            if (r.ok) assert.ok(isPage(r.result.html, k));
            k++;
        }
        assert.equal(k, n);
        assert.deepEqual(await c.transformBatch([]), []);
    } finally {
        await c.close();
    }
});

test('progress counts the whole batch across chunks', { timeout: 120_000 }, async () => {
    const n = 2500;
    const files: BatchInput[] = Array.from({ length: n }, (_, i) => ({ file: `p${i}.md`, content: page(i) }));
    const bad = [7, 1500, 2499];
    for (const i of bad) files[i] = `../nope-${i}.md`;
    const c = await createFastmd({ binary, workers: 2 });
    try {
        const seen: BatchProgress[] = [];
        const results = await c.transformBatch(files, { chunkSize: 300, onProgress: (p) => seen.push({ ...p }) });
        assert.ok(seen.length >= 2, `only ${seen.length} progress calls`);
        let prev = { completed: 0, failed: 0 };
        for (const p of seen) {
            assert.equal(p.total, n);
            assert.ok(p.completed >= prev.completed && p.failed >= prev.failed, 'progress went backwards');
            assert.ok(p.failed <= p.completed && p.completed <= n);
            prev = p;
        }
        assert.deepEqual(seen.at(-1), { completed: n, total: n, failed: bad.length });
        assert.equal(results.filter((r) => !r.ok).length, bad.length);
        // A chunk boundary was crossed before the end: progress is not per chunk.
        assert.ok(seen.some((p) => p.completed > 300 && p.completed < n) || seen.length >= 2);
    } finally {
        await c.close();
    }
});

test('an AbortSignal cancels the batch on the sidecar too', { timeout: 120_000 }, async () => {
    const { root, files: longs } = slowRoot();
    const n = 10000;
    const files = Array.from({ length: n }, (_, i) => longs[i % longs.length]!);
    const c = await createFastmd({ binary, root, workers: 2 });
    try {
        const before = await counters(c);
        const ac = new AbortController();
        const err = await c
            .transformBatch(files, {
                chunkSize: 100,
                signal: ac.signal,
                onProgress: (p) => {
                    if (p.completed > 0) ac.abort();
                },
            })
            .then(
                () => assert.fail('the batch was not cancelled'),
                (e: unknown) => e,
            );
        assert.ok(err instanceof CancelledError, String(err));
        assert.equal(err.total, n);
        assert.ok(err.completed > 0 && err.completed < n, `completed ${err.completed}`);
        // The results that arrived are kept: a dense list in input order, each with its index.
        const got = err.results ?? [];
        assert.equal(got.length, err.completed);
        assert.equal(Object.keys(got).length, got.length, 'the list has holes');
        for (let k = 0; k < got.length; k++) {
            const r = got[k]!;
            assert.ok(r.ok, `result ${k} failed`);
            assert.equal(r.file, files[r.index], `result ${k} is not the item at its index`);
            if (k > 0) assert.ok(r.index > got[k - 1]!.index, 'the list is not in input order');
        }
        await assertStopped(c, before, n);
        // The client goes on working.
        assert.deepEqual(await c.ping(), { pong: true });
        const again = await c.transformBatch(files.slice(0, 10));
        assert.ok(again.every((r) => r.ok));
        // An already aborted signal sends nothing.
        await assert.rejects(c.transformBatch(files, { signal: AbortSignal.abort() }), CancelledError);
    } finally {
        await c.close();
    }
});

test('a timeout rejects with TimeoutError and cancels on the sidecar', { timeout: 120_000 }, async () => {
    const { root, files: longs } = slowRoot();
    const n = 10000;
    const files = Array.from({ length: n }, (_, i) => longs[i % longs.length]!);
    const c = await createFastmd({ binary, root, workers: 2 });
    try {
        const before = await counters(c);
        const started = Date.now();
        const err = await c.transformBatch(files, { chunkSize: 100, timeoutMs: 150 }).then(
            () => assert.fail('the batch did not time out'),
            (e: unknown) => e,
        );
        assert.ok(err instanceof TimeoutError, String(err));
        assert.equal(err.timeoutMs, 150);
        assert.ok(err.completed < n);
        assert.ok(Date.now() - started < 10000, 'the timeout came far too late');
        await assertStopped(c, before, n);
    } finally {
        await c.close();
    }
});

test('leaving transformBatchStream early cancels the rest', { timeout: 120_000 }, async () => {
    const { root, files: longs } = slowRoot();
    const n = 10000;
    const files = Array.from({ length: n }, (_, i) => longs[i % longs.length]!);
    const c = await createFastmd({ binary, root, workers: 2 });
    try {
        const before = await counters(c);
        let k = 0;
        for await (const r of c.transformBatchStream(files, { chunkSize: 100 })) {
            assert.equal(r.index, k);
            if (++k === 5) break;
        }
        await assertStopped(c, before, n);
    } finally {
        await c.close();
    }
});

test('close() lets the work in flight finish and drops the rest with ClosedError', { timeout: 120_000 }, async () => {
    const n = 5000;
    const files = Array.from({ length: n }, (_, i) => ({ file: `p${i}.md`, content: page(i) }));
    const c = await createFastmd({ binary, workers: 2 });
    let closing: Promise<unknown> | undefined;
    const err = await c
        .transformBatch(files, {
            chunkSize: 100,
            onProgress: (p) => {
                if (p.completed > 0) closing ??= c.close();
            },
        })
        .then(
            () => assert.fail('the batch finished after close()'),
            (e: unknown) => e,
        );
    assert.ok(err instanceof ClosedError, String(err));
    const exit = (await closing) as { exitCode: number | null };
    assert.equal(exit.exitCode, 0);
});

test('traceparent is passed through: the sidecar echoes the trace id with its own span', { timeout: 60_000 }, async () => {
    const c = await createFastmd({ binary, workers: 2 });
    try {
        const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
        const r = await c.transform('a.md', '# A\n', {}, { traceparent: tp });
        const echoed = (r._meta as { traceparent: string }).traceparent;
        assert.match(echoed, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
        assert.notEqual(echoed, tp, 'the sidecar answers with its own span id');
        const items = await c.transformBatch([{ file: 'b.md', content: '# B\n' }], { traceparent: tp });
        assert.equal(items[0]!.ok, true);
        await assert.rejects(c.transform('a.md', '# A\n', {}, { traceparent: 'nonsense' }), /traceparent/);
    } finally {
        await c.close();
    }
});

test('alert notifications from the sidecar are emitted as "alert" events, not protocol warnings', { timeout: 60_000 }, async () => {
    const c = await createFastmd({ binary, workers: 2, args: ['--alert', 'failureRate=0.5'] });
    const seen: Array<Record<string, unknown>> = [];
    const warnings: Error[] = [];
    c.on('alert', (a: Record<string, unknown>) => seen.push(a));
    c.on('warning', (e: Error) => warnings.push(e));
    try {
        await assert.rejects(c.transform('bad.md', '---\na: [\n---\n', {}));
        await c.health();
        assert.deepEqual(seen.map((a) => [a.name, a.state]), [['failureRate', 'raised']]);
        assert.deepEqual(warnings, []);
    } finally {
        await c.close();
    }
});
