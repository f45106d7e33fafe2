// SPDX-License-Identifier: MIT
// Integration tests of `fastmd serve` (docs/protocol.md): the real binary driven over pipes.
//   node --test tests/serve/serve.test.mjs   (FASTMD_BIN=path/to/fastmd)
// Every line the server writes is parsed with JSON.parse; a line that does not parse fails the
// test that was running. Tests that must catch a batch while it runs use the server's test hook
// FASTMD_SERVE_TEST_DELAY_US (each batch page takes that much longer), so they do not depend on
// the speed of the machine.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');
// Whether the binary was built with its test hooks (FMD_TEST_HOOKS; the ci preset).
const hooks = /^(1|on|true)$/i.test(process.env.FASTMD_TEST_HOOKS ?? '');
// Tests that must catch a batch while it runs need FASTMD_SERVE_TEST_DELAY_US, a test hook.
const noDelay = hooks ? false : 'needs FASTMD_SERVE_TEST_DELAY_US (a -DFMD_TEST_HOOKS=ON build)';

const made = [];
function tmpdir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `fastmd-serve-${tag}-`));
  made.push(d);
  return d;
}
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

// Servers still running when the file's tests end (a test failed before closing its server).
const live = new Set();
after(() => {
  for (const p of live) p.kill('SIGKILL');
});

// One server process and what it wrote.
class Server {
  constructor(args = [], { env = {}, cwd } = {}) {
    this.proc = spawn(bin, ['serve', '--quiet', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      cwd,
    });
    this.messages = []; // every message, in arrival order
    this.bad = []; // lines that were not JSON
    this.stderr = '';
    this.nextId = 1;
    this.waiters = [];
    this.proc.stderr.on('data', (d) => (this.stderr += d));
    this.proc.stdin.on('error', () => {}); // EPIPE after the server exits
    const rl = readline.createInterface({ input: this.proc.stdout, crlfDelay: Infinity });
    rl.on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        this.bad.push(line);
        return;
      }
      Object.defineProperty(msg, 't', { value: performance.now(), enumerable: false });
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(msg)) return true;
        w.resolve(msg);
        return false;
      });
    });
    live.add(this.proc);
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        live.delete(this.proc);
        resolve({ code, signal });
      }),
    );
  }

  send(obj) {
    this.proc.stdin.write(JSON.stringify(obj) + '\n');
  }

  raw(text) {
    this.proc.stdin.write(text);
  }

  // The first message (already arrived or to come) that matches pred.
  waitFor(pred, what = 'a message', ms = 60000) {
    const found = this.messages.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`)),
        ms,
      );
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  response(id) {
    return this.waitFor((m) => m.id === id && !('method' in m), `the response to ${id}`);
  }

  // Send a request and return its id.
  post(method, params) {
    const id = this.nextId++;
    const msg = { jsonrpc: '2.0', id, method };
    if (params !== undefined) msg.params = params;
    this.send(msg);
    return id;
  }

  request(method, params) {
    return this.response(this.post(method, params));
  }

  notes(method, batchId) {
    return this.messages.filter(
      (m) => m.method === method && (batchId === undefined || m.params.batchId === batchId),
    );
  }

  indexOf(msg) {
    return this.messages.indexOf(msg);
  }

  // End the input; the server finishes its work and exits 0, having written only JSON lines
  // (and, under the sanitizers, no report).
  async close() {
    this.proc.stdin.end();
    const r = await this.exited;
    this.check(r);
    return r;
  }

  check(r) {
    assert.deepEqual(this.bad, [], 'every line the server wrote is JSON');
    assert.equal(r.code, 0, `exit status; stderr: ${this.stderr}`);
    assert.doesNotMatch(this.stderr, /Sanitizer|runtime error/);
  }
}

function pages(n, f = (i) => `# Page ${i}\n\nText of page ${i} with *emphasis*.\n`) {
  return Array.from({ length: n }, (_, i) => ({ file: `p/${i}.md`, content: f(i) }));
}

test('ping, unknown methods and notifications', async () => {
  const s = new Server();
  assert.deepEqual((await s.request('ping')).result, { pong: true });
  const r = await s.request('noSuchMethod', {});
  assert.equal(r.error.code, -32601);
  assert.match(r.error.message, /noSuchMethod/);
  // Notifications are never answered (other than cancellations, they are ignored).
  s.send({ jsonrpc: '2.0', method: 'ping' });
  s.send({ jsonrpc: '2.0', method: 'noSuchMethod' });
  const id = s.post('ping');
  await s.response(id);
  assert.equal(s.messages.length, 3);
  // String ids are echoed as they were.
  s.send({ jsonrpc: '2.0', id: 'abc', method: 'ping' });
  assert.deepEqual((await s.response('abc')).result, { pong: true });
  await s.close();
});

test('transform: result shape, module code, title fallback, options', async () => {
  const s = new Server();
  const content =
    '---\ntitle: Intro\ntags: [a, b]\n---\n# Hello `x`\n\nA `tick`, a ${dollar} and a \\\\ slash.\n\n' +
    '| a | b |\n|---|---|\n| 1 | 2 |\n\n[link](/docs) ![img](/i.png)\n\n```js\nlet x = `${y}`;\n```\n';
  const r = (await s.request('transform', { file: 'guide/intro.md', content, options: {} })).result;
  assert.deepEqual(Object.keys(r), ['code', 'html', 'map', 'metadata', 'dependencies']);
  assert.equal(r.map, null);
  assert.deepEqual(r.dependencies, []);
  const m = r.metadata;
  assert.deepEqual(Object.keys(m), [
    'file', 'frontmatter', 'title', 'headings', 'words', 'links', 'images', 'codeBlocks',
    'wordCount', 'linkCount', 'imageCount', 'codeBlockCount', 'hash', 'warnings',
  ]);
  assert.equal(m.file, 'guide/intro.md');
  assert.deepEqual(m.frontmatter, { title: 'Intro', tags: ['a', 'b'] });
  assert.equal(m.title, 'Intro');
  assert.equal(m.headings[0].level, 1);
  assert.equal(m.headings[0].id, 'hello-x');
  assert.equal(m.linkCount, 1);
  assert.equal(m.imageCount, 1);
  assert.equal(m.codeBlockCount, 1);
  assert.match(m.hash, /^[0-9a-f]{16}$/);
  assert.ok(m.words > 5);
  // The names serve used before are aliases of the manifest's, for one release.
  assert.equal(m.wordCount, m.words);
  assert.equal(m.linkCount, m.links);
  assert.equal(m.imageCount, m.images);
  assert.equal(m.codeBlockCount, m.codeBlocks);
  assert.match(r.html, /<table>/);
  // The module's default export is the HTML, byte for byte.
  assert.ok(r.code.startsWith('export default `') && r.code.endsWith('`;'));
  const mod = await import('data:text/javascript;charset=utf-8,' + encodeURIComponent(r.code));
  assert.equal(mod.default, r.html);

  // No title anywhere: the file name.
  const t = (await s.request('transform', { file: 'docs/getting-started.md', content: 'text\n' }))
    .result;
  assert.equal(t.metadata.title, 'Getting started');
  assert.equal(t.metadata.frontmatter, null, 'no front matter: null, as in the manifest');
  // Options: gfm off (no table), heading ids off, includeCode false.
  const o = (
    await s.request('transform', {
      content: '# T\n\n| a |\n|---|\n| 1 |\n',
      options: { gfm: false, headingIds: false },
      includeCode: false,
    })
  ).result;
  assert.equal(o.code, null);
  assert.doesNotMatch(o.html, /<table>/);
  assert.match(o.html, /<h1>T<\/h1>/);
  // Smart punctuation is off by default (as in build and render) and can be turned on.
  const q1 = (await s.request('transform', { content: '"quoted" -- dash\n' })).result.html;
  const q2 = (
    await s.request('transform', { content: '"quoted" -- dash\n', options: { smartPunctuation: true } })
  ).result.html;
  assert.notEqual(q1, q2);
  assert.match(q1, /&quot;quoted&quot; -- dash/);
  // Footnotes too.
  const fn0 = (await s.request('transform', { content: 'Text[^1].\n\n[^1]: Note.\n' })).result.html;
  assert.doesNotMatch(fn0, /footnote/);
  const fn = (
    await s.request('transform', { content: 'Text[^1].\n\n[^1]: Note.\n', options: { footnotes: true } })
  ).result.html;
  assert.match(fn, /footnote/);
  // Raw HTML is dropped unless unsafe.
  const safe = (await s.request('transform', { content: '<b>x</b>\n' })).result.html;
  const unsafe = (await s.request('transform', { content: '<b>x</b>\n', options: { unsafe: true } }))
    .result.html;
  assert.doesNotMatch(safe, /<b>/);
  assert.match(unsafe, /<b>x<\/b>/);
  // A page that fails: -32002 with the page error.
  const bad = await s.request('transform', { file: 'bad.md', content: '---\ntitle: [\n---\nx\n' });
  assert.equal(bad.error.code, -32002);
  assert.equal(bad.error.data.code, 'frontmatter');
  assert.equal(bad.error.data.file, 'bad.md');
  assert.ok(bad.error.data.line >= 1);
  await s.close();
});

