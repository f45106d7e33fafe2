// SPDX-License-Identifier: MIT
// Supervision against the real `fastmd serve`: kill -9 mid-batch (complete, exactly-once results
// after the restart), the restart limit (a binary that cannot start, a sidecar that dies and then
// cannot start again), a hung sidecar (SIGSTOP) found by the health deadline, and lines that do
// not parse or answer unknown ids.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    createFastmd,
    Fastmd,
    ProtocolError,
    SidecarCrashedError,
    type BatchItemResult,
    type RestartInfo,
    type ResubmitInfo,
} from '../src/index.js';
import { SPLIT_MESSAGES_JS, fastmdBinary, isPage, isWholePage, page, script, sq, tmpdir, until } from './helpers.js';

const binary = fastmdBinary();

function pages(n: number) {
    return Array.from({ length: n }, (_, i) => ({ file: `p${i}.md`, content: page(i) }));
}

/** Records a client's restarts, resubmissions and warnings. */
function watch(c: Fastmd) {
    const seen = { restarts: [] as RestartInfo[], resubmits: [] as ResubmitInfo[], warnings: [] as Error[], pids: new Set<number>() };
    c.on('restart', (r: RestartInfo) => seen.restarts.push(r));
    c.on('resubmit', (r: ResubmitInfo) => seen.resubmits.push(r));
    c.on('warning', (e: Error) => seen.warnings.push(e));
    c.on('ready', (r: { pid: number }) => seen.pids.add(r.pid));
    return seen;
}

/** Every item present once, in order, holding its own page. */
function assertComplete(results: BatchItemResult[], n: number): void {
    assert.equal(results.length, n);
    for (let i = 0; i < n; i++) {
        const r = results[i];
        assert.ok(r, `item ${i} is missing`);
        assert.equal(r.index, i);
        assert.ok(r.ok, `item ${i} failed: ${r.ok ? '' : r.error.message}`);
        assert.ok(isPage(r.result.html, i), `item ${i} holds another page`);
        assert.ok(isWholePage(r.result.html, i), `item ${i}'s HTML is not whole: ${JSON.stringify(r.result.html.slice(-80))}`);
    }
}

test('kill -9 mid-batch: the batch completes after a restart, every item exactly once', { timeout: 120_000 }, async () => {
    const n = 20000;
    const files = pages(n);
    const c = await createFastmd({ binary, workers: 2, restartBackoffMs: 50 });
    const seen = watch(c);
    try {
        const first = c.pid!;
        let killed = false;
        const results = await c.transformBatch(files, {
            chunkSize: 500,
            onProgress: (p) => {
                if (!killed && p.completed > 0) {
                    killed = true;
                    process.kill(first, 'SIGKILL');
                }
            },
        });
        assert.ok(killed);
        assertComplete(results, n);
        assert.equal(seen.restarts.length, 1);
        assert.equal(seen.restarts[0]!.exit?.signal, 'SIGKILL');
        assert.ok(seen.resubmits.length >= 1, 'no chunk was sent again');
        assert.notEqual(c.pid, first);
        assert.deepEqual(await c.ping(), { pong: true });

        // The same through the stream: each index yielded once, in order.
        const pid = c.pid!;
        killed = false;
        let k = 0;
        for await (const r of c.transformBatchStream(files, {
            chunkSize: 500,
            onProgress: (p) => {
                if (!killed && p.completed > 0) {
                    killed = true;
                    process.kill(pid, 'SIGKILL');
                }
            },
        })) {
            assert.equal(r.index, k, 'an item came twice or out of order');
            assert.ok(r.ok && isPage(r.result.html, k));
            k++;
        }
        assert.equal(k, n);
        assert.equal(seen.restarts.length, 2);
    } finally {
        await c.close();
    }
});

