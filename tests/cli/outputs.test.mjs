// SPDX-License-Identifier: MIT
// Output paths that the user names are never renamed over unless they are regular files:
// devices, FIFOs and symbolic links are written through; a full device fails with 74; a
// directory or a missing folder fails with 73 before any page is rendered; `bench --out DIR`
// works in a folder of its own and leaves the user's files in DIR alone.
//   node --test tests/cli/outputs.test.mjs   (FASTMD_BIN=path/to/fastmd)
//
// As root the device tests use device nodes made for the test (mknod) in a temporary folder,
// never the system's /dev/null or /dev/full: a regression must not be able to replace them. A
// user who is not root cannot replace anything in /dev, so there the system's nodes are used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');
const examples = path.join(repo, 'examples');
const root = process.getuid() === 0;

function run(args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  return r;
}

function withTmp(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-outputs-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/* A character device like /dev/null (1,3) or /dev/full (1,7): made in @p dir as root. */
function device(dir, name, minor) {
  if (!root) return `/dev/${name}`;
  const p = path.join(dir, name);
  const r = spawnSync('mknod', [p, 'c', '1', String(minor)]);
  assert.equal(r.status, 0, `mknod ${p}`);
  return p;
}

function isCharDevice(p) {
  return fs.lstatSync(p).isCharacterDevice();
}

test('--ndjson and --summary-json into a device write through it, never replace it', () =>
  withTmp((dir) => {
    const nul = device(dir, 'null', 3);
    const r = run(['build', '--quiet', examples, '--ndjson', nul]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(isCharDevice(nul), `${nul} is still a character device`);
    const s = run(['build', '--quiet', examples, path.join(dir, 'out'), '--summary-json', nul]);
    assert.equal(s.status, 0, s.stderr);
    assert.ok(isCharDevice(nul));
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.includes('.tmp.')),
      [],
      'no temporary file beside the device',
    );
  }));

test('a full device fails with 74 and names the path', () =>
  withTmp((dir) => {
    const full = device(dir, 'full', 7);
    const r = run(['build', '--quiet', examples, '--ndjson', full]);
    assert.equal(r.status, 74, r.stderr);
    assert.match(r.stderr, /No space left on device/);
    assert.ok(r.stderr.includes(full));
    assert.ok(isCharDevice(full));
    const s = run(['build', '--quiet', examples, path.join(dir, 'out'), '--summary-json', full]);
    assert.equal(s.status, 74, s.stderr);
    assert.ok(s.stderr.includes(full));
    assert.ok(isCharDevice(full));
  }));

test('--ndjson into a FIFO streams to its reader and the FIFO stays', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-outputs-'));
  try {
    const fifo = path.join(dir, 'pipe');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const reader = spawn('cat', [fifo]);
    let text = '';
    reader.stdout.setEncoding('utf8').on('data', (d) => (text += d));
    const done = new Promise((resolve) => reader.on('close', resolve));
    const r = run(['build', '--quiet', examples, '--ndjson', fifo]);
    assert.equal(r.status, 0, r.stderr);
    await done;
    const lines = text.split('\n').filter((l) => l !== '');
    const want = run(['build', '--quiet', examples, '--ndjson', '-']).stdout;
    assert.equal(text, want, 'the reader got exactly the stream');
    assert.ok(lines.length > 0);
    assert.ok(fs.lstatSync(fifo).isFIFO(), 'still a FIFO');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--ndjson through a symbolic link writes its target and keeps the link', () =>
  withTmp((dir) => {
    const target = path.join(dir, 'real.ndjson');
    fs.writeFileSync(target, 'old contents that are longer than nothing\n'.repeat(100));
    const link = path.join(dir, 'link.ndjson');
    fs.symlinkSync(target, link);
    const r = run(['build', '--quiet', examples, '--ndjson', link]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    const want = run(['build', '--quiet', examples, '--ndjson', '-']).stdout;
    assert.equal(fs.readFileSync(target, 'utf8'), want);
  }));

test('a regular --ndjson file is replaced atomically', () =>
  withTmp((dir) => {
    const f = path.join(dir, 'x.ndjson');
    fs.writeFileSync(f, 'old\n');
    const ino = fs.statSync(f).ino;
    const r = run(['build', '--quiet', examples, '--ndjson', f]);
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(fs.statSync(f).ino, ino, 'a new file was renamed into place');
    assert.match(fs.readFileSync(f, 'utf8'), /^\{"path":/);
  }));

test('a directory or a missing folder as the output file fails with 73 before rendering', () =>
  withTmp((dir) => {
    const d = run(['build', '--quiet', examples, '--ndjson', dir]);
    assert.equal(d.status, 73, d.stderr);
    assert.match(d.stderr, /Is a directory/);
    const m = run(['build', '--quiet', examples, '--ndjson', path.join(dir, 'no/x.ndjson')]);
    assert.equal(m.status, 73, m.stderr);
    const out = path.join(dir, 'out');
    const s = run(['build', '--quiet', examples, out, '--summary-json', path.join(dir, 'no/s.json')]);
    assert.equal(s.status, 73, s.stderr);
    assert.ok(!fs.existsSync(out), 'nothing was built before the check');
  }));

test('bench --out DIR leaves the files already in DIR alone', () =>
  withTmp((dir) => {
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'precious');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub/also.md'), '# mine');
    const r = run(['bench', examples, '--threads', '1', '--repeat', '1', '--out', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['keep.txt', 'sub']);
    assert.equal(fs.readFileSync(path.join(dir, 'keep.txt'), 'utf8'), 'precious');
    assert.equal(fs.readFileSync(path.join(dir, 'sub/also.md'), 'utf8'), '# mine');
    // --out naming the source tree itself: the sources survive.
    const src = path.join(dir, 'src');
    fs.cpSync(examples, src, { recursive: true });
    const before = spawnSync('find', [src, '-type', 'f'], { encoding: 'utf8' }).stdout;
    const s = run(['bench', src, '--threads', '1', '--repeat', '1', '--out', src]);
    assert.equal(s.status, 0, s.stderr);
    assert.equal(spawnSync('find', [src, '-type', 'f'], { encoding: 'utf8' }).stdout, before);
  }));