test('transform: custom rules, literal and regex, and a bad pattern', async () => {
  const s = new Server();
  const rules = [
    { pattern: 'colour', replacement: 'color' },
    { pattern: '(\\d+) apples', replacement: '$1 pears', regex: true },
  ];
  const r = await s.request('transform', { content: 'colour: 3 apples\n', options: { rules } });
  assert.equal(r.result.html, '<p>color: 3 pears</p>\n');
  // The same rules again (from the cache), and in a batch.
  const b = await s.request('transformBatch', {
    files: [{ content: 'colour\n' }, { content: '10 apples\n' }],
    options: { rules },
  });
  assert.equal(b.result.results[0].result.html, '<p>color</p>\n');
  assert.equal(b.result.results[1].result.html, '<p>10 pears</p>\n');
  const e = await s.request('transform', {
    content: 'x',
    options: { rules: [{ pattern: 'ok', replacement: 'x' }, { pattern: '(', regex: true }] },
  });
  assert.equal(e.error.code, -32602);
  assert.match(e.error.message, /rules\[1\]/);
  assert.equal(e.error.data.rule, 1);
  const eb = await s.request('transformBatch', {
    files: [{ content: 'x' }],
    options: { rules: [{ pattern: '[', regex: true }] },
  });
  assert.equal(eb.error.code, -32602);
  await s.close();
});

test('normalize', async () => {
  const s = new Server();
  let r = await s.request('normalize', { content: '\ufeffa\r\nb\rc', removeBom: true, normalizeLf: true });
  assert.deepEqual(r.result, { content: 'a\nb\nc', changed: true });
  r = await s.request('normalize', { content: '\ufeffa\r\nb', removeBom: false, normalizeLf: true });
  assert.deepEqual(r.result, { content: '\ufeffa\nb', changed: true });
  r = await s.request('normalize', { content: '\ufeffa\r\nb', removeBom: true, normalizeLf: false });
  assert.deepEqual(r.result, { content: 'a\r\nb', changed: true });
  r = await s.request('normalize', { content: 'plain\n' });
  assert.deepEqual(r.result, { content: 'plain\n', changed: false });
  r = await s.request('normalize', {});
  assert.equal(r.error.code, -32602);
  assert.match(r.error.message, /params\.content/);
  await s.close();
});

test('computeDigest: canonical encoding, order independence', async () => {
  const s = new Server();
  const files = [
    { path: 'b.md', size: 10, mtime: 1700000000000 },
    { path: 'a.md', size: 3, mtime: 1700000000123.5 },
  ];
  const d1 = (await s.request('computeDigest', { files })).result.digest;
  // XXH3-128 of "a.md\0" "3\0" "1700000000123.5\n" "b.md\0" "10\0" "1700000000000\n", computed
  // with libxxhash directly (docs/protocol.md's example).
  assert.equal(d1, 'bd4ae8415daefa3aeb33d21098866c8d');
  const d2 = (await s.request('computeDigest', { files: [...files].reverse() })).result.digest;
  assert.equal(d2, d1);
  // The same mtime written differently gives the same digest.
  const d3 = (
    await s.request('computeDigest', {
      files: [
        { path: 'a.md', size: 3.0, mtime: 1700000000123.5 },
        { path: 'b.md', size: 10, mtime: 1.7e12 },
      ],
    })
  ).result.digest;
  assert.equal(d3, d1);
  const d4 = (
    await s.request('computeDigest', { files: [{ path: 'a.md', size: 4, mtime: 1700000000123.5 }] })
  ).result.digest;
  assert.notEqual(d4, d1);
  // The empty list: XXH3-128 of the empty string.
  const e = (await s.request('computeDigest', { files: [] })).result.digest;
  assert.equal(e, '99aa06d3014798d86001c324468d497f');
  const bad = await s.request('computeDigest', { files: [{ path: 'a', size: -1, mtime: 0 }] });
  assert.equal(bad.error.code, -32602);
  assert.match(bad.error.message, /params\.files\[0\]\.size/);
  await s.close();
});

test('transformBatch: 10,000 items in input order', async () => {
  const s = new Server();
  const n = 10000;
  const r = await s.request('transformBatch', { files: pages(n), options: { smartPunctuation: false } });
  const res = r.result;
  assert.match(res.batchId, /^b\d+$/);
  assert.equal(res.results.length, n);
  for (let i = 0; i < n; i++) {
    const it = res.results[i];
    assert.equal(it.index, i);
    assert.equal(it.result.metadata.file, `p/${i}.md`);
    assert.equal(it.result.html, `<h1 id="page-${i}">Page ${i}</h1>\n<p>Text of page ${i} with <em>emphasis</em>.</p>\n`);
  }
  assert.equal(res.stats.total, n);
  assert.equal(res.stats.ok, n);
  assert.equal(res.stats.failed, 0);
  assert.equal(res.stats.retried, 0);
  assert.ok(res.stats.ms > 0);
  const prog = s.notes('progress', res.batchId);
  assert.ok(prog.length >= 1);
  assert.deepEqual(prog.at(-1).params, {
    batchId: res.batchId, completed: n, total: n, failed: 0, currentFile: prog.at(-1).params.currentFile,
  });
  await s.close();
});

