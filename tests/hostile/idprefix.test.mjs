// SPDX-License-Identifier: MIT
// --id-prefix (serve option idPrefix): heading IDs, footnote IDs and the links to them carry the
// prefix in render, build (HTML and the manifest's headings) and serve; without it nothing
// changes; the prefix is part of the options digest (build rebuilds, serve's cache misses); and
// a prefix that would need escaping is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const bin = process.env.FASTMD_BIN;
const page = '# Config\n\n## Config\n\nText[^n] and[^n].\n\n[^n]: Note.\n';
const P = 'user-content-';

async function withTmp(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-idprefix-'));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Every id="..." and href="#..." of @p html.
function anchors(html) {
  return {
    ids: [...html.matchAll(/ id="([^"]*)"/g)].map((m) => m[1]),
    hrefs: [...html.matchAll(/ href="#([^"]*)"/g)].map((m) => m[1]),
  };
}

function checkPrefixed(html, prefix) {
  const { ids, hrefs } = anchors(html);
  const want = ['config', 'config-1', 'fnref-n', 'fnref-n-2', 'fn-n'].map((x) => prefix + x);
  assert.deepEqual(ids, want, html);
  assert.deepEqual(hrefs, ['fn-n', 'fn-n', 'fnref-n', 'fnref-n-2'].map((x) => prefix + x), html);
  // Every link points at an ID of the page.
  for (const h of hrefs) assert.ok(ids.includes(h), h);
}

test('render: --id-prefix on heading and footnote IDs and their links', () =>
  withTmp((dir) => {
    const f = path.join(dir, 'p.md');
    fs.writeFileSync(f, page);
    const plain = spawnSync(bin, ['render', '--footnotes', f], { encoding: 'utf8' });
    assert.equal(plain.status, 0, plain.stderr);
    checkPrefixed(plain.stdout, '');
    const pre = spawnSync(bin, ['render', '--footnotes', '--id-prefix', P, f], { encoding: 'utf8' });
    assert.equal(pre.status, 0, pre.stderr);
    checkPrefixed(pre.stdout, P);
    for (const bad of ['a"b', 'a b', '<x>', 'é', 'x'.repeat(65)]) {
      const r = spawnSync(bin, ['render', '--id-prefix', bad, f], { encoding: 'utf8' });
      assert.equal(r.status, 64, bad);
      assert.match(r.stderr, /--id-prefix/);
    }
  }));

test('build: the prefix in the HTML and the manifest, and a change of prefix rebuilds', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'p.md'), page);
    const build = (...extra) => {
      const r = spawnSync(bin, ['build', '--quiet', '--footnotes', ...extra, src, out], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.ndjson'), 'utf8').trim());
      return { html: fs.readFileSync(path.join(out, 'p.html'), 'utf8'), m };
    };
    const a = build();
    checkPrefixed(a.html, '');
    assert.deepEqual(a.m.headings.map((h) => h.id), ['config', 'config-1']);
    const b = build('--id-prefix', P); // same OUT: only a new options digest renders it again
    checkPrefixed(b.html, P);
    assert.deepEqual(b.m.headings.map((h) => h.id), [P + 'config', P + 'config-1']);
    const c = build();
    assert.equal(c.html, a.html);
  }));

test('serve: option idPrefix, the server default --id-prefix, and the cache keeps them apart', () =>
  withTmp(async (dir) => {
    const proc = spawn(bin, ['serve', '--quiet', '--id-prefix', 'srv-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const closed = new Promise((resolve) => proc.on('close', resolve));
    const out = [];
    proc.stdout.on('data', (d) => out.push(d));
    const send = (id, options) =>
      proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method: 'transform',
        params: { content: page, options: { footnotes: true, ...options } } }) + '\n');
    send(1, { idPrefix: P });
    send(2, {}); // the server's default
    send(3, { idPrefix: '' }); // none
    send(4, { idPrefix: P }); // the same again: a cache hit gives the same bytes
    send(5, { idPrefix: 'a"b' });
    send(6, { idPrefix: 7 });
    proc.stdin.end();
    assert.equal(await closed, 0);
    const msgs = Buffer.concat(out).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    const by = (id) => msgs.find((m) => m.id === id);
    checkPrefixed(by(1).result.html, P);
    assert.deepEqual(by(1).result.metadata.headings.map((h) => h.id), [P + 'config', P + 'config-1']);
    checkPrefixed(by(2).result.html, 'srv-');
    checkPrefixed(by(3).result.html, '');
    assert.equal(by(4).result.html, by(1).result.html);
    assert.equal(by(5).error.code, -32602);
    assert.equal(by(6).error.code, -32602);
  }));
