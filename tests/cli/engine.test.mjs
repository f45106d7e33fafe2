// SPDX-License-Identifier: MIT
// The parallel engine end to end: identical output at 1, 2, 3 and 7 threads with and without
// windows, the NDJSON stream, --stats and --summary-json, profiles, topology and bench, 10,000
// pages, and a windowed run whose peak RSS (measured by the kernel, getrusage) stays under the
// --max-memory budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { files, sameTree } from './tree.mjs';

const bin = process.env.FASTMD_BIN;
// FASTMD_TEST_SHM: the ctest run's own folder on /dev/shm (tests/hygiene checks it is left empty).
const tmpRoot = process.env.FASTMD_TEST_SHM || (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());

function run(args, opts = {}) {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.error) throw r.error;
  return r;
}

// Every folder a test makes is removed when the process exits (/dev/shm is RAM).
const made = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(tag) {
  const d = fs.mkdtempSync(path.join(tmpRoot, `fastmd-engine-${tag}-`));
  made.push(d);
  return d;
}

// A file beside the folder `dir` (DIR + suffix), removed with the folders at exit.
function sibling(dir, suffix) {
  const f = path.join(dir, '..', path.basename(dir) + suffix);
  made.push(f);
  return f;
}

// A deterministic pseudo-random generator, so the generated corpus is the same on every run.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// n pages in nested folders, sizes from a few bytes to ~30 KB, with front matter, tables, code,
// lists, links, a broken page and an invalid UTF-8 page.
function generate(dir, n, seed = 1, bigEvery = 97) {
  const rand = rng(seed);
  for (let i = 0; i < n; i++) {
    const sub = path.join(dir, `d${i % 13}`, `e${i % 5}`);
    fs.mkdirSync(sub, { recursive: true });
    let md = '';
    if (i % 3 === 0) md += `---\ntitle: Page ${i}\ntags: [a, b]\nn: ${i}\n---\n`;
    md += `# Heading ${i}\n\n`;
    const paras = i % bigEvery === 0 ? 400 : Math.floor(rand() * 12);
    for (let p = 0; p < paras; p++) {
      md += `Paragraph ${p} with *emphasis*, \`code\` and a [link](https://example.com/${i}/${p}).\n\n`;
      if (p % 5 === 0) md += `| a | b |\n|---|---|\n| ${p} | ${i} |\n\n`;
      if (p % 7 === 0) md += '```js\nconsole.log(1)\n```\n\n- [x] done\n- [ ] open\n\n## Section\n\n';
    }
    let bytes = Buffer.from(md);
    if (i === 17) bytes = Buffer.from('---\ntitle: [broken\n---\n# Broken\n');
    if (i === 23) bytes = Buffer.concat([Buffer.from('# Bad\n\n'), Buffer.from([0xff, 0x41, 0x0a])]);
    fs.writeFileSync(path.join(sub, `p${i}.md`), bytes);
  }
}

const src = tmp('src');
generate(src, 600, 1, 12); // ~2.5 MB: 50 pages of ~45 KB among small ones
const srcBytes = files(src).reduce((s, f) => s + fs.statSync(path.join(src, f)).size, 0);

test('identical output at 1, 2, 3 and 7 threads, with and without windows', () => {
  const ref = tmp('ref');
  const r1 = run(['build', '--threads', '1', src, ref]);
  assert.equal(r1.status, 1, r1.stderr); // the broken page
  const budget = '1M'; // well below the corpus: windows of the 1 MiB minimum
  assert.ok(srcBytes > 2 * (1 << 20), `corpus ${srcBytes} bytes`);
  for (const threads of ['1', '2', '3', '7']) {
    for (const extra of [[], ['--max-memory', budget, '--queue-size', '2']]) {
      const out = tmp(`t${threads}`);
      const json = sibling(out, '.json');
      const r = run(['build', '--threads', threads, '--summary-json', json, ...extra, src, out]);
      assert.equal(r.status, 1, r.stderr);
      sameTree(ref, out);
      const summary = JSON.parse(fs.readFileSync(json, 'utf8'));
      assert.equal(summary.threads, Number(threads));
      if (extra.length) assert.ok(summary.windows > 1, `windows: ${summary.windows}`);
      else assert.equal(summary.windows, 1);
      fs.rmSync(out, { recursive: true });
    }
  }
  fs.rmSync(ref, { recursive: true });
});

test('the schedules agree: lpt and plain dynamic give the same bytes', () => {
  const a = tmp('lpt');
  const b = tmp('dyn');
  run(['build', '--schedule', 'lpt', '--threads', '2', src, a]);
  run(['build', '--schedule', 'dynamic', '--threads', '2', src, b]);
  sameTree(a, b);
});