// The raw bytes of one session: each request line written, stdin closed, stdout read to the end
// and cut into messages: a line, plus for a batchFrame the params.bytes raw bytes after it.
async function rawSession(requests, args = []) {
  const proc = spawn(bin, ['serve', '--quiet', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(proc);
  const out = [];
  let stderr = '';
  proc.stdout.on('data', (d) => out.push(d));
  proc.stderr.on('data', (d) => (stderr += d));
  // A request given as [message, bytes] is followed by its raw bytes (params.bytes).
  for (const r of requests) {
    if (Array.isArray(r)) {
      proc.stdin.write(JSON.stringify(r[0]) + '\n');
      proc.stdin.write(r[1]);
    } else {
      proc.stdin.write(JSON.stringify(r) + '\n');
    }
  }
  proc.stdin.end();
  const code = await new Promise((resolve) => proc.on('close', resolve));
  live.delete(proc);
  assert.equal(code, 0, stderr);
  const all = Buffer.concat(out);
  const messages = [];
  let pos = 0;
  while (pos < all.length) {
    const nl = all.indexOf(10, pos);
    assert.ok(nl >= 0, 'the output ends inside a line');
    const msg = JSON.parse(all.toString('utf8', pos, nl));
    pos = nl + 1;
    if (msg.method === 'batchFrame') {
      const n = msg.params.bytes;
      assert.ok(Number.isSafeInteger(n) && n >= 0 && pos + n <= all.length, `frame of ${n} bytes`);
      msg.bytes = all.subarray(pos, pos + n);
      pos += n;
    }
    messages.push(msg);
  }
  return messages;
}

test('transformBatch frames: the same results as batchItem, HTML as raw bytes after each line', async () => {
  // Pages of every kind: non-ASCII (2-, 3- and 4-byte UTF-8), newlines and quotes in the HTML, a
  // page whose front matter fails, an empty page, a big page, and enough items for several frames.
  const files = [];
  for (let i = 0; i < 700; i++) files.push({ file: `p${i}.md`, content: `# Pàge ${i} 日本 🎉\n\n"q" \`c\` <x> ${'w '.repeat(i % 50)}\n` });
  files[3] = { file: 'bad.md', content: '---\na: [\n---\nbody\n' };
  files[4] = { file: 'empty.md', content: '' };
  files[5] = { file: 'big.md', content: `# Big\n\n${'A line of the big page with *emphasis* and “quotes”.\n\n'.repeat(8000)}` };
  const base = { files, includeCode: false, progress: false };
  const msgs = await rawSession([
    { jsonrpc: '2.0', id: 1, method: 'transformBatch', params: { ...base, batchId: 'items', stream: true } },
    { jsonrpc: '2.0', id: 2, method: 'transformBatch', params: { ...base, batchId: 'frames', frames: true } },
    { jsonrpc: '2.0', id: 3, method: 'ping' },
  ]);
  const items = msgs.filter((m) => m.method === 'batchItem').map((m) => m.params);
  assert.equal(items.length, files.length);
  const frames = msgs.filter((m) => m.method === 'batchFrame');
  assert.ok(frames.length >= 2, `${frames.length} frames`);
  assert.ok(frames.every((f) => f.params.batchId === 'frames'));
  const got = [];
  for (const f of frames) {
    const { items: its, lengths, bytes } = f.params;
    assert.equal(its.length, lengths.length);
    assert.equal(lengths.reduce((a, b) => a + b, 0), bytes);
    assert.equal(f.bytes.length, bytes);
    let off = 0;
    for (let j = 0; j < its.length; j++) {
      const it = its[j];
      if (it.result) {
        assert.equal(it.result.html, '', 'the HTML is not in the JSON');
        it.result.html = f.bytes.toString('utf8', off, off + lengths[j]);
      } else {
        assert.equal(lengths[j], 0, 'an error has no HTML');
      }
      off += lengths[j];
      got.push(it);
    }
  }
  // Every item once, in input order, equal to its batchItem.
  assert.deepEqual(got.map((it) => it.index), files.map((_, i) => i));
  for (let i = 0; i < files.length; i++) {
    const { batchId, ...want } = items[i];
    assert.deepEqual(got[i], want, `item ${i}`);
  }
  assert.equal(got[3].error.code, 'frontmatter');
  assert.match(got[5].result.html, /“quotes”/);
  assert.ok(got[5].result.html.length > 400000);
  // The answer carries the stats only, and lines after the frames are read as usual.
  const answer = msgs.find((m) => m.id === 2);
  assert.equal(answer.result.batchId, 'frames');
  assert.equal(answer.result.results, undefined);
  assert.equal(answer.result.stats.total, files.length);
  // The first batch filled the result cache: the frames are cache hits in their formatted form
  // (every page but the failed one), byte for byte the batchItems' results above.
  assert.equal(answer.result.stats.cacheHits, files.length - 1);
  assert.equal(answer.result.stats.failed, 1);
  assert.deepEqual(msgs.find((m) => m.id === 3).result, { pong: true });
  // The frames come before their answer.
  assert.ok(msgs.indexOf(frames.at(-1)) < msgs.indexOf(answer));
});

test('transformBatch with inline pages as raw bytes (params.bytes, contentBytes)', async () => {
  // The same pages as JSON strings and as raw bytes give the same results; a request whose
  // counts disagree is refused with its bytes dropped, and the server goes on.
  const contents = ['# A\n\nNUL \u0000 and 🎉\n', '', '---\ntitle: T\n---\n"q" {\n}\n', 'x'.repeat(70000) + '\n'];
  const bufs = contents.map((c) => Buffer.from(c, 'utf8'));
  const files = contents.map((c, i) => ({ file: `f${i}.md`, content: c }));
  const attached = bufs.map((b, i) => ({ file: `f${i}.md`, contentBytes: b.length }));
  const total = bufs.reduce((a, b) => a + b.length, 0);
  const msgs = await rawSession([
    { jsonrpc: '2.0', id: 1, method: 'transformBatch', params: { files, progress: false } },
    [{ jsonrpc: '2.0', id: 2, method: 'transformBatch', params: { files: attached, bytes: total, progress: false } }, Buffer.concat(bufs)],
    [{ jsonrpc: '2.0', id: 3, method: 'transformBatch', params: { files: [{ contentBytes: 2 }], bytes: 5 } }, Buffer.from('ab\n{\n')],
    [{ jsonrpc: '2.0', id: 4, method: 'ping', params: { bytes: 3 } }, Buffer.from('{}\n')],
    { jsonrpc: '2.0', id: 5, method: 'ping' },
  ]);
  const byId = (id) => msgs.find((m) => m.id === id);
  assert.equal(msgs.filter((m) => m.id === null).length, 0, 'no line was misread');
  const a = byId(1).result.results, b = byId(2).result.results;
  assert.equal(b.length, contents.length);
  assert.deepEqual(b, a);
  assert.match(b[0].result.html, /🎉/);
  assert.equal(b[2].result.metadata.title, 'T');
  assert.equal(byId(3).error.code, -32602);
  assert.match(byId(3).error.message, /params\.bytes/);
  assert.equal(byId(4).error.code, -32602);
  assert.deepEqual(byId(5).result, { pong: true });
});

test('transformBatch: streaming order, and items sent before the batch ends', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2'], { env: { FASTMD_SERVE_TEST_DELAY_US: '3000' } });
  const n = 200;
  // The engine renders the largest pages first. The first 40 items are the largest, so they
  // are done (and streamed) early; the rest have scrambled sizes, so they complete out of
  // input order, yet batchItem notifications must come in input order.
  const words = (i) => (i < 40 ? 2000 - i * 10 : 1 + ((i * 7919) % 997));
  const files = pages(n, (i) => `# P${i}\n\n` + 'word '.repeat(words(i)) + '\n');
  const id = s.post('transformBatch', { files, stream: true, batchId: 'st' });
  const resp = await s.response(id);
  assert.equal(resp.result.batchId, 'st');
  assert.equal(resp.result.results, undefined);
  assert.equal(resp.result.stats.total, n);
  assert.equal(resp.result.stats.ok, n);
  const items = s.notes('batchItem', 'st');
  assert.deepEqual(items.map((m) => m.params.index), [...Array(n).keys()]);
  for (const m of items) {
    assert.ok(s.indexOf(m) < s.indexOf(resp));
    assert.match(m.params.result.html, new RegExp(`<h1 id="p${m.params.index}">`));
  }
  // Streaming: the first item arrived well before the answer.
  assert.ok(resp.t - items[0].t > 50, `first item ${resp.t - items[0].t} ms before the end`);
  // The last progress notification precedes the response.
  const prog = s.notes('progress', 'st');
  assert.equal(prog.at(-1).params.completed, n);
  assert.ok(s.indexOf(prog.at(-1)) < s.indexOf(resp));
  await s.close();
});

test('progress: counts, failures, at most every 100 ms, one at the end', async () => {
  const root = tmpdir('progress');
  fs.writeFileSync(path.join(root, 'a.md'), '# A\n');
  const s = new Server(['--root', root, '--threads', '2'], {
    env: { FASTMD_SERVE_TEST_DELAY_US: '4000' },
  });
  const n = 300;
  const files = pages(n);
  files[7] = { file: '../outside.md' };
  files[100] = { file: 'missing.md' };
  files[200] = { file: 'a.md' };
  const t0 = performance.now();
  const resp = await s.request('transformBatch', { files, batchId: 'pg' });
  const elapsed = performance.now() - t0;
  assert.equal(resp.result.stats.failed, 2);
  const prog = s.notes('progress', 'pg').map((m) => m.params);
  assert.ok(prog.length >= 3, `${prog.length} progress notifications`);
  assert.ok(prog.length <= Math.ceil(elapsed / 100) + 2, `${prog.length} in ${elapsed} ms`);
  for (let k = 1; k < prog.length; k++) assert.ok(prog[k].completed >= prog[k - 1].completed);
  for (const p of prog) {
    assert.equal(p.total, n);
    assert.ok(p.failed <= p.completed);
    assert.ok(p.currentFile === null || typeof p.currentFile === 'string');
  }
  assert.equal(prog.at(-1).completed, n);
  assert.equal(prog.at(-1).failed, 2);
  // progress: false sends none.
  const quiet = await s.request('transformBatch', { files: pages(3), batchId: 'q', progress: false });
  assert.equal(quiet.result.stats.ok, 3);
  assert.equal(s.notes('progress', 'q').length, 0);
  await s.close();
});

test('cancel mid-batch: no completed result is lost', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2'], { env: { FASTMD_SERVE_TEST_DELAY_US: '5000' } });
  const n = 600;
  const id = s.post('transformBatch', { files: pages(n), batchId: 'c1' });
  await s.waitFor((m) => m.method === 'progress' && m.params.batchId === 'c1' && m.params.completed > 0);
  const c = await s.request('cancel', { batchId: 'c1' });
  assert.deepEqual(c.result, { cancelled: true });
  const resp = await s.response(id);
  assert.equal(resp.error.code, -32800);
  const d = resp.error.data;
  assert.equal(d.batchId, 'c1');
  assert.equal(d.total, n);
  assert.ok(d.completed > 0 && d.completed < n, `completed ${d.completed}`);
  assert.equal(d.results.length, d.completed);
  let last = -1;
  for (const it of d.results) {
    assert.ok(it.index > last);
    last = it.index;
    assert.match(it.result.html, new RegExp(`Page ${it.index}<`));
  }
  // Cancelling something that is not live.
  assert.deepEqual((await s.request('cancel', { batchId: 'c1' })).result, { cancelled: false });
  const st = (await s.request('stats')).result;
  assert.equal(st.pages.cancelled, n - d.completed);
  assert.equal(st.batches.cancelled, 1);
  await s.close();
});

test('$/cancelRequest on a streaming batch: every completed item was streamed', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2'], { env: { FASTMD_SERVE_TEST_DELAY_US: '5000' } });
  const n = 600;
  s.send({ jsonrpc: '2.0', id: 'big', method: 'transformBatch', params: { files: pages(n), stream: true } });
  const first = await s.waitFor((m) => m.method === 'batchItem');
  s.send({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'big' } });
  const resp = await s.response('big');
  assert.equal(resp.error.code, -32800);
  const d = resp.error.data;
  assert.equal(d.results, undefined);
  const items = s.notes('batchItem', first.params.batchId);
  assert.equal(items.length, d.completed);
  assert.ok(d.completed < n);
  const idx = items.map((m) => m.params.index);
  for (let k = 1; k < idx.length; k++) assert.ok(idx[k] > idx[k - 1]);
  for (const m of items) assert.ok(s.indexOf(m) < s.indexOf(resp));
  await s.close();
});

