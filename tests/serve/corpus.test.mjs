// SPDX-License-Identifier: MIT
// fastmd serve on the whole shared corpus: every page by path (streamed) and inline, compared
// with `fastmd build --ndjson` on the same pages: same HTML, title, front matter, headings,
// counts and hash, whatever the thread count.
//   FASTMD_CORPUS=../shared/corpus node --test tests/serve/corpus.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');
const corpus = path.resolve(process.env.FASTMD_CORPUS ?? path.join(repo, '../shared/corpus'));
// No options: serve's defaults are build's.
const options = {};

function serveBatch(params, threads) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['serve', '--quiet', '--root', corpus, '--threads', String(threads)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const items = [];
    let answer = null;
    let parts = [];
    p.stdout.on('data', (chunk) => {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        parts.push(chunk.subarray(start, nl));
        const msg = JSON.parse(Buffer.concat(parts).toString('utf8'));
        parts = [];
        start = nl + 1;
        if (msg.method === 'batchItem') items.push(msg.params);
        else if (msg.id === 1) answer = msg;
      }
      if (start < chunk.length) parts.push(chunk.subarray(start));
    });
    p.on('exit', (code) => (code === 0 ? resolve({ answer, items }) : reject(new Error(`exit ${code}`))));
    p.stdin.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'transformBatch', params }) + '\n');
  });
}

test('serve matches build --ndjson on every page of the corpus', async () => {
  const nd = spawnSync(bin, ['build', '--quiet', corpus, '--ndjson', '-'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  assert.equal(nd.status, 0, nd.stderr);
  const ref = nd.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const files = ref.map((m) => m.path);
  const check = (i, r) => {
    const m = ref[i];
    assert.equal(r.metadata.file, m.path);
    assert.equal(r.html, m.html, m.path);
    assert.equal(r.metadata.title, m.title, m.path);
    assert.deepEqual(r.metadata.frontmatter, m.frontmatter, m.path);
    assert.deepEqual(r.metadata.headings, m.headings, m.path);
    assert.equal(r.metadata.words, m.words, m.path);
    assert.equal(r.metadata.links, m.links, m.path);
    assert.equal(r.metadata.images, m.images, m.path);
    assert.equal(r.metadata.codeBlocks, m.codeBlocks, m.path);
    assert.equal(r.metadata.hash, m.hash, m.path);
  };

  // By path, streamed, on one thread and on four.
  for (const threads of [1, 4]) {
    const { answer, items } = await serveBatch(
      { files: files.map((file) => ({ file })), options, stream: true, progress: false, includeCode: false },
      threads,
    );
    assert.equal(answer.result.stats.ok, files.length);
    assert.equal(items.length, files.length);
    items.forEach((it, i) => {
      assert.equal(it.index, i);
      check(i, it.result);
    });
  }
  // Inline, not streamed.
  const contents = files.map((f) => fs.readFileSync(path.join(corpus, f), 'utf8'));
  const { answer } = await serveBatch(
    { files: files.map((file, i) => ({ file, content: contents[i] })), options, progress: false },
    2,
  );
  assert.equal(answer.result.results.length, files.length);
  answer.result.results.forEach((it, i) => check(i, it.result));
});
