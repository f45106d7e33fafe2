// SPDX-License-Identifier: MIT
// The shared corpus (7,780 real pages): every page renders with exit code 0, every page under
// docs/ gets a non-empty title, and the output is byte-identical at 1 and 2 threads.
// Registered by tests/cli/cli.cmake only where ../shared/corpus exists beside the clone.
//   FASTMD_BIN=... FASTMD_CORPUS=../shared/corpus node --test tests/cli/corpus.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { files } from './tree.mjs';

const bin = process.env.FASTMD_BIN;
const corpus = process.env.FASTMD_CORPUS;
// /dev/shm keeps the 16,000 file creations off the journalled disk.
const tmpRoot = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

function build(threads) {
  const out = fs.mkdtempSync(path.join(tmpRoot, `fastmd-corpus-${threads}-`));
  const r = spawnSync(bin, ['build', '--threads', String(threads), corpus, out], {
    encoding: 'utf8',
  });
  return { out, r };
}

test('the corpus builds with exit 0, docs/ pages have titles, 1 and 2 threads agree', () => {
  const one = build(1);
  const two = build(2);
  try {
    assert.equal(one.r.status, 0, one.r.stderr);
    assert.equal(two.r.status, 0, two.r.stderr);
    const lines = fs.readFileSync(path.join(one.out, 'manifest.ndjson'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 7780);
    let docs = 0;
    for (const line of lines) {
      const p = JSON.parse(line);
      assert.equal(p.status, 'ok', p.path);
      if (p.path.startsWith('docs/')) {
        docs++;
        assert.ok(typeof p.title === 'string' && p.title.trim() !== '', `${p.path} has a title`);
      }
    }
    assert.equal(docs, 992);
    const fa = files(one.out);
    assert.deepEqual(fa, files(two.out));
    for (const f of fa) {
      const a = fs.readFileSync(path.join(one.out, f));
      const b = fs.readFileSync(path.join(two.out, f));
      assert.ok(a.equals(b), `${f} differs between 1 and 2 threads`);
    }
  } finally {
    fs.rmSync(one.out, { recursive: true, force: true });
    fs.rmSync(two.out, { recursive: true, force: true });
  }
});
