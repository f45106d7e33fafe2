// SPDX-License-Identifier: MIT
// Every line that build and serve write is UTF-8 JSON, whatever the names and texts they were
// given: a strict decoder (TextDecoder with fatal: true) reads each output whole, every line
// parses, and no line holds a raw U+2028 or U+2029 (JavaScript before ES2019 ends a string
// there). The inputs: a file name that is not UTF-8, names and texts with U+2028 and U+2029, a
// title taken from such a file name, and client strings with both in serve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const bin = process.env.FASTMD_BIN;
const strict = new TextDecoder('utf-8', { fatal: true });

// Decode @p bytes strictly and parse every line; @return the parsed lines.
function readLines(bytes, what) {
  const text = strict.decode(bytes); // throws on any byte that is not UTF-8
  assert.doesNotMatch(text, /[\u2028\u2029]/, `${what}: raw U+2028/U+2029`);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function withTmp(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-utf8-'));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('build: manifest, --ndjson and --summary-json are strict UTF-8 JSON', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    // Not UTF-8: refused, and its path repaired in the manifest.
    fs.writeFileSync(Buffer.concat([Buffer.from(src + '/bad-'), Buffer.from([0xff, 0xe9]), Buffer.from('.md')]),
      'no heading\n');
    // No title and no heading: the title comes from a name with U+2028 in it.
    fs.writeFileSync(path.join(src, 'line\u2028sep.md'), 'no heading here\n');
    fs.writeFileSync(path.join(src, 'text.md'), '---\ntitle: "a\u2029b"\n---\n# h\u2028i\n\nx\u2029y\n');
    const out = path.join(dir, 'out');
    const r = spawnSync(bin, ['build', '--quiet', '--summary-json', path.join(dir, 'summary.json'), src, out]);
    assert.equal(r.status, 1, String(r.stderr)); // the refused page fails the build
    const lines = readLines(fs.readFileSync(path.join(out, 'manifest.ndjson')), 'manifest');
    assert.equal(lines.length, 3);
    const bad = lines.find((l) => l.path.startsWith('bad-'));
    assert.equal(bad.path, 'bad-\ufffd\ufffd.md');
    assert.equal(bad.error.code, 'utf8');
    const named = lines.find((l) => l.path.startsWith('line'));
    assert.equal(named.title, 'Line\u2028sep');
    const text = lines.find((l) => l.path === 'text.md');
    assert.equal(text.title, 'a\u2029b');
    readLines(fs.readFileSync(path.join(dir, 'summary.json')), 'summary');

    const nd = path.join(dir, 'pages.ndjson');
    const n = spawnSync(bin, ['build', '--quiet', '--ndjson', nd, src]);
    assert.equal(n.status, 1, String(n.stderr));
    const pages = readLines(fs.readFileSync(nd), 'ndjson');
    assert.equal(pages.length, 3);
    assert.ok(pages.find((l) => l.path === 'text.md').html.includes('x\u2029y'));
  }));

test('serve: every response is strict UTF-8 JSON, ids and titles included', () =>
  withTmp(async (dir) => {
    fs.writeFileSync(path.join(dir, 'line\u2028sep.md'), 'no heading\n');
    const proc = spawn(bin, ['serve', '--quiet', '--root', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    const closed = new Promise((resolve) => proc.on('close', resolve));
    const out = [];
    proc.stdout.on('data', (d) => out.push(d));
    const send = (m) => proc.stdin.write(JSON.stringify(m) + '\n');
    send({ jsonrpc: '2.0', id: 'a\u2028b', method: 'ping' });
    send({ jsonrpc: '2.0', id: 2, method: 'transform', params: { file: 'line\u2028sep.md' } });
    send({ jsonrpc: '2.0', id: 3, method: 'transform', params: { content: '# t\u2029\n\nbody\u2028\n' } });
    send({ jsonrpc: '2.0', id: 4, method: 'x'.repeat(199) + '\u00e9\u2028' });
    send({ jsonrpc: '2.0', id: 5, method: 'transform', params: { file: 'y'.repeat(199) + '\u00e9.md' } });
    proc.stdin.end();
    assert.equal(await closed, 0);
    const msgs = readLines(Buffer.concat(out), 'serve');
    assert.equal(msgs.find((m) => m.id === 'a\u2028b').result !== undefined, true);
    assert.equal(msgs.find((m) => m.id === 2).result.metadata.title, 'Line\u2028sep');
    assert.ok(msgs.find((m) => m.id === 3).result.html.includes('body\u2028'));
    assert.ok(msgs.find((m) => m.id === 4).error);
    assert.ok(msgs.find((m) => m.id === 5).error);
  }));
