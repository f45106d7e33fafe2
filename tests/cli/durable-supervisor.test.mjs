// SPDX-License-Identifier: MIT
// Crash and hang isolation of `fastmd build`: the engine runs in a worker process under a
// supervisor. A worker killed with SIGSEGV or SIGKILL in the middle of the corpus is replaced and
// the build completes, each page once in the manifest, byte-identical to a clean build; a page
// that crashes its worker (fault injection) fails with "crashed", one that hangs with "timeout",
// and every other page is as in a clean build. The fault injection exists only in test builds
// (FMD_TEST_HOOKS): without it those tests are skipped with a reason.
//   node --test tests/cli/durable-supervisor.test.mjs   (FASTMD_BIN=path/to/fastmd)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner, snapshot, start, withTmp as withTmpIn } from './tree.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');
const run = runner(bin);
const withTmp = (fn) => withTmpIn('fastmd-supervisor', fn);
const hooks = /^(1|on|true)$/i.test(process.env.FASTMD_TEST_HOOKS ?? '');
const noHooks = hooks ? false : 'the binary has no fault injection (FMD_TEST_HOOKS off)';
// Under AddressSanitizer (the asan-ubsan preset) a SIGSEGV, sent by this test or raised by the
// crash hook, is caught by ASan, which reports it and exits 1: the supervisor would see an exit,
// not the death by signal that these tests are about. handle_segv=0 leaves SIGSEGV to the kernel,
// for the children of this file only; a release build ignores ASAN_OPTIONS.
process.env.ASAN_OPTIONS = [process.env.ASAN_OPTIONS, 'handle_segv=0'].filter(Boolean).join(':');

function makeTree(src, n) {
  for (let i = 0; i < n; i++) {
    const dir = path.join(src, `d${i % 5}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `p${i}.md`),
      `---\ntitle: Page ${i}\n---\n# Heading ${i}\n\n` + 'Some *words*. '.repeat(1 + (i % 30)));
  }
}

const manifestLines = (out) =>
  fs.readFileSync(path.join(out, 'manifest.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

/* The tree @p out equals @p clean, except page @p except (its line and its HTML file). */
function assertSameExcept(out, clean, except) {
  const a = snapshot(out), b = snapshot(clean);
  const html = except ? except.replace(/\.md$/, '.html') : null;
  for (const [k, v] of b) {
    if (k === html || k === 'manifest.ndjson') continue;
    assert.ok(a.has(k), `${k} missing`);
    assert.ok(v.equals(a.get(k)), `${k} differs`);
  }
  if (html) assert.ok(!a.has(html), `${html} should not exist`);
  const la = fs.readFileSync(path.join(out, 'manifest.ndjson'), 'utf8').split('\n');
  const lb = fs.readFileSync(path.join(clean, 'manifest.ndjson'), 'utf8').split('\n');
  assert.equal(la.length, lb.length);
  for (let i = 0; i < la.length; i++)
    if (!except || !la[i].includes(`"path":"${except}"`)) assert.equal(la[i], lb[i]);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* The worker's pid: the supervisor's only child. */
function workerOf(pid) {
  try {
    const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return kids ? Number(kids.split(/\s+/)[0]) : 0;
  } catch {
    return 0;
  }
}

function countHtml(dir) {
  let n = 0;
  const walk = (d) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.html')) n++;
    }
  };
  walk(dir);
  return n;
}

for (const signal of ['SIGSEGV', 'SIGKILL']) {
  test(`a worker killed with ${signal} mid-corpus: the build completes, each page once`,
    { skip: noHooks }, () =>
      withTmp(async (dir) => {
        const src = path.join(dir, 'src'), out = path.join(dir, 'out');
        const clean = path.join(dir, 'clean');
        makeTree(src, 300);
        assert.equal(run(['build', '--threads', '2', '--no-supervisor', src, clean]).status, 0);
        // 5 ms a page on 2 threads: about 0.75 s of work, so the kill lands mid-corpus.
        const child = start(bin, ['build', '--threads', '2', src, out],
          { ...process.env, FASTMD_TEST_PAGE_DELAY_MS: '5' });
        // Wait for a visible state: some pages written, and the worker's pid known.
        let worker = 0;
        for (let i = 0; i < 2000 && (countHtml(out) < 20 || !worker); i++) {
          await sleep(5);
          worker = workerOf(child.pid);
        }
        assert.ok(worker > 0, 'worker found');
        assert.ok(countHtml(out) < 300, 'killed before the end');
        process.kill(worker, signal);
        const { code, stderr } = await child.done;
        assert.equal(code, 0, stderr);
        assert.match(stderr, /died of/);
        const lines = manifestLines(out);
        const paths = lines.map((l) => l.path);
        assert.equal(paths.length, 300);
        assert.equal(new Set(paths).size, 300);
        assert.ok(lines.every((l) => l.status === 'ok'));
        assertSameExcept(out, clean, null);
        // A rebuild afterwards trusts what the workers recorded.
        const again = run(['build', '--threads', '2', src, out]);
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stderr, / 0 rendered, 300 unchanged/);
      }));
}

test('a page that crashes its worker twice fails with "crashed"; the rest is a clean build',
  { skip: noHooks }, () =>
    withTmp((dir) => {
      const src = path.join(dir, 'src'), out = path.join(dir, 'out');
      const clean = path.join(dir, 'clean');
      makeTree(src, 80);
      assert.equal(run(['build', '--threads', '2', src, clean]).status, 0);
      const bad = 'd2/p7.md';
      const r = run(['build', '--threads', '2', src, out], { FASTMD_TEST_CRASH_PAGE: bad });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /retrying it alone/);
      assert.match(r.stderr, /fails with "crashed"/);
      const line = manifestLines(out).find((l) => l.path === bad);
      assert.equal(line.status, 'error');
      assert.equal(line.error.code, 'crashed');
      assertSameExcept(out, clean, bad);
      // Not recorded: the next build (no fault now) renders it, and only it.
      const next = run(['build', '--threads', '2', src, out]);
      assert.equal(next.status, 0, next.stderr);
      assert.match(next.stderr, / 1 rendered, 79 unchanged/);
      assertSameExcept(out, clean, null);
    }));