test('a queued batch can be cancelled before it starts', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2'], { env: { FASTMD_SERVE_TEST_DELAY_US: '3000' } });
  const a = s.post('transformBatch', { files: pages(200), batchId: 'first' });
  const b = s.post('transformBatch', { files: pages(5), batchId: 'second' });
  const h = (await s.request('health')).result;
  assert.equal(h.queued + h.running, 2);
  assert.deepEqual((await s.request('cancel', { batchId: 'second' })).result, { cancelled: true });
  const rb = await s.response(b);
  assert.equal(rb.error.code, -32800);
  assert.deepEqual(rb.error.data, { batchId: 'second', completed: 0, total: 5, results: [] });
  const ra = await s.response(a);
  assert.equal(ra.result.stats.ok, 200);
  await s.close();
});

test('health during a batch; a small transform does not wait behind it', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2'], { env: { FASTMD_SERVE_TEST_DELAY_US: '3000' } });
  const id = s.post('transformBatch', { files: pages(400), batchId: 'hb' });
  await s.waitFor((m) => m.method === 'progress' && m.params.batchId === 'hb' && m.params.completed > 0);
  const h = await s.request('health');
  assert.equal(h.result.status, 'ok');
  assert.equal(h.result.running, 1);
  assert.equal(h.result.workers, 2);
  assert.ok(h.result.uptime > 0);
  assert.equal(h.result.batches[0].batchId, 'hb');
  assert.equal(h.result.batches[0].state, 'running');
  assert.ok(h.result.batches[0].completed > 0);
  const t = await s.request('transform', { content: '# small\n' });
  assert.equal(t.result.html, '<h1 id="small">small</h1>\n');
  const resp = await s.response(id);
  assert.ok(s.indexOf(h) < s.indexOf(resp));
  assert.ok(s.indexOf(t) < s.indexOf(resp), 'the transform was answered before the batch');
  await s.close();
});

test('malformed lines among valid ones', async () => {
  const s = new Server();
  const lines = [
    'not json',
    '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    '{',
    '',
    '   ',
    '[{"jsonrpc":"2.0","id":2,"method":"ping"}]',
    '{"jsonrpc":"2.0","id":3,"method":"ping","id":4}',
    '"a string"',
    '{"jsonrpc":"1.0","id":5,"method":"ping"}',
    '{"jsonrpc":"2.0","id":6}',
    '{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}',
    '{"jsonrpc":"2.0","id":7,"method":"ping","params":[1]}',
    '{"jsonrpc":"2.0","id":8,"method":"transform","params":{"file":"x","content":5}}',
    '{"jsonrpc":"2.0","id":9,"method":"ping"}\r',
  ];
  s.raw(lines.join('\n') + '\n');
  s.raw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a])); // invalid UTF-8
  const id = 'last';
  s.send({ jsonrpc: '2.0', id, method: 'ping' });
  await s.response(id);
  const errs = s.messages.filter((m) => m.error).map((m) => [m.id, m.error.code]);
  assert.deepEqual(errs, [
    [null, -32700],
    [null, -32700],
    [null, -32600],
    [null, -32700], // duplicate key
    [null, -32600],
    [5, -32600],
    [6, -32600],
    [null, -32600],
    [7, -32602],
    [8, -32602],
    [null, -32700], // invalid UTF-8
  ]);
  const m8 = s.messages.find((m) => m.id === 8);
  assert.match(m8.error.message, /params\.content/);
  assert.deepEqual(
    s.messages.filter((m) => m.result).map((m) => m.id),
    [1, 9, id],
  );
  await s.close();
});

test('a line over --max-line-bytes is refused and skipped', async () => {
  const s = new Server(['--max-line-bytes', '1K']);
  s.send({ jsonrpc: '2.0', id: 1, method: 'transform', params: { content: 'x'.repeat(5000) } });
  const id = s.post('ping');
  await s.response(id);
  assert.equal(s.messages[0].error.code, -32600);
  assert.equal(s.messages[0].id, null);
  await s.close();
});

test('paths that lead out of the root are refused per item', async () => {
  const base = tmpdir('root');
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(root, 'a.md'), '# A\n');
  fs.writeFileSync(path.join(root, 'sub/b.md'), '# B\n');
  fs.writeFileSync(path.join(outside, 'secret.md'), '# Secret\n');
  fs.symlinkSync('a.md', path.join(root, 'link-in.md'));
  fs.symlinkSync('../outside/secret.md', path.join(root, 'link-out.md'));
  fs.symlinkSync(path.join(outside, 'secret.md'), path.join(root, 'abs-link.md'));
  fs.symlinkSync('../outside', path.join(root, 'dirout'));
  const s = new Server(['--root', root]);
  const files = [
    'a.md', 'sub/../a.md', 'sub/b.md', 'link-in.md', '../outside/secret.md', '/etc/hostname',
    path.join(outside, 'secret.md'), 'link-out.md', 'abs-link.md', 'dirout/secret.md',
    'sub/../../outside/secret.md', 'missing.md', 'sub',
  ].map((file) => ({ file }));
  const r = (await s.request('transformBatch', { files })).result;
  const codes = r.results.map((it) => (it.error ? it.error.code : 'ok'));
  assert.deepEqual(codes, [
    'ok', 'ok', 'ok', 'ok', 'outside-root', 'outside-root', 'outside-root', 'outside-root',
    'outside-root', 'outside-root', 'outside-root', 'no-input', 'no-input',
  ]);
  for (const it of r.results) assert.doesNotMatch(JSON.stringify(it), /Secret/);
  assert.equal(r.results[3].result.html, '<h1 id="a">A</h1>\n');
  assert.equal(r.stats.failed, 9);
  // An absolute path under the root is read relative to it; through the root's real name too.
  const abs = (
    await s.request('transformBatch', {
      files: [{ file: path.join(root, 'a.md') }, { file: path.join(fs.realpathSync(root), 'sub/b.md') }],
    })
  ).result;
  assert.deepEqual(abs.results.map((it) => it.result?.html), ['<h1 id="a">A</h1>\n', '<h1 id="b">B</h1>\n']);
  assert.equal(abs.results[0].result.metadata.file, path.join(root, 'a.md'), 'the name as sent');
  const absOne = await s.request('transform', { file: path.join(root, 'sub/b.md') });
  assert.equal(absOne.result.html, '<h1 id="b">B</h1>\n');
  // A single transform by path, inside and outside.
  const ok = await s.request('transform', { file: 'sub/b.md' });
  assert.equal(ok.result.html, '<h1 id="b">B</h1>\n');
  const out = await s.request('transform', { file: '../outside/secret.md' });
  assert.equal(out.error.code, -32002);
  assert.equal(out.error.data.code, 'outside-root');
  await s.close();
});

test('transient read failures are retried once by default, and counted', async () => {
  const root = tmpdir('retry');
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(root, `${i}.md`), `# ${i}\n`);
  // The hook fails the first read of every item whose index is even. It exists in test builds
  // only (FMD_TEST_HOOKS): elsewhere the variable must change nothing.
  const s = new Server(['--root', root], { env: { FASTMD_SERVE_TEST_FAULT_EVERY: '2' } });
  const files = [0, 1, 2, 3].map((i) => ({ file: `${i}.md` }));
  const r = (await s.request('transformBatch', { files })).result;
  if (!hooks) {
    assert.equal(r.stats.ok, 4);
    assert.equal(r.stats.retried, 0, 'a build without test hooks ignores the variable');
    const r0 = (await s.request('transformBatch', { files, options: { retries: 0 } })).result;
    assert.equal(r0.stats.ok, 4);
    await s.close();
    return;
  }
  assert.equal(r.stats.ok, 4);
  assert.equal(r.stats.retried, 2);
  const r0 = (await s.request('transformBatch', { files, options: { retries: 0 } })).result;
  assert.deepEqual(r0.results.map((it) => (it.error ? it.error.code : 'ok')), ['io', 'ok', 'io', 'ok']);
  assert.equal(r0.stats.retried, 0);
  const st = (await s.request('stats')).result;
  assert.equal(st.pages.retried, 2);
  await s.close();
});

test('options.deadlineMs: a page over its deadline fails as "deadline", not retried', async () => {
  const s = new Server();
  // About 4 MB: well over a millisecond to render anywhere; the small page is not affected.
  const big = '*emphasis* and [a link](/x) and `code`\n\n'.repeat(100000);
  const files = [{ file: 'big.md', content: big }, { file: 'small.md', content: '# ok\n' }];
  // The deadline is per page: the small page renders although the big one overruns. Its 1 ms is
  // wall time, though, which a thread preempted on a loaded machine (or a sanitizer build) can
  // pass even for a small page: the batch is sent again (a few times at most) until it renders,
  // and every try must fail the big page as "deadline", unretried.
  let r;
  for (let attempt = 0; attempt < 5; attempt++) {
    r = (await s.request('transformBatch', { files, options: { deadlineMs: 1 } })).result;
    assert.equal(r.results[0].error.code, 'deadline');
    assert.match(r.results[0].error.message, /deadline of 1 ms/);
    // The parser's work is deterministic: a retry would only overrun again, so retries
    // (default 1) do not apply to the deadline.
    assert.equal(r.stats.retried, 0);
    if (r.results[1].result) break;
    assert.equal(r.results[1].error.code, 'deadline', 'the small page fails only by its deadline');
  }
  assert.ok(r.results[1].result, 'the small page renders');
  const ok = (await s.request('transformBatch', { files, options: { deadlineMs: 600000 } })).result;
  assert.equal(ok.stats.ok, 2);
  const bad = await s.request('transformBatch', { files, options: { deadlineMs: -1 } });
  assert.equal(bad.error.code, -32602);
  assert.match(bad.error.message, /params\.options\.deadlineMs/);
  await s.close();
});