test('the restart limit: a binary that cannot start gives a final error quoting its stderr', { timeout: 120_000 }, async () => {
    const dir = tmpdir('nostart');
    const bad = script(dir, 'fastmd-broken', '#!/bin/sh\necho "fastmd-broken: simulated failure at start ($$)" >&2\nexit 3\n');
    const restarts: RestartInfo[] = [];
    const c = new Fastmd({ binary: bad, maxRestarts: 2, restartBackoffMs: 10 });
    c.on('restart', (r: RestartInfo) => restarts.push(r));
    const err = await c.ready().then(
        () => assert.fail('a broken binary started'),
        (e: unknown) => e,
    );
    assert.ok(err instanceof SidecarCrashedError, String(err));
    assert.equal(err.final, true);
    assert.equal(err.failures, 3);
    assert.equal(restarts.length, 2);
    assert.deepEqual(
        restarts.map((r) => r.delayMs),
        [10, 20],
        'the delay does not back off',
    );
    assert.equal(err.exit?.exitCode, 3);
    assert.match(err.message, /simulated failure at start/);
    assert.match(err.stderr.join('\n'), /simulated failure at start/);
    assert.equal(c.closed, true);
    await assert.rejects(c.ping(), (e: unknown) => e === err);
    await c.close();

    // createFastmd rejects the same way, and a path that does not exist too.
    await assert.rejects(createFastmd({ binary: bad, maxRestarts: 0 }), /simulated failure at start/);
    await assert.rejects(createFastmd({ binary: path.join(dir, 'absent'), maxRestarts: 1, restartBackoffMs: 1 }), SidecarCrashedError);
});

test('the restart limit: a sidecar that dies mid-batch and cannot start again fails the batch', { timeout: 120_000 }, async () => {
    const dir = tmpdir('once');
    // Starts the real sidecar the first time only.
    const once = script(
        dir,
        'fastmd-once',
        `#!/bin/sh
n=$(cat ${sq(path.join(dir, 'count'))} 2>/dev/null || echo 0)
echo $((n + 1)) > ${sq(path.join(dir, 'count'))}
if [ "$n" -eq 0 ]; then exec ${sq(binary)} "$@"; fi
echo "fastmd-once: start $((n + 1)) refused: disk on fire" >&2
exit 1
`,
    );
    const c = await createFastmd({ binary: once, workers: 2, maxRestarts: 2, restartBackoffMs: 10 });
    const seen = watch(c);
    let killed = false;
    const err = await c
        .transformBatch(pages(20000), {
            chunkSize: 500,
            onProgress: (p) => {
                if (!killed && p.completed > 0) {
                    killed = true;
                    process.kill(c.pid!, 'SIGKILL');
                }
            },
        })
        .then(
            () => assert.fail('the batch finished without a sidecar'),
            (e: unknown) => e,
        );
    assert.ok(err instanceof SidecarCrashedError, String(err));
    assert.equal(err.final, true);
    assert.match(err.message, /disk on fire/);
    assert.match(err.message, /gave up after 2 restarts/);
    assert.equal(seen.restarts.length, 2);
    assert.equal(c.closed, true);
    await assert.rejects(c.transform('a.md', '# a'), SidecarCrashedError);
    await c.close();
});

test('a hung sidecar (SIGSTOP) misses the health deadline and is replaced', { timeout: 120_000 }, async () => {
    const n = 20000;
    const files = pages(n);
    const c = await createFastmd({ binary, workers: 2, healthIntervalMs: 100, healthTimeoutMs: 1000, restartBackoffMs: 20 });
    const seen = watch(c);
    const first = c.pid!;
    try {
        let stopped = false;
        const results = await c.transformBatch(files, {
            chunkSize: 500,
            onProgress: (p) => {
                if (!stopped && p.completed > 0) {
                    stopped = true;
                    process.kill(first, 'SIGSTOP');
                }
            },
        });
        assert.ok(stopped);
        assertComplete(results, n);
        assert.equal(seen.restarts.length, 1);
        assert.equal(seen.restarts[0]!.exit?.reason, 'hang');
        assert.ok(seen.warnings.some((w) => /did not answer health/.test(w.message)));
        assert.notEqual(c.pid, first);
        assert.throws(() => process.kill(first, 0), /ESRCH/, 'the hung sidecar was not killed');

        // An idle sidecar that hangs is replaced as well.
        const second = c.pid!;
        process.kill(second, 'SIGSTOP');
        // (Nothing else keeps this process alive: the client does not hold the event loop while idle.)
        await until(() => c.pid !== undefined && c.pid !== second, 10000, 'a new sidecar');
        assert.equal(seen.restarts.length, 2);
        assert.equal(seen.restarts[1]!.exit?.reason, 'hang');
        assert.deepEqual(await c.ping(), { pong: true });
    } finally {
        await c.close();
    }
});

