// SPDX-License-Identifier: MIT
// Failure paths of the client that the real sidecar gives only under load or when broken: chunks
// answered with Overloaded (retried with a back-off, then the batch completes), a call that
// outlives its timeoutMs (TimeoutError, the request cancelled on the sidecar), and a sidecar that
// never answers ping, answers it wrongly, or answers health wrongly at start-up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createFastmd, ErrorCode, SidecarCrashedError, TimeoutError } from '../src/index.js';
import { SPLIT_MESSAGES_JS, fastmdBinary, isPage, page, script, tmpdir } from './helpers.js';

const binary = fastmdBinary();

/**
 * A wrapper around the real sidecar: it answers the first @p rejections transformBatch requests
 * itself with Overloaded (their raw bytes are swallowed with them), appending a line to @p log
 * for each; it swallows the answer to every `normalize` (so that a call times out) and logs the
 * $/cancelRequest that follows. Everything else passes through.
 */
function overloadWrapper(dir: string, log: string, rejections: number): string {
    return script(
        dir,
        'fastmd-overload.mjs',
        `#!/usr/bin/env node
import { spawn } from 'node:child_process';
import fs from 'node:fs';
const child = spawn(${JSON.stringify(binary)}, process.argv.slice(2), { stdio: ['pipe', 'pipe', 'inherit'] });
let left = ${rejections};
const swallow = new Set();
${SPLIT_MESSAGES_JS}
splitMessages(process.stdin, (line, bytes) => {
    const m = JSON.parse(line);
    if (m.method === 'transformBatch' && left > 0) {
        left--;
        fs.appendFileSync(${JSON.stringify(log)}, 'overloaded\\n');
        process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: ${ErrorCode.OVERLOADED}, message: 'Overloaded: try again later' } }) + '\\n');
        return;
    }
    if (m.method === 'normalize') swallow.add(m.id);
    if (m.method === '$/cancelRequest') fs.appendFileSync(${JSON.stringify(log)}, 'cancel ' + JSON.stringify(m.params.id) + '\\n');
    child.stdin.write(bytes);
});
process.stdin.on('end', () => child.stdin.end());
splitMessages(child.stdout, (line, bytes) => {
    if (line.startsWith('{"jsonrpc":"2.0","id":') && swallow.has(JSON.parse(line).id)) return;
    process.stdout.write(bytes);
});
child.on('exit', (code) => process.exit(code ?? 1));
`,
    );
}

function logLines(log: string): string[] {
    return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
}

test('chunks answered with Overloaded are sent again after a back-off, and the batch completes', { timeout: 60_000 }, async () => {
    const dir = tmpdir('overload');
    const log = path.join(dir, 'log');
    const c = await createFastmd({ binary: overloadWrapper(dir, log, 3), workers: 2 });
    try {
        const n = 40;
        const files = Array.from({ length: n }, (_, i) => ({ file: `p${i}.md`, content: page(i) }));
        const results = await c.transformBatch(files, { chunkSize: 10 });
        assert.equal(results.length, n);
        for (let i = 0; i < n; i++) {
            const r = results[i]!;
            assert.ok(r.ok, `item ${i} failed`);
            assert.ok(isPage(r.result.html, i), `item ${i} holds another page`);
        }
        assert.deepEqual(logLines(log), ['overloaded', 'overloaded', 'overloaded']);
    } finally {
        await c.close();
    }
});

test('a call past its timeoutMs rejects with TimeoutError and is cancelled on the sidecar', { timeout: 60_000 }, async () => {
    const dir = tmpdir('calltimeout');
    const log = path.join(dir, 'log');
    const c = await createFastmd({ binary: overloadWrapper(dir, log, 0), workers: 1 });
    try {
        const err = await c.normalize('a\r\nb', {}, { timeoutMs: 100 }).then(
            () => assert.fail('normalize answered although its answer was swallowed'),
            (e: unknown) => e,
        );
        assert.ok(err instanceof TimeoutError, String(err));
        assert.equal(err.timeoutMs, 100);
        assert.match(err.message, /normalize timed out after 100 ms/);
        // The client is still usable, and the sidecar was told to drop the request.
        assert.deepEqual(await c.ping(), { pong: true });
        assert.equal(logLines(log).filter((l) => l.startsWith('cancel ')).length, 1);
    } finally {
        await c.close();
    }
});

/** A sidecar written in node that answers ping and health as @p mode says. */
function fakeSidecar(dir: string, mode: 'silent' | 'bad-pong' | 'bad-health'): string {
    return script(
        dir,
        `fake-${mode}.mjs`,
        `#!/usr/bin/env node
import readline from 'node:readline';
const mode = ${JSON.stringify(mode)};
const answer = (id, result) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, result }) + '\\n');
readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const m = JSON.parse(line);
    if (mode === 'silent') return;
    if (m.method === 'ping') answer(m.id, mode === 'bad-pong' ? { pong: false } : { pong: true });
    else if (m.method === 'health') answer(m.id, 7);
});
`,
    );
}

test('a sidecar that never answers ping fails start-up after startTimeoutMs', { timeout: 60_000 }, async () => {
    const dir = tmpdir('silent');
    const err = await createFastmd({ binary: fakeSidecar(dir, 'silent'), startTimeoutMs: 300, maxRestarts: 0 }).then(
        () => assert.fail('started'),
        (e: unknown) => e,
    );
    assert.ok(err instanceof SidecarCrashedError, String(err));
    assert.match(err.message, /did not answer ping within 300 ms/);
});

test('a wrong answer to ping or to health at start-up is named in the error', { timeout: 60_000 }, async () => {
    const dir = tmpdir('badstart');
    for (const [mode, want] of [
        ['bad-pong', /ping was answered with \{"pong":false\}/],
        ['bad-health', /health was answered with 7/],
    ] as const) {
        const err = await createFastmd({ binary: fakeSidecar(dir, mode), maxRestarts: 0 }).then(
            () => assert.fail(`${mode}: started`),
            (e: unknown) => e,
        );
        assert.ok(err instanceof SidecarCrashedError, `${mode}: ${String(err)}`);
        assert.match(err.message, want);
    }
});