test('batch IDs: generated, unique among live batches; --max-queued gives Overloaded', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2', '--max-queued', '1'], {
    env: { FASTMD_SERVE_TEST_DELAY_US: '3000' },
  });
  const a = s.post('transformBatch', { files: pages(300), batchId: 'dup' });
  await s.waitFor((m) => m.method === 'progress' && m.params.batchId === 'dup');
  const d = await s.request('transformBatch', { files: pages(2), batchId: 'dup' });
  assert.equal(d.error.code, -32602);
  assert.match(d.error.message, /batchId/);
  const b = s.post('transformBatch', { files: pages(2) }); // queued (1 of 1)
  const c = await s.request('transformBatch', { files: pages(2) }); // over the limit
  assert.equal(c.error.code, -32001);
  assert.deepEqual(c.error.data, { queued: 1, limit: 1 });
  assert.equal((await s.response(a)).result.stats.ok, 300);
  const rb = (await s.response(b)).result;
  assert.match(rb.batchId, /^b\d+$/);
  // Once finished, an ID may be used again.
  const again = await s.request('transformBatch', { files: pages(1), batchId: 'dup' });
  assert.equal(again.result.batchId, 'dup');
  await s.close();
});

test('stats: JSON counters and Prometheus text', async () => {
  const s = new Server();
  await s.request('ping');
  await s.request('transform', { content: '# x\n' });
  await s.request('transformBatch', { files: pages(10) });
  s.raw('garbage\n');
  const st = (await s.request('stats')).result;
  assert.equal(st.requests.ping, 1);
  assert.equal(st.requests.transform, 1);
  assert.equal(st.requests.transformBatch, 1);
  assert.equal(st.requests.invalid, 1);
  assert.equal(st.errors['-32700'], 1);
  assert.equal(st.pages.ok, 11);
  assert.ok(st.bytes.in > 0 && st.bytes.out > 0 && st.bytes.read > 0 && st.bytes.written > 0);
  for (const k of ['parseSeconds', 'serializeSeconds', 'writeSeconds', 'loadSeconds', 'renderSeconds'])
    assert.equal(typeof st.time[k], 'number');
  assert.equal(st.latency.buckets.length, 16);
  assert.equal(st.latency.methods.ping.count, 1);
  assert.equal(st.latency.methods.ping.counts.length, 17);
  const p = (await s.request('stats', { format: 'prometheus' })).result;
  assert.match(p.contentType, /^text\/plain/);
  assert.match(p.text, /^fastmd_requests_total\{method="ping"\} 1$/m);
  assert.match(p.text, /^fastmd_pages_total\{status="ok"\} 11$/m);
  assert.match(p.text, /^fastmd_request_duration_seconds_count\{method="transformBatch"\} 1$/m);
  assert.match(p.text, /^# TYPE fastmd_request_duration_seconds histogram$/m);
  const bad = await s.request('stats', { format: 'xml' });
  assert.equal(bad.error.code, -32602);
  await s.close();
});

test('shutdown finishes the work in flight, answers last, exits 0', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2'], { env: { FASTMD_SERVE_TEST_DELAY_US: '2000' } });
  const b = s.post('transformBatch', { files: pages(200) });
  const t = s.post('transform', { content: '# t\n' });
  const q = s.post('shutdown');
  s.check(await s.exited);
  const rb = s.messages.find((m) => m.id === b);
  const rt = s.messages.find((m) => m.id === t);
  assert.equal(rb.result.stats.ok, 200);
  assert.equal(rt.result.html, '<h1 id="t">t</h1>\n');
  assert.deepEqual(s.messages.at(-1), { jsonrpc: '2.0', id: q, result: { ok: true } });
});

test('closing stdin finishes the work, then exits 0', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2'], { env: { FASTMD_SERVE_TEST_DELAY_US: '2000' } });
  const b = s.post('transformBatch', { files: pages(150), stream: true });
  await s.close();
  const rb = s.messages.find((m) => m.id === b);
  assert.equal(rb.result.stats.ok, 150);
  assert.equal(s.notes('batchItem').length, 150);
});

test('--rules is the default for requests without options.rules; their own rules replace it', async () => {
  const dir = tmpdir('rules');
  const file = path.join(dir, 'rules.json');
  fs.writeFileSync(file, JSON.stringify([{ pattern: 'colour', replacement: 'color' }]));
  const s = new Server(['--rules', file]);
  const page = { content: 'colour and flavour\n' };
  const none = (await s.request('transform', page)).result.html;
  assert.equal(none, '<p>color and flavour</p>\n');
  const batch = (await s.request('transformBatch', { files: [page] })).result;
  assert.equal(batch.results[0].result.html, '<p>color and flavour</p>\n');
  const own = (
    await s.request('transform', { ...page, options: { rules: [{ pattern: 'flavour', replacement: 'flavor' }] } })
  ).result.html;
  assert.equal(own, '<p>colour and flavor</p>\n', 'replace, not merge');
  const empty = (await s.request('transform', { ...page, options: { rules: [] } })).result.html;
  assert.equal(empty, '<p>colour and flavour</p>\n', 'rules: [] means none');
  await s.close();
});

test('a params.bytes that is refused reads nothing: every later request is answered', async () => {
  const s = new Server();
  s.send({ jsonrpc: '2.0', id: 'big', method: 'transformBatch', params: { bytes: 10 ** 15, files: [] } });
  s.send({ jsonrpc: '2.0', id: 'frac', method: 'transformBatch', params: { bytes: 2.5, files: [] } });
  s.send({ jsonrpc: '2.0', id: 'neg', method: 'transformBatch', params: { bytes: -1, files: [] } });
  assert.deepEqual((await s.request('ping')).result, { pong: true });
  assert.equal((await s.response('big')).error.code, -32600);
  assert.match((await s.response('big')).error.message, /no raw bytes were read/);
  assert.equal((await s.response('frac')).error.code, -32602);
  assert.equal((await s.response('neg')).error.code, -32602);
  // A good count still works after them.
  s.raw(JSON.stringify({ jsonrpc: '2.0', id: 'good', method: 'transformBatch',
    params: { bytes: 4, files: [{ file: 'a.md', contentBytes: 4 }] } }) + '\n# A\n');
  assert.equal((await s.response('good')).result.results[0].result.html, '<h1 id="a">A</h1>\n');
  const shut = s.post('shutdown');
  assert.deepEqual((await s.response(shut)).result, { ok: true });
  await s.close();
});

test('ids are echoed exactly as sent, and cancel matches by JSON value', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2'], { env: { FASTMD_SERVE_TEST_DELAY_US: '20000' } });
  const lines = [];
  s.proc.stdout.on('data', (d) => lines.push(d.toString()));
  s.raw('{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}\n');
  s.raw('{"jsonrpc":"2.0","id":1e400,"method":"ping"}\n');
  s.raw('{"jsonrpc":"2.0","id":8.0,"method":"ping"}\n');
  s.send({ jsonrpc: '2.0', id: 'last', method: 'ping' });
  await s.response('last');
  const text = lines.join('');
  assert.match(text, /"id":123456789012345678901234567890,"result":\{"pong":true\}/);
  assert.match(text, /"id":1e400,"result":\{"pong":true\}/);
  assert.match(text, /"id":8\.0,"result":\{"pong":true\}/);
  assert.doesNotMatch(text, /-32700/);
  // A batch sent with id 9 is cancelled by $/cancelRequest {id: 9.0}.
  s.raw('{"jsonrpc":"2.0","id":9,"method":"transformBatch","params":{"files":' +
    JSON.stringify(pages(200)) + '}}\n');
  await s.waitFor((m) => m.method === 'progress', 'progress');
  s.raw('{"jsonrpc":"2.0","id":"c","method":"$/cancelRequest","params":{"id":9.0}}\n');
  assert.deepEqual((await s.response('c')).result, { cancelled: true });
  assert.equal((await s.response(9)).error.code, -32800);
  await s.close();
});