test('a page that hangs past --page-timeout gets its worker killed and fails with "timeout"',
  { skip: noHooks }, () =>
    withTmp((dir) => {
      const src = path.join(dir, 'src'), out = path.join(dir, 'out');
      const clean = path.join(dir, 'clean');
      makeTree(src, 40);
      assert.equal(run(['build', '--threads', '2', src, clean]).status, 0);
      const bad = 'd1/p11.md';
      const r = run(['build', '--threads', '2', '--page-timeout', '0.2', src, out],
        { FASTMD_TEST_HANG_PAGE: bad });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /fails with "timeout"/);
      const line = manifestLines(out).find((l) => l.path === bad);
      assert.equal(line.error.code, 'timeout');
      assertSameExcept(out, clean, bad);
    }));

test('SIGTERM to the supervisor stops the worker cleanly: exit 143, and a rerun resumes',
  { skip: noHooks }, () =>
    withTmp(async (dir) => {
      const src = path.join(dir, 'src'), out = path.join(dir, 'out');
      const clean = path.join(dir, 'clean');
      makeTree(src, 200);
      assert.equal(run(['build', '--no-supervisor', src, clean]).status, 0);
      const child = start(bin, ['build', '--threads', '2', src, out],
        { ...process.env, FASTMD_TEST_PAGE_DELAY_MS: '5' });
      for (let i = 0; i < 2000 && countHtml(out) < 10; i++) await sleep(5);
      child.kill('SIGTERM');
      const { code, stderr } = await child.done;
      assert.equal(code, 143, stderr);
      assert.match(stderr, /interrupted by SIGTERM/);
      const r = run(['build', '--wait', src, out]);
      assert.equal(r.status, 0, r.stderr);
      assertSameExcept(out, clean, null);
    }));

test('--no-supervisor builds the same tree in one process', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src');
    makeTree(src, 30);
    const a = run(['build', '--no-supervisor', src, path.join(dir, 'a')]);
    const b = run(['build', src, path.join(dir, 'b')]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assertSameExcept(path.join(dir, 'a'), path.join(dir, 'b'), null);
  }));