test('a NUMA split (synthetic 4-node topology) gives the same tree, every node working', () => {
  const a = tmp('flat');
  const b = tmp('numa');
  const json = path.join(tmp('numa-json'), 's.json');
  assert.equal(run(['build', '--threads', '1', src, a]).status, 1);
  const env = { ...process.env, FASTMD_TOPOLOGY: 'pack:2 numa:2 core:2 pu:1' };
  const r = run(['build', '--threads', '4', '--summary-json', json, src, b], { env });
  assert.equal(r.status, 1, r.stderr);
  sameTree(a, b);
  const s = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(s.threads, 4);
  for (const t of s.perThread) assert.ok(t.pages > 0, `thread ${t.thread} rendered no page`);
  const topo = run(['topology'], { env });
  assert.match(topo.stdout, /4 NUMA nodes/);
  assert.match(topo.stdout, /not this machine/);
});

test('--writer-pool writes the same tree', () => {
  const a = tmp('inline');
  const b = tmp('pool');
  assert.equal(run(['build', '--threads', '2', src, a]).status, 1);
  assert.equal(run(['build', '--threads', '2', '--writer-pool', '--max-memory', '1M', src, b]).status, 1);
  sameTree(a, b);
});

test('--ndjson streams every result in path order, with the same HTML as the tree', () => {
  const tree = tmp('tree');
  run(['build', '--threads', '2', src, tree]);
  const r = run(['build', '--threads', '2', '--ndjson', '-', src]);
  assert.equal(r.status, 1);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const manifest = fs.readFileSync(path.join(tree, 'manifest.ndjson'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 600);
  assert.deepEqual(lines.map((l) => l.path), manifest.map((m) => m.path));
  for (let i = 0; i < lines.length; i++) {
    const { html, ...meta } = lines[i];
    const { output, ...want } = manifest[i];
    assert.deepEqual({ ...meta, output: undefined }, { ...want, output: undefined }, lines[i].path);
    if (manifest[i].status === 'ok') {
      assert.equal(html, fs.readFileSync(path.join(tree, output), 'utf8'), lines[i].path);
    } else {
      assert.ok(!fs.existsSync(path.join(tree, output)), `a failed page has no HTML: ${output}`);
    }
  }
  // To a file: written whole, then renamed into place.
  const file = path.join(tmp('nd'), 'out.ndjson');
  const f = run(['build', '--ndjson', file, src]);
  assert.equal(f.status, 1);
  assert.equal(fs.readFileSync(file, 'utf8'), r.stdout);
});

test('--stats and --summary-json report threads, phases and utilisation', () => {
  const out = tmp('stats');
  const json = sibling(out, '-summary.json');
  const r = run(['build', '--threads', '2', '--stats', '--summary-json', json, src, out]);
  assert.match(r.stderr, /phases: enumerate [\d.]+ s, load [\d.]+ s/);
  assert.match(r.stderr, /CPU utilisation: [\d.]+%/);
  // --progress: a line rewritten in place (\r) with pages done, total and rate; none by default
  // when stderr is not a terminal.
  const p = run(['build', '--threads', '2', '--progress', '--max-memory', '1M', src, tmp('progress')]);
  assert.match(p.stderr, /\rfastmd: \d+\/600 pages \(\d+%\), [\d.]+ s, \d+ pages\/s/);
  assert.doesNotMatch(r.stderr, /\/600 pages \(/);
  const s = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(s.pages, 600);
  assert.equal(s.failed, 1);
  assert.equal(s.perThread.length, 2);
  assert.equal(s.perThread.reduce((n, t) => n + t.pages, 0), 600);
  for (const k of ['enumerate', 'load', 'render', 'write']) assert.equal(typeof s.phases[k], 'number');
  assert.ok(s.cpuUtilisation > 0 && s.cpuUtilisation <= 1.01, String(s.cpuUtilisation));
});

test('--profile sets threads and memory; explicit flags win', () => {
  const json = path.join(tmp('prof'), 's.json');
  run(['build', '--profile', 'low', '--summary-json', json, src, tmp('p1')]);
  assert.equal(JSON.parse(fs.readFileSync(json, 'utf8')).threads, 1); // cores / 4, at least 1
  run(['build', '--profile', 'low', '--threads', '2', '--summary-json', json, src, tmp('p2')]);
  assert.equal(JSON.parse(fs.readFileSync(json, 'utf8')).threads, 2);
  assert.equal(run(['build', '--profile', 'extreme', src, tmp('p3')]).status, 64);
  const env = { ...process.env, FASTMD_WORKERS: '2' };
  run(['build', '--threads', 'auto', '--summary-json', json, src, tmp('p4')], { env });
  assert.ok(JSON.parse(fs.readFileSync(json, 'utf8')).threads >= 1);
});

test('topology prints the machine and the plan; --report-affinity where threads ran', () => {
  const r = run(['topology', '--threads', '2', '--report-affinity']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^topology: \d+ packages?, \d+ NUMA nodes?, \d+ cores?, \d+ PUs?/m);
  assert.match(r.stdout, /plan: 2 threads/);
  assert.match(r.stdout, /thread 1: core \d+/);
  assert.match(r.stdout, /affinity:/);
  assert.match(r.stdout, /ran on PU \d+/);
  const nb = run(['topology', '--no-bind'], { env: { ...process.env, OMP_PROC_BIND: 'close' } });
  assert.equal(nb.status, 0);
  assert.doesNotMatch(nb.stdout, /plan: .* bound close/);
});

test('bench prints the sweep, Karp-Flatt, the Amdahl fit and JSON', () => {
  const json = path.join(tmp('bench'), 'b.json');
  const r = run(['bench', src, '--threads', '1,2', '--repeat', '2', '--kernel-only', '--compare-single', '--json', json]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /threads +median s +min-max s +speedup +eff +karp-flatt +cpu +pages\/s +p50 us +p95 us +p99 us/);
  assert.match(r.stdout, /Amdahl fit: serial fraction f = [01]\.\d+( \(the fit gave -?[\d.]+, clamped to \[0, 1\]\))?; predicted speedup 8: [\d.]+x, 16: [\d.]+x, 64: [\d.]+x, 256: [\d.]+x/);
  assert.match(r.stdout, /without the parallel machinery/);
  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.deepEqual(j.rows.map((x) => x.threads), [1, 2]);
  assert.equal(j.rows[0].speedup, 1);
  assert.ok(j.amdahlSerialFraction >= 0 && j.amdahlSerialFraction <= 1);
  for (const row of j.rows) assert.ok(row.p50 <= row.p95 && row.p95 <= row.p99);

  const e2e = run(['bench', src, '--threads', '1', '--repeat', '1', '--io-floor', '--out', path.join(tmp('bo'), 'o')]);
  assert.equal(e2e.status, 0, e2e.stderr);
  assert.match(e2e.stdout, /floor s e2e\/floor/);
});

test('10,000 pages, and a windowed run stays under its memory budget', () => {
  const big = tmp('big');
  generate(big, 10000, 7, 10); // 10,000 pages, every 10th about 50 KB: ~45 MB
  const total = files(big).reduce((s, f) => s + fs.statSync(path.join(big, f)).size, 0);
  const budget = 16 << 20;
  assert.ok(total > 2 * budget, `the batch (${total} bytes) must be well over the budget`);

  const out = tmp('big-out');
  const json = sibling(out, '.json');
  const r = run(['build', '--threads', '2', '--max-memory', String(budget), '--summary-json', json, big, out]);
  assert.equal(r.status, 1, r.stderr); // pages 17 and 23 are broken on purpose
  const s = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(s.pages, 10000);
  assert.equal(s.failed, 1);
  assert.ok(s.windows > 2, `windows ${s.windows}`);
  // Under sanitizers (FMD_SANITIZED=1) memory is not the program's own: see the comparison below.
  if (process.env.FMD_SANITIZED !== '1') {
    assert.ok(s.peakRssBytes < budget, `peak RSS ${s.peakRssBytes} >= budget ${budget}: ${JSON.stringify(s)}`);
  }
  const lines = fs.readFileSync(path.join(out, 'manifest.ndjson'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 10000);
  const paths = lines.map((l) => JSON.parse(l).path);
  assert.deepEqual(paths, [...paths].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b)))));

  // Without a budget the whole batch is one window, and its RSS is well above the windowed run's.
  const out2 = tmp('big-out2');
  const json2 = sibling(out2, '.json');
  run(['build', '--threads', '2', '--summary-json', json2, big, out2]);
  const s2 = JSON.parse(fs.readFileSync(json2, 'utf8'));
  assert.equal(s2.windows, 1);
  assert.ok(s2.peakRssBytes > s.peakRssBytes, `${s2.peakRssBytes} vs ${s.peakRssBytes}`);
  sameTree(out, out2);
  for (const d of [big, out, out2]) fs.rmSync(d, { recursive: true });
});