test('--max-memory: a request over the bound gets -32001 with a retry hint; stats and health show memory', async () => {
  const s = new Server(['--max-memory', '64K']);
  const big = await s.request('transform', { file: 'big.md', content: 'word '.repeat(20000) });
  assert.equal(big.error.code, -32001);
  assert.match(big.error.message, /--max-memory/);
  assert.equal(big.error.data.limit, 65536);
  assert.ok(big.error.data.retryAfterMs > 0);
  assert.ok(big.error.data.request > 65536);
  // Smaller work goes on.
  assert.equal((await s.request('transform', { content: '# ok\n' })).result.html, '<h1 id="ok">ok</h1>\n');
  // The bytes of an answer are released by the writer after it is sent, so the client may see the
  // answer a moment before the count drops: wait (bounded) until only the cache is held.
  const settled = async () => {
    for (let i = 0; ; i++) {
      const r = (await s.request('stats')).result;
      if (r.memory.used === r.memory.cache || i >= 50) return r;
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const st = await settled();
  assert.equal(st.memory.limit, 65536);
  assert.equal(st.memory.refused, 1);
  assert.ok(st.memory.rss > 0 && st.memory.peakRss >= st.memory.rss);
  assert.equal(st.memory.used, st.memory.cache, 'only the cache is held once every request is answered');
  assert.ok(st.memory.cache <= 32768, 'the cache takes at most half of --max-memory');
  const h = (await s.request('health')).result;
  assert.equal(h.status, 'ok');
  assert.equal(h.memory.limit, 65536);
  const prom = (await s.request('stats', { format: 'prometheus' })).result.text;
  assert.match(prom, /fastmd_memory_bytes\{kind="limit"\} 65536/);
  await s.close();
});

test('--max-memory bounds held results: a non-streamed batch over it gets -32001, streamed it runs', async () => {
  const root = tmpdir('held');
  const text = '# Page\n\n' + 'Some *text* and a [link](/x).\n\n'.repeat(200);
  for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(root, `${i}.md`), text);
  const s = new Server(['--root', root, '--max-memory', '1M', '--threads', '2']);
  const files = Array.from({ length: 100 }, (_, i) => ({ file: `${i}.md` }));
  const held = await s.request('transformBatch', { files });
  assert.equal(held.error.code, -32001);
  assert.match(held.error.message, /stream: true/);
  const streamed = (await s.request('transformBatch', { files, stream: true, progress: false })).result;
  assert.equal(streamed.stats.ok, 100);
  let st;
  for (let i = 0; i < 50; i++) { // released by the writer just after sending (see above)
    st = (await s.request('stats')).result;
    if (st.memory.used === st.memory.cache && st.memory.pending === 0) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.equal(st.memory.used, st.memory.cache);
  assert.equal(st.memory.held, 0);
  assert.equal(st.memory.pending, 0);
  await s.close();
});

test('health sees the engine: "stalled" while no page finishes, then "ok" again', async () => {
  const dir = tmpdir('hang');
  const hang = path.join(dir, 'hang');
  fs.writeFileSync(hang, '');
  const s = new Server(['--threads', '2', '--stall-seconds', '1'], {
    env: { FASTMD_SERVE_TEST_HANG_FILE: hang },
  });
  const id = s.post('transformBatch', { files: pages(4), progress: false });
  if (!hooks) {
    // Without test hooks the file means nothing: the batch just runs.
    assert.equal((await s.response(id)).result.stats.ok, 4);
    await s.close();
    return;
  }
  // Wait for the state, not for a time: a sanitizer build on a loaded machine may take longer
  // than --stall-seconds to start the batch at all. The pages hang until the file goes, so the
  // status must turn "stalled" (bounded, so that a server that never says so fails).
  let h;
  for (let i = 0; i < 600; i++) {
    h = (await s.request('health')).result;
    if (h.status === 'stalled') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(h.status, 'stalled');
  assert.match(h.reasons[0], /no page finished/);
  assert.ok(h.sinceProgress > 1);
  fs.rmSync(hang);
  assert.equal((await s.response(id)).result.stats.ok, 4);
  const ok = (await s.request('health')).result;
  assert.equal(ok.status, 'ok');
  assert.deepEqual(ok.reasons, []);
  await s.close();
});

test('SIGTERM: the server stops reading, answers the work in flight, and exits 0', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2'], { env: { FASTMD_SERVE_TEST_DELAY_US: '20000' } });
  const id = s.post('transformBatch', { files: pages(40) });
  await s.waitFor((m) => m.method === 'progress', 'progress');
  s.proc.kill('SIGTERM');
  const r = await s.exited;
  assert.equal(r.code, 0, `exit status; stderr: ${s.stderr}`);
  const answer = s.messages.find((m) => m.id === id);
  assert.ok(answer, 'the batch in flight is answered');
  assert.equal(answer.result.stats.ok, 40);
  assert.deepEqual(s.bad, []);
});

test('result cache: hits give the same bytes as misses and as no cache; options and rules are in the key', async () => {
  const files = pages(300, (i) => `---\ntitle: T${i % 5}\n---\n# Page ${i % 50}\n\nText *${i % 50}* [l](/x).\n`);
  // Some pages share their bytes (i % 50): hits inside one batch too.
  const run = async (args) => {
    const s = new Server(['--threads', '2', ...args]);
    const out = [];
    for (const params of [
      { files, progress: false },
      { files, progress: false },
      { files, progress: false, stream: true },
      { files: files.map((f, i) => ({ file: `other/${i}.md`, content: f.content })), progress: false },
    ]) {
      const id = s.post('transformBatch', params);
      const r = await s.response(id);
      const items = params.stream ? s.notes('batchItem', r.result.batchId).map((m) => m.params) : r.result.results;
      out.push({ items: JSON.stringify(items.map(({ batchId, ...x }) => x)), stats: r.result.stats });
    }
    const one = (await s.request('transform', { file: 'a/b-c.md', content: files[3].content })).result;
    const one2 = (await s.request('transform', { file: 'a/b-c.md', content: files[3].content })).result;
    const smart = (await s.request('transform', { content: '"q"\n', options: { smartPunctuation: true } })).result.html;
    const plain = (await s.request('transform', { content: '"q"\n' })).result.html;
    const ruled = (await s.request('transform', { content: '"q"\n', options: { rules: [{ pattern: 'q', replacement: 'z' }] } })).result.html;
    const st = (await s.request('stats')).result;
    await s.close();
    return { out, one: JSON.stringify(one), one2: JSON.stringify(one2), smart, plain, ruled, st };
  };
  const cached = await run([]);
  const none = await run(['--cache-bytes', '0']);
  for (let k = 0; k < 4; k++) assert.equal(cached.out[k].items, none.out[k].items, `batch ${k}: same bytes`);
  assert.equal(cached.out[0].items, cached.out[1].items);
  assert.equal(cached.one, none.one);
  assert.equal(cached.one, cached.one2);
  assert.match(cached.one, /"title":"T3"/);
  assert.equal(cached.smart, none.smart);
  assert.equal(cached.plain, '<p>&quot;q&quot;</p>\n');
  assert.notEqual(cached.smart, cached.plain, 'options are part of the key');
  assert.equal(cached.ruled, '<p>&quot;z&quot;</p>\n', 'rules are part of the key');
  // The first batch misses 50 distinct pages (and hits the rest inside the batch only when a page
  // was cached before its twin was looked up); the second hits every page.
  assert.equal(cached.out[1].stats.cacheHits, 300);
  assert.equal(cached.out[1].stats.cacheMisses, 0);
  assert.equal(cached.out[3].stats.cacheHits, 300, 'the file name is not in the key');
  assert.equal(none.out[1].stats.cacheHits, 0);
  assert.ok(cached.st.cache.hits >= 900);
  assert.ok(cached.st.cache.entries >= 50 && cached.st.cache.entries <= 53);
  assert.ok(cached.st.cache.hitRatio > 0.5 && cached.st.cache.hitRatio <= 1);
  assert.equal(none.st.cache.entries, 0);
});

test('result cache: bounded in bytes under 10,000 unique pages, evicting the least recently used', async () => {
  const s = new Server(['--threads', '2', '--cache-bytes', '1M']);
  const files = pages(10000, (i) => `# Page ${i}\n\n${'Some words of page ' + i + '. '.repeat(1)}\n`.repeat(3));
  const r = (await s.request('transformBatch', { files, stream: true, progress: false })).result;
  assert.equal(r.stats.ok, 10000);
  assert.equal(r.stats.cacheMisses, 10000);
  const st = (await s.request('stats')).result;
  assert.equal(st.cache.limit, 1 << 20);
  assert.ok(st.cache.bytes <= st.cache.limit, `${st.cache.bytes} <= ${st.cache.limit}`);
  assert.ok(st.cache.evictions > 0);
  assert.equal(st.cache.entries + st.cache.evictions, 10000);
  // The most recent pages are still there, the first ones were evicted.
  const again = (await s.request('transformBatch', { files: [files[9999], files[0]], progress: false })).result;
  assert.equal(again.stats.cacheHits, 1);
  const h = (await s.request('health')).result;
  assert.ok(h.memory.cache > 0 && h.memory.cache <= st.cache.limit);
  await s.close();
});

test('--trace: Chrome trace JSON with a track per thread and the request\'s traceparent; echoed in results', async () => {
  const dir = tmpdir('trace');
  const file = path.join(dir, 'trace.json');
  const s = new Server(['--threads', '2', '--trace', file]);
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const one = (await s.request('transform', { content: '# A\n', _meta: { traceparent: tp } })).result;
  assert.match(one._meta.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  const batch = (await s.request('transformBatch', { files: pages(20), progress: false, _meta: { traceparent: tp } })).result;
  assert.match(batch._meta.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  const plain = (await s.request('transform', { content: '# B\n' })).result;
  assert.equal(plain._meta, undefined, 'no traceparent given: nothing echoed');
  const bad = await s.request('transform', { content: 'x', _meta: { traceparent: '00-0-0-0' } });
  assert.equal(bad.error.code, -32602);
  await s.close();
  // The array may stay open (the format allows it); closed here to parse it strictly.
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text.startsWith('[\n'));
  const events = JSON.parse(text.replace(/,\s*$/, '') + ']');
  const names = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, e.args.name]));
  assert.equal(names.get(1), 'reader');
  assert.equal(names.get(2), 'batch executor');
  assert.ok([...names.values()].includes('lane 0'));
  assert.ok([...names.values()].includes('engine worker 0'));
  const spans = events.filter((e) => e.ph === 'X');
  for (const e of spans) {
    assert.equal(typeof e.ts, 'number');
    assert.ok(e.dur >= 0);
    assert.match(e.args.traceId, /^[0-9a-f]{32}$/);
  }
  const traced = spans.filter((e) => e.args.traceId === '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.ok(traced.some((e) => e.name === 'transform' && e.args.parentSpanId === '00f067aa0ba902b7'));
  assert.ok(traced.some((e) => e.name === 'transformBatch'));
  assert.ok(traced.some((e) => e.name === 'render' && e.tid === 2));
  assert.equal(traced.filter((e) => e.name === 'page').length, 20, 'one span per page');
  assert.ok(traced.filter((e) => e.name === 'page').every((e) => e.tid >= 100 && names.has(e.tid)));
  assert.ok(spans.some((e) => e.name === 'transform' && e.args.traceId !== '4bf92f3577b34da6a3ce929d0e0e4736'),
    'a request without traceparent gets a trace id of its own');
});

test('alerts: raised and cleared as notifications, shown in health and stats while raised', { skip: noDelay }, async () => {
  const s = new Server(['--threads', '2', '--alert', 'failureRate=0.5', '--alert', 'queue=2'], {
    env: { FASTMD_SERVE_TEST_DELAY_US: '20000' },
  });
  const alerts = () => s.notes('alert').map((m) => `${m.params.name}:${m.params.state}`);
  const bad = await s.request('transform', { file: 'bad.md', content: '---\na: [\n---\n' });
  assert.equal(bad.error.code, -32002);
  const raised = await s.waitFor((m) => m.method === 'alert' && m.params.state === 'raised', 'an alert');
  assert.deepEqual(raised.params, { name: 'failureRate', value: 1, threshold: 0.5, state: 'raised' });
  const h = (await s.request('health')).result;
  assert.equal(h.status, 'degraded');
  assert.deepEqual(h.alerts.map((a) => a.name), ['failureRate']);
  assert.deepEqual((await s.request('stats')).result.alerts.map((a) => a.name), ['failureRate']);
  for (let i = 0; i < 3; i++) await s.request('transform', { content: `# ok ${i}\n` });
  await s.waitFor((m) => m.method === 'alert' && m.params.name === 'failureRate' && m.params.state === 'cleared', 'cleared');
  // Batches waiting behind a slow one: the queue alert, then cleared once they ran.
  const ids = [0, 1, 2, 3].map(() => s.post('transformBatch', { files: pages(5), progress: false }));
  for (const id of ids) await s.response(id);
  await s.request('health');
  // The queue may fill and drain more than once while the batches arrive (seen on a slow
  // coverage build): raised and cleared alternate, in pairs, and it ends cleared.
  const seen = alerts();
  assert.deepEqual(seen.slice(0, 3), ['failureRate:raised', 'failureRate:cleared', 'queue:raised']);
  const queue = seen.slice(2);
  assert.ok(queue.length % 2 === 0, `queue alerts in pairs: ${queue}`);
  queue.forEach((a, i) => assert.equal(a, i % 2 === 0 ? 'queue:raised' : 'queue:cleared', `${queue}`));
  const ok = (await s.request('health')).result;
  assert.equal(ok.status, 'ok');
  assert.deepEqual(ok.alerts, []);
  await s.close();
});

test('--metrics-file: the Prometheus text, rewritten atomically every interval and at exit', async () => {
  const dir = tmpdir('metrics');
  const file = path.join(dir, 'fastmd.prom');
  const s = new Server(['--metrics-file', file, '--metrics-interval', '1']);
  await s.request('transform', { content: '# A\n' });
  const deadline = Date.now() + 10000;
  const read = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  while (!/fastmd_requests_total\{method="transform"\} 1\n/.test(read()) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  assert.match(read(), /fastmd_requests_total\{method="transform"\} 1\n/, 'written within the interval');
  assert.match(read(), /# TYPE fastmd_pages_total counter/);
  await s.request('transform', { content: '# B\n' });
  await s.close();
  assert.match(read(), /fastmd_requests_total\{method="transform"\} 2\n/, 'the final counters at exit');
  assert.deepEqual(fs.readdirSync(dir), ['fastmd.prom'], 'no temporary file left');
});

test('--metrics-file through a symbolic link: the link is kept, its target written; - and a FIFO are refused', async () => {
  const dir = tmpdir('metrics-link');
  const target = path.join(dir, 'real.prom');
  const link = path.join(dir, 'metrics.prom');
  fs.writeFileSync(target, 'old\n');
  fs.symlinkSync('real.prom', link);
  const s = new Server(['--metrics-file', link, '--metrics-interval', '1']);
  await s.request('transform', { content: '# A\n' });
  await s.close();
  assert.ok(fs.lstatSync(link).isSymbolicLink(), 'still a symbolic link');
  assert.match(fs.readFileSync(target, 'utf8'), /# TYPE fastmd_pages_total counter/);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['metrics.prom', 'real.prom'], 'no temporary file');
  const refused = async (file, re) => {
    const p = spawn(bin, ['serve', '--metrics-file', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    // 'close', not 'exit': it comes after stderr has been read to its end.
    assert.equal(await new Promise((r) => p.on('close', r)), 64);
    assert.match(err, re);
  };
  await refused('-', /standard output carries the JSON-RPC answers/);
  const fifo = path.join(dir, 'metrics.pipe');
  const mk = spawn('mkfifo', [fifo]);
  assert.equal(await new Promise((r) => mk.on('exit', r)), 0);
  await refused(fifo, /is a FIFO/);
  assert.ok(fs.lstatSync(fifo).isFIFO(), 'the FIFO is left as it was');
});

test('messages that quote a client string cut it at a character boundary: every byte is UTF-8', async () => {
  // 199 ASCII bytes, then a 2-byte character across the 200-byte cut.
  const long = (c) => c.repeat(199) + 'é' + 'z';
  const root = tmpdir('utf8cut');
  const proc = spawn(bin, ['serve', '--quiet', '--root', root], { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(proc);
  const out = [];
  proc.stdout.on('data', (d) => out.push(d));
  const closed = new Promise((resolve) => proc.on('close', resolve));
  proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: long('m') }) + '\n');
  proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'transform', params: { file: `${long('f')}.md` } }) + '\n');
  proc.stdin.end();
  assert.equal(await closed, 0);
  live.delete(proc);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(out)); // throws on a cut character
  const msgs = text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const m1 = msgs.find((m) => m.id === 1).error.message;
  assert.equal(m1, `Method not found: ${'m'.repeat(199)}`);
  const m2 = msgs.find((m) => m.id === 2).error.message;
  assert.ok(m2.startsWith('f'.repeat(199) + ':'), m2);
});

test('an id with U+2028 or U+2029 is echoed escaped, and still matches', async () => {
  const id = 'a\u2028b\u2029c';
  const proc = spawn(bin, ['serve', '--quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(proc);
  const out = [];
  proc.stdout.on('data', (d) => out.push(d));
  const closed = new Promise((resolve) => proc.on('close', resolve));
  proc.stdin.end(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }) + '\n');
  assert.equal(await closed, 0);
  live.delete(proc);
  const line = Buffer.concat(out).toString('utf8');
  assert.ok(!line.includes('\u2028') && !line.includes('\u2029'), 'no raw U+2028/9 in the output');
  assert.ok(line.includes('a\\u2028b\\u2029c'), line);
  assert.equal(JSON.parse(line).id, id);
});

test('--threads auto: each batch reports its team and what sized it; a fixed count reports that', async () => {
  const files = pages(40);
  const auto = new Server(['--threads', 'auto']);
  const a = (await auto.request('transformBatch', { files })).result;
  await auto.close();
  assert.equal(a.stats.ok, 40);
  const t = a.stats.threads;
  assert.equal(t.auto, true);
  assert.ok(t.allowedCpus >= 1, JSON.stringify(t));
  assert.ok(t.team >= 1 && t.team <= t.max, JSON.stringify(t));
  assert.ok(t.team <= t.allowedCpus, JSON.stringify(t));
  assert.ok(t.loadAverage >= 0 && t.cpuQuota >= 0, JSON.stringify(t));
  // The same pages on a fixed team give the same results.
  const fixed = new Server(['--threads', '2']);
  const f = (await fixed.request('transformBatch', { files })).result;
  await fixed.close();
  assert.deepEqual(f.stats.threads, { team: 2, max: 2, auto: false });
  assert.deepEqual(f.results, a.results);
});

// A source tree for --warm and --cache-dir: front matter, no title (the file name gives it), a
// warning, headings with ids, a table.
function sourceTree(tag) {
  const dir = tmpdir(tag);
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  const files = {
    'a.md': '---\ntitle: Alpha\ntags: [x, "y"]\nn: 1.5\n---\n# Head *one*\n\nBody [l](/x) ![i](/i.png).\n',
    'no-title.md': 'Just text, "quoted" -- dashes.\n',
    'sub/table.md': '## T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```js\nlet x = 1;\n```\n',
    'sub/bad-utf8.md': Buffer.from([0x23, 0x20, 0x41, 0xff, 0x0a]),
    'é.md': '# Ünïcode — ok\n\nText.\n',
  };
  for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(src, f), c);
  return { dir, src, names: Object.keys(files) };
}

