// SPDX-License-Identifier: MIT
// The client as a user gets it: `npm pack` of this package, installed into a new Node project in
// a temporary folder, renders a page with only FASTMD_BINARY set, then with only PATH set, and
// says plainly what it tried when neither finds a binary. The folder is removed afterwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fastmdBinary, tmpdir } from './helpers.js';

const binary = fastmdBinary();

/** client/, from dist/test/client/test/. */
const clientDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

const RENDER = `import fs from 'node:fs';
import { createFastmd } from '@fastmd/client';
import fastmdVite from '@fastmd/client/vite';
const c = await createFastmd({ root: 'content', healthIntervalMs: 0 });
try {
    const [r] = await c.transformBatch(['intro.md']);
    if (!r.ok) throw r.error;
    fs.writeFileSync('out.json', JSON.stringify({ plugin: fastmdVite().name, source: c.binarySource, binary: c.binary, html: r.result.html, title: r.result.metadata.title }));
} finally {
    await c.close();
}
`;

test('npm pack, install into a new project, render with FASTMD_BINARY only and with PATH only', { timeout: 180_000 }, () => {
    assert.ok(fs.existsSync(path.join(clientDir, 'dist', 'index.js')), 'client/dist is not built');
    const tmp = tmpdir('package');
    try {
        const npmEnv = { ...process.env, npm_config_cache: path.join(tmp, 'npm-cache'), npm_config_update_notifier: 'false' };
        // dist/ is built already (client_build); prepare would build it otherwise.
        const packed = JSON.parse(
            execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
                cwd: clientDir,
                env: npmEnv,
                encoding: 'utf8',
            }),
        ) as Array<{ filename: string; files: Array<{ path: string }> }>;
        const files = packed[0]!.files.map((f) => f.path);
        for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/protocol.js', 'dist/binary.js', 'dist/vite.js', 'dist/vite.d.ts'])
            assert.ok(files.includes(f), `the package lacks ${f}`);
        assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.startsWith('test/')), 'the package holds the tests');
        const tarball = path.join(tmp, packed[0]!.filename);

        const proj = path.join(tmp, 'site');
        fs.mkdirSync(path.join(proj, 'content'), { recursive: true });
        fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'site', private: true, type: 'module' }));
        fs.writeFileSync(path.join(proj, 'content', 'intro.md'), '---\ntitle: Hello\n---\n# Hi *there*\n');
        fs.writeFileSync(path.join(proj, 'render.mjs'), RENDER);
        execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: proj, env: npmEnv, stdio: 'pipe' });
        const installed = path.join(proj, 'node_modules', '@fastmd', 'client');
        assert.equal(JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')).name, '@fastmd/client');

        // Node by its absolute path; the environment holds no other way to find fastmd.
        const empty = path.join(tmp, 'empty-bin');
        fs.mkdirSync(empty);
        const run = (env: Record<string, string>) => {
            fs.rmSync(path.join(proj, 'out.json'), { force: true });
            const r = spawnSync(process.execPath, ['render.mjs'], { cwd: proj, env, encoding: 'utf8', timeout: 60_000 });
            const out = r.status === 0 ? JSON.parse(fs.readFileSync(path.join(proj, 'out.json'), 'utf8')) : null;
            return { status: r.status, stderr: r.stderr, out };
        };
        const expected = '<h1 id="hi-there">Hi <em>there</em></h1>\n';

        const viaEnv = run({ FASTMD_BINARY: binary, PATH: empty });
        assert.equal(viaEnv.status, 0, viaEnv.stderr);
        assert.deepEqual(viaEnv.out, { plugin: 'fastmd', source: 'FASTMD_BINARY', binary, html: expected, title: 'Hello' });

        const bin = path.join(tmp, 'bin');
        fs.mkdirSync(bin);
        fs.symlinkSync(binary, path.join(bin, 'fastmd'));
        const viaPath = run({ PATH: `${empty}${path.delimiter}${bin}` });
        assert.equal(viaPath.status, 0, viaPath.stderr);
        assert.deepEqual(viaPath.out, { plugin: 'fastmd', source: 'PATH', binary: path.join(bin, 'fastmd'), html: expected, title: 'Hello' });

        const neither = run({ PATH: empty });
        assert.notEqual(neither.status, 0);
        assert.match(neither.stderr, /BinaryNotFoundError: the fastmd binary was not found\. Tried:/);
        assert.match(neither.stderr, /- the binary option: not given/);
        assert.match(neither.stderr, /- FASTMD_BINARY: not set/);
        assert.match(neither.stderr, new RegExp(`- PATH: no executable fastmd in ${empty}`));
        assert.doesNotMatch(neither.stderr, /repository's build/, 'an installed package looked for a checkout');
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
});
