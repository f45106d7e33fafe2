// SPDX-License-Identifier: MIT
// Honest counts: special files named like pages and ".MD" names are reported (one warning per
// kind with its count, every path with --verbose), a page whose name is not UTF-8 is refused as a
// page error, --max-memory below what the threads need is warned about, and the thread count is
// the same with OMP_PLACES, OMP_PROC_BIND or GOMP_CPU_AFFINITY set as without.
//   node --test tests/cli/durable-counts.test.mjs   (FASTMD_BIN=path/to/fastmd)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');
const examples = path.join(repo, 'examples');

/* The environment without any thread-count or OpenMP placement variable. */
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of ['FASTMD_WORKERS', 'OMP_NUM_THREADS', 'OMP_PLACES', 'OMP_PROC_BIND',
    'GOMP_CPU_AFFINITY']) delete env[k];
  return { ...env, ...extra };
}

function run(args, extraEnv) {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 26, env: cleanEnv(extraEnv) });
  if (r.error) throw r.error;
  return r;
}

function withTmp(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-counts-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('special files named like pages and .MD names: one warning per kind, --verbose lists each', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'page.md'), '# A page\n');
    for (const n of ['a.md', 'b.markdown', 'c.md']) {
      assert.equal(spawnSync('mkfifo', [path.join(src, n)]).status, 0);
    }
    fs.symlinkSync('/dev/zero', path.join(src, 'zero.md'));
    fs.writeFileSync(path.join(src, 'UPPER.MD'), '# upper\n');
    fs.writeFileSync(path.join(src, 'Mixed.Markdown'), '# mixed\n');
    const r = run(['build', src, path.join(dir, 'out')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /4 paths: named like a page but not a regular file, skipped/);
    assert.match(r.stderr, /2 paths: extension is not lower-case .md or .markdown/);
    assert.match(r.stderr, /1 page, 0 failed/);
    const v = run(['build', '--verbose', src, path.join(dir, 'out2')]);
    assert.equal(v.status, 0, v.stderr);
    for (const n of ['a.md', 'b.markdown', 'c.md', 'zero.md', 'UPPER.MD', 'Mixed.Markdown']) {
      assert.match(v.stderr, new RegExp(`/${n.replace('.', '\\.')}: warning: `), n);
    }
  }));

test('a page whose name is not UTF-8 is refused as a page error, never renamed', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'fine.md'), '# fine\n');
    const bad = Buffer.concat([Buffer.from(src + '/bad-'), Buffer.from([0xff, 0xfe]), Buffer.from('.md')]);
    fs.writeFileSync(bad, '# bad name\n');
    const r = run(['build', src, out]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /path is not valid UTF-8: page refused/);
    const lines = fs.readFileSync(path.join(out, 'manifest.ndjson'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    const refused = lines.find((l) => l.path !== 'fine.md');
    assert.equal(refused.status, 'error');
    assert.equal(refused.error.code, 'utf8');
    const written = fs.readdirSync(out, { encoding: 'buffer' }).map((b) => b.toString('latin1'));
    assert.deepEqual(written.filter((n) => n.endsWith('.html')), ['fine.html']);
  }));

test('--max-memory below what the threads need is warned about', () =>
  withTmp((dir) => {
    const r = run(['build', '--threads', '2', '--max-memory', '1M', examples, path.join(dir, 'out')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /--max-memory 1048576 bytes is below what 2 threads need at least/);
    const ok = run(['build', '--threads', '2', '--max-memory', '1G', examples, path.join(dir, 'o2')]);
    assert.doesNotMatch(ok.stderr, /is below what/);
  }));

test('OMP_PLACES=cores, OMP_PROC_BIND and GOMP_CPU_AFFINITY give the same thread count', () =>
  withTmp((dir) => {
    const threads = (env, k) => {
      const r = run(['build', '--ndjson', path.join(dir, `${k}.ndjson`), examples], env);
      assert.equal(r.status, 0, r.stderr);
      const m = / (\d+) threads\n/.exec(r.stderr);
      assert.ok(m, r.stderr);
      return +m[1];
    };
    const base = threads({}, 'plain');
    const cpus = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
    assert.equal(threads({ OMP_PLACES: 'cores' }, 'places'), base);
    assert.equal(threads({ OMP_PLACES: 'cores', OMP_PROC_BIND: 'close' }, 'bind'), base);
    assert.equal(threads({ OMP_PROC_BIND: 'true' }, 'bindonly'), base);
    assert.equal(threads({ GOMP_CPU_AFFINITY: `0-${cpus - 1}` }, 'gomp'), base);
  }));

test('--summary-json counts rendered, unchanged, not read, removed, failed and skipped kinds', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out');
    fs.mkdirSync(src);
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(src, `p${i}.md`), `# Page ${i}\n`);
    fs.writeFileSync(path.join(src, 'bad.md'), '---\ntitle: [unclosed\n---\nx\n');
    fs.writeFileSync(path.join(src, 'UPPER.MD'), '# upper\n');
    spawnSync('mkfifo', [path.join(src, 'fifo.md')]);
    const summary = () => JSON.parse(fs.readFileSync(path.join(dir, 's.json'), 'utf8'));
    const a = run(['build', '--summary-json', path.join(dir, 's.json'), src, out]);
    assert.equal(a.status, 1, a.stderr);
    let s = summary();
    assert.equal(s.pages, 7);
    assert.equal(s.failed, 1);
    assert.equal(s.rendered, 7);
    assert.equal(s.unchanged, 0);
    assert.equal(s.removed, 0);
    assert.equal(s.resumed, false);
    assert.equal(s.skipped.special, 1);
    assert.equal(s.skipped.nameCase, 1);
    assert.equal(s.skipped.linkOutside, 0);
    assert.equal(s.nonUtf8Names, 0);
    // Edit one page, remove one.
    fs.writeFileSync(path.join(src, 'p0.md'), '# Edited\n');
    fs.rmSync(path.join(src, 'p5.md'));
    const b = run(['build', '--summary-json', path.join(dir, 's.json'), src, out]);
    assert.equal(b.status, 1, b.stderr);
    s = summary();
    assert.equal(s.pages, 6);
    assert.equal(s.rendered, 1);
    assert.equal(s.unchanged, 5);
    assert.equal(s.removed, 1);
    // Pages changed within 2 s of the last build are racy (read again): not read is at most
    // the unchanged ones (a test cannot age a ctime).
    assert.ok(Number.isInteger(s.notRead) && s.notRead <= s.unchanged, `notRead ${s.notRead}`);
    // --ndjson builds keep no state: no incremental counts.
    const n = run(['build', '--ndjson', path.join(dir, 'x.ndjson'), '--summary-json',
      path.join(dir, 's.json'), src]);
    assert.equal(n.status, 1, n.stderr);
    assert.equal(summary().rendered, undefined);
  }));