test('lines that do not parse and answers to unknown ids are reported, not fatal', { timeout: 120_000 }, async () => {
    const dir = tmpdir('noisy');
    // Runs the real sidecar and adds garbage to its stdout: before its first message, and after
    // every 20th, always between two whole messages (a batchFrame's raw bytes belong to it).
    const noisy = script(
        dir,
        'fastmd-noisy.mjs',
        `#!/usr/bin/env node
import { spawn } from 'node:child_process';
const child = spawn(${JSON.stringify(binary)}, process.argv.slice(2), { stdio: ['inherit', 'pipe', 'inherit'] });
const noise = 'this line is not JSON\\n{"jsonrpc":"2.0","id":987654,"result":{"pong":true}}\\n[1,2,3]\\n';
let count = 0;
process.stdout.write(noise);
${SPLIT_MESSAGES_JS}
splitMessages(child.stdout, (line, bytes) => {
    process.stdout.write(bytes);
    if (++count % 20 === 0) process.stdout.write(noise);
});
child.on('exit', (code) => process.exit(code ?? 1));
`,
    );
    const c = await createFastmd({ binary: noisy, workers: 2 });
    const seen = watch(c);
    try {
        const n = 5000;
        const results = await c.transformBatch(pages(n), { chunkSize: 250 });
        assertComplete(results, n);
        assert.deepEqual(await c.ping(), { pong: true });
        assert.ok(seen.warnings.length >= 3, `${seen.warnings.length} warnings`);
        assert.ok(seen.warnings.every((w) => w instanceof ProtocolError));
        assert.ok(seen.warnings.some((w) => /not JSON/.test(w.message)));
        assert.ok(seen.warnings.some((w) => /unknown id 987654/.test(w.message)));
        assert.ok(seen.warnings.some((w) => /not a JSON object/.test(w.message)));
        assert.equal(seen.restarts.length, 0);
    } finally {
        await c.close();
    }
});

test('a sidecar whose health says "stalled" is treated as hung and replaced', { timeout: 120_000 }, async () => {
    const dir = tmpdir('stalled');
    const hang = path.join(dir, 'hang');
    fs.writeFileSync(hang, '');
    const hooks = /^(1|on|true)$/i.test(process.env.FASTMD_TEST_HOOKS ?? '');
    const c = await createFastmd({
        binary,
        workers: 2,
        args: ['--stall-seconds', '1'],
        env: { FASTMD_SERVE_TEST_HANG_FILE: hang },
        healthIntervalMs: 200,
        healthTimeoutMs: 10000,
        restartBackoffMs: 20,
    });
    const seen = watch(c);
    const first = c.pid!;
    try {
        const batch = c.transformBatch(pages(50), { chunkSize: 50 });
        if (hooks) {
            // The engine hangs on the hook while health keeps answering: only "stalled" shows it.
            await until(() => seen.restarts.length > 0, 30000, 'a restart');
            fs.rmSync(hang);
            assert.equal(seen.restarts[0]!.exit?.reason, 'hang');
            assert.ok(seen.warnings.some((w) => /reports its engine stalled/.test(w.message)));
            assert.notEqual(c.pid, first);
        }
        assertComplete(await batch, 50);
    } finally {
        fs.rmSync(hang, { force: true });
        await c.close();
    }
});
