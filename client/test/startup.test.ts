// SPDX-License-Identifier: MIT
// Start-up failures that no restart can fix fail at once and name the real problem: a usage
// error (exit 64), a root that does not exist or is a file, an input the sidecar cannot open
// (exit 66), a binary that cannot be run; and how the binary is found (option, FASTMD_BINARY,
// PATH), with everything tried listed when it is not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    BinaryNotFoundError,
    createFastmd,
    Fastmd,
    findBinary,
    SidecarCrashedError,
    SidecarStartError,
    type RestartInfo,
} from '../src/index.js';
import { fastmdBinary, script, tmpdir } from './helpers.js';

const binary = fastmdBinary();

/** Starts a client that must fail; returns its error, the restarts it made and how long it took. */
async function failedStart(opts: ConstructorParameters<typeof Fastmd>[0]) {
    const c = new Fastmd({ maxRestarts: 3, restartBackoffMs: 200, ...opts });
    const restarts: RestartInfo[] = [];
    c.on('restart', (r: RestartInfo) => restarts.push(r));
    const failed: Error[] = [];
    c.on('failed', (e: Error) => failed.push(e));
    const t0 = Date.now();
    const err = await c.ready().then(
        () => assert.fail('the sidecar started'),
        (e: unknown) => e,
    );
    const ms = Date.now() - t0;
    assert.equal(c.closed, true, 'the client is still usable after a final error');
    await assert.rejects(c.ping(), (e: unknown) => e === err);
    await c.close();
    return { err, restarts, ms, failed };
}

test('a usage error (exit 64) at start-up fails at once, quoting the sidecar', async () => {
    const { err, restarts, ms, failed } = await failedStart({ binary, args: ['--no-such-flag'] });
    assert.ok(err instanceof SidecarStartError, String(err));
    assert.ok(err instanceof SidecarCrashedError);
    assert.equal(err.problem, 'usage');
    assert.equal(err.final, true);
    assert.equal(err.exit?.exitCode, 64);
    assert.match(err.message, /rejected its arguments \(exit status 64, a usage error\)/);
    assert.match(err.message, /--no-such-flag/);
    assert.equal(restarts.length, 0, 'a usage error was retried');
    assert.deepEqual(failed, [err]);
    assert.ok(ms < 5000, `took ${ms} ms`);
});

test('a missing root fails at once as a missing root, not as a missing binary', async () => {
    const dir = tmpdir('root');
    try {
        const missing = path.join(dir, 'no-such-dir');
        const { err, restarts } = await failedStart({ binary, root: missing });
        assert.ok(err instanceof SidecarStartError, String(err));
        assert.equal(err.problem, 'root');
        assert.equal(err.message, `the root ${missing} cannot be used: no such directory`);
        assert.equal(restarts.length, 0);

        const file = path.join(dir, 'a-file');
        fs.writeFileSync(file, 'x');
        const r = await failedStart({ binary, root: file });
        assert.ok(r.err instanceof SidecarStartError);
        assert.match(r.err.message, /cannot be used: not a directory$/);

        // createFastmd rejects with the same error.
        await assert.rejects(createFastmd({ binary, root: missing }), /no such directory/);
        // A root that exists works, from any working directory.
        const c = await createFastmd({ binary, root: dir });
        fs.writeFileSync(path.join(dir, 'p.md'), '# P\n');
        const [one] = await c.transformBatch(['p.md']);
        assert.ok(one?.ok && one.result.html.includes('>P</h1>'));
        await c.close();
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('exit 66 at start-up (an input it cannot open) is final; other exits are retried', async () => {
    const dir = tmpdir('exit66');
    try {
        const bin66 = script(dir, 'fastmd-66', '#!/bin/sh\necho "fastmd: serve: --root /x: cannot open input" >&2\nexit 66\n');
        const { err, restarts } = await failedStart({ binary: bin66 });
        assert.ok(err instanceof SidecarStartError, String(err));
        assert.equal(err.problem, 'root');
        assert.match(err.message, /cannot open its input \(exit status 66\)/);
        assert.match(err.message, /cannot open input/);
        assert.equal(restarts.length, 0);

        const bin70 = script(dir, 'fastmd-70', '#!/bin/sh\necho "out of memory" >&2\nexit 70\n');
        const r = await failedStart({ binary: bin70, maxRestarts: 1, restartBackoffMs: 1 });
        assert.ok(!(r.err instanceof SidecarStartError), 'exit 70 was not retried');
        assert.equal(r.restarts.length, 1);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('a binary that cannot be run fails at once, naming how it was found', async () => {
    const dir = tmpdir('binary');
    try {
        // A script whose interpreter does not exist: spawn fails with ENOENT.
        const noInterp = script(dir, 'fastmd-nointerp', '#!/no/such/interpreter\n');
        const { err, restarts } = await failedStart({ binary: noInterp });
        assert.ok(err instanceof SidecarStartError, String(err));
        assert.equal(err.problem, 'binary');
        assert.equal(err.message, `cannot run ${noInterp} (found through the binary option): ENOENT`);
        assert.equal(restarts.length, 0);

        // A file that is not executable, and one that does not exist: found wanting before spawn.
        const plain = path.join(dir, 'fastmd-plain');
        fs.writeFileSync(plain, '');
        const r = await failedStart({ binary: plain });
        assert.ok(r.err instanceof BinaryNotFoundError, String(r.err));
        assert.match(r.err.message, new RegExp(`the binary option: ${plain}: not executable`));
        await assert.rejects(createFastmd({ binary: path.join(dir, 'absent') }), (e: unknown) => {
            assert.ok(e instanceof BinaryNotFoundError);
            assert.equal(e.problem, 'binary');
            assert.deepEqual(e.tried, [`the binary option: ${path.join(dir, 'absent')}: no such file`]);
            return true;
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('findBinary: the option, then FASTMD_BINARY, then PATH; each miss listed', () => {
    const dir = tmpdir('find');
    try {
        const a = script(dir, 'fastmd', '#!/bin/sh\n');
        const sub = path.join(dir, 'sub');
        fs.mkdirSync(sub);
        const b = script(sub, 'fastmd', '#!/bin/sh\n');
        const other = script(sub, 'other-fastmd', '#!/bin/sh\n');

        assert.deepEqual(findBinary(b, { FASTMD_BINARY: a }), { path: b, source: 'option', tried: [] });
        assert.deepEqual(findBinary(undefined, { FASTMD_BINARY: a, PATH: sub }), {
            path: a,
            source: 'FASTMD_BINARY',
            tried: ['the binary option: not given'],
        });
        // A bare name is looked up on PATH, relative paths are resolved.
        assert.equal(findBinary('other-fastmd', { PATH: `/nonexistent:${sub}` }).path, other);
        assert.equal(findBinary(path.relative(process.cwd(), a), {}).path, a);
        assert.throws(
            () => findBinary(undefined, { FASTMD_BINARY: path.join(dir, 'gone') }),
            (e: unknown) =>
                e instanceof BinaryNotFoundError &&
                e.tried.at(-1) === `FASTMD_BINARY: ${path.join(dir, 'gone')}: no such file` &&
                /set FASTMD_BINARY to its path/.test(e.message),
        );
        assert.throws(
            () => findBinary('nope', { PATH: sub }),
            (e: unknown) =>
                e instanceof BinaryNotFoundError &&
                e.tried[0] === `the binary option (nope), looked up on PATH: no executable nope in ${sub}`,
        );
        assert.throws(() => findBinary(sub, {}), /sub: not a regular file/);
        assert.throws(() => findBinary('nope', { PATH: '' }), /PATH is empty/);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
