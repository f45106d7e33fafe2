// SPDX-License-Identifier: MIT
// make-seeds.mjs writes one seed per spec example and pathological class, each the options byte
// fuzz_render expects followed by the example's Markdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import spec from 'commonmark-spec';
import { CLASSES } from '../pathological/gen.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

test('make-seeds writes every spec example and pathological class with its options byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fastmd-seeds-'));
    try {
        execFileSync(process.execPath, [join(HERE, 'make-seeds.mjs'), dir]);
        const files = readdirSync(dir);
        const count = (re) => files.filter((f) => re.test(f)).length;
        assert.equal(count(/^cm-\d{4}$/), spec.tests.length);
        assert.equal(count(/^gfm-\d{4}$/), 673);
        assert.equal(count(/^gfm-safe-\d{4}$/), 673);
        assert.equal(count(/^patho-/), Object.keys(CLASSES).length);

        const cm1 = readFileSync(join(dir, 'cm-0001'));
        assert.equal(cm1[0], 0x07);
        assert.equal(cm1.subarray(1).toString('utf8'), spec.tests[0].markdown.replace(/→/g, '\t'));
        // GFM example 200 is the first table example with escaped pipes in a code span.
        const g = readFileSync(join(dir, 'gfm-0200'));
        assert.equal(g[0], 0x06);
        assert.match(g.subarray(1).toString('utf8'), /^\| f\\\|oo {2}\|\n/);
        assert.equal(readFileSync(join(dir, 'gfm-safe-0200'))[0], 0x18);
        assert.deepEqual(readFileSync(join(dir, 'gfm-safe-0200')).subarray(1), g.subarray(1));
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});