// Every page of names by path, one transform each; the results as JSON text, and the stats after.
async function transformAll(args, names) {
  const s = new Server(['--threads', '2', ...args]);
  const out = [];
  for (const file of names) out.push(JSON.stringify(await s.request('transform', { file })));
  const batch = (await s.request('transformBatch', { files: names.map((file) => ({ file })), progress: false })).result;
  const st = (await s.request('stats')).result;
  await s.close();
  return { out: out.map((t) => t.replace(/"id":\d+/, '')), batch, st };
}

function build(args) {
  const r = spawnSync(bin, ['build', '--quiet', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('--warm: a build --ndjson stream is in the cache before the first request, byte-identical to a cold render', async () => {
  const { dir, src, names } = sourceTree('warm');
  const stream = path.join(dir, 'pages.ndjson');
  build([src, '--ndjson', stream]);
  const cold = await transformAll(['--root', src, '--cache-bytes', '0'], names);
  const warm = await transformAll(['--root', src, '--warm', stream], names);
  assert.equal(warm.st.cache.warmed, names.length);
  assert.deepEqual(warm.out, cold.out, 'warmed results are the bytes of a cold render');
  // The first request of each page was a hit: nothing was rendered.
  assert.equal(warm.st.cache.misses, 0);
  assert.equal(warm.st.cache.hits, 2 * names.length);
  assert.equal(warm.batch.stats.cacheHits, names.length);
  assert.deepEqual(warm.batch.results, cold.batch.results);

  // A page changed since the build is not loaded (its bytes are hashed again).
  fs.writeFileSync(path.join(src, 'a.md'), '# Changed\n');
  const changed = await transformAll(['--root', src, '--warm', stream], ['a.md']);
  assert.equal(changed.st.cache.warmed, names.length - 1);
  assert.equal(changed.st.cache.warmStale, 1);
  assert.match(changed.out[0], /"title":"Changed"/);

  // A build with other options is refused (its results would differ), and so is a build's OUT.
  const smart = path.join(dir, 'smart.ndjson');
  build([src, '--ndjson', smart, '--smart']);
  for (const [w, why] of [[smart, /differ from what serve renders/], [dir, /is a directory/]]) {
    const r = spawnSync(bin, ['serve', '--quiet', '--root', src, '--warm', w], { input: '', encoding: 'utf8' });
    assert.equal(r.status, 64, r.stderr);
    assert.match(r.stderr, why);
  }
  const r = spawnSync(bin, ['serve', '--quiet', '--cache-bytes', '0', '--warm', stream], { input: '', encoding: 'utf8' });
  assert.equal(r.status, 64);
  assert.match(r.stderr, /needs the result cache/);
});

test('--cache-dir: results survive a restart, atomically written, bounded, only its own files touched', async () => {
  const { dir, src, names } = sourceTree('store');
  const store = path.join(dir, 'store');
  const cold = await transformAll(['--root', src, '--cache-bytes', '0'], names);
  // Files that are not the store's: never read, replaced or removed.
  fs.mkdirSync(store);
  fs.writeFileSync(path.join(store, 'notes.txt'), 'mine');
  const first = await transformAll(['--root', src, '--cache-dir', store], names);
  assert.deepEqual(first.out, cold.out);
  assert.equal(first.st.cache.dir.writes, names.length);
  const stored = () => fs.readdirSync(store).filter((f) => /^[0-9a-f]{64}\.fmdr$/.test(f));
  assert.equal(stored().length, names.length);
  assert.deepEqual(fs.readdirSync(store).filter((f) => !/^[0-9a-f]{64}\.fmdr$/.test(f)), ['notes.txt'],
    'no temporary file is left');

  // A restart: the first request of every page is a hit, from the directory, with the same bytes.
  const again = await transformAll(['--root', src, '--cache-dir', store], names);
  assert.deepEqual(again.out, cold.out);
  assert.equal(again.st.cache.misses, 0);
  assert.equal(again.st.cache.dir.hits, names.length);
  assert.equal(again.st.cache.dir.writes, 0);

  // A torn file and a symbolic link in a result's place: neither is served (the link is not
  // followed, its target stays); both pages render again, with the same bytes.
  const [f0, f1] = stored();
  const outside = path.join(dir, 'outside.txt');
  fs.writeFileSync(outside, fs.readFileSync(path.join(store, f1)));
  fs.writeFileSync(path.join(store, f0), fs.readFileSync(path.join(store, f0)).subarray(0, 20));
  fs.rmSync(path.join(store, f1));
  fs.symlinkSync(outside, path.join(store, f1));
  const damaged = await transformAll(['--root', src, '--cache-dir', store], names);
  assert.deepEqual(damaged.out, cold.out);
  assert.equal(damaged.st.cache.dir.hits, names.length - 2, 'the link is not indexed, the torn file not served');
  assert.equal(damaged.st.cache.dir.failures, 1, 'the torn file is dropped');
  assert.ok(fs.existsSync(outside));
  assert.equal(fs.readFileSync(path.join(store, 'notes.txt'), 'utf8'), 'mine');

  // Bounded: a bound below the store's size evicts the least recently used files at start.
  const total = stored().reduce((n, f) => n + fs.statSync(path.join(store, f)).size, 0);
  const bound = Math.floor(total / 2);
  const small = await transformAll(['--root', src, '--cache-dir', store, '--cache-dir-bytes', String(bound)], []);
  assert.ok(small.st.cache.dir.bytes <= bound, JSON.stringify(small.st.cache.dir));
  const left = stored().reduce((n, f) => n + fs.statSync(path.join(store, f)).size, 0);
  assert.ok(left <= bound && left > 0, `${left} <= ${bound}`);
  assert.equal(fs.readFileSync(path.join(store, 'notes.txt'), 'utf8'), 'mine');
});

test('etags and ifNoneMatch: a page the client holds is answered notModified, with no result', async () => {
  const files = pages(6);
  const s = new Server(['--threads', '2']);
  const first = (await s.request('transformBatch', { files, etags: true, progress: false })).result;
  const etags = first.results.map((r) => r.etag);
  for (const e of etags) assert.match(e, /^[0-9a-f]{64}$/);
  assert.equal(new Set(etags).size, files.length, 'one etag per distinct page');
  // Without etags: true, items carry none.
  const plain = (await s.request('transformBatch', { files, progress: false })).result;
  assert.ok(plain.results.every((r) => !('etag' in r)));
  // Page 2 edited: it renders; the rest are notModified, in every way of answering.
  const again = files.map((f, i) => ({ ...f, ifNoneMatch: etags[i] }));
  again[2] = { ...again[2], content: again[2].content + '\nEdited.\n' };
  // (With frames only unedited pages: this file's reader does not take a frame's raw HTML.)
  const held = files.map((f, i) => ({ ...f, ifNoneMatch: etags[i] }));
  for (const mode of [{}, { stream: true }, { frames: true }]) {
    const edited = !mode.frames;
    const id = s.post('transformBatch', { files: edited ? again : held, progress: false, etags: true, ...mode });
    const r = (await s.response(id)).result;
    const items = mode.stream || mode.frames
      ? s.messages.filter((m) => (m.method === 'batchItem' || m.method === 'batchFrame') && m.params.batchId === r.batchId)
        .flatMap((m) => (m.method === 'batchFrame' ? m.params.items : [(({ batchId, ...x }) => x)(m.params)]))
        .sort((a, b) => a.index - b.index)
      : r.results;
    assert.equal(r.stats.notModified, files.length - (edited ? 1 : 0), JSON.stringify(mode));
    assert.equal(r.stats.ok, files.length);
    assert.equal(items.length, files.length);
    for (const it of items) {
      if (it.index === 2 && edited) {
        assert.ok(it.result, 'the edited page renders');
        assert.notEqual(it.etag, etags[2]);
      } else {
        assert.deepEqual(it, { index: it.index, notModified: true, etag: etags[it.index] });
      }
    }
  }
  // Another options set: another key, so no page matches.
  const other = (await s.request('transformBatch', { files: again, progress: false, options: { smartPunctuation: true } })).result;
  assert.equal(other.stats.notModified, 0);
  const bad = await s.request('transformBatch', { files: [{ file: 'a.md', content: 'x', ifNoneMatch: 'nope' }] });
  assert.equal(bad.error.code, -32602);
  assert.match(bad.error.message, /ifNoneMatch/);
  await s.close();
});
