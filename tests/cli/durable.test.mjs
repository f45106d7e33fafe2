// SPDX-License-Identifier: MIT
// Durable builds, end to end: incremental rebuilds (no change renders 0 pages, an edit renders 1,
// a removed source removes its output, a changed option rebuilds all), the failed-page rule,
// kill -9 at several moments followed by a rerun that gives a tree byte-identical to a clean
// build with nothing left behind, SIGTERM/SIGINT, the lock (a second build exits 75 after the
// grace second, a lock released within it is waited for, --wait
// waits), zero pages (66) and the thread count under OMP_PLACES.
//   node --test tests/cli/durable.test.mjs   (FASTMD_BIN=path/to/fastmd)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner, sameTree as assertSameTree, start as startIn, withTmp as withTmpIn } from './tree.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');
const run = runner(bin);
const withTmp = (fn) => withTmpIn('fastmd-durable', fn);

/* A source tree of @p n pages in a few folders, each page a little different. */
function makeTree(src, n, seed = 0) {
  for (let i = 0; i < n; i++) {
    const dir = path.join(src, `d${i % 7}`, `s${i % 3}`);
    fs.mkdirSync(dir, { recursive: true });
    const body = `---\ntitle: Page ${i}\n---\n# Heading ${i}\n\n` +
      'Some *words* and `code`, [a link](https://example.com/x). '.repeat(1 + ((i + seed) % 40)) +
      `\n\n- item ${i}\n- item ${i + 1}\n`;
    fs.writeFileSync(path.join(dir, `p${i}.md`), body);
  }
}

/* The summary line's counts. */
function counts(stderr) {
  const m = /(\d+) pages, (\d+) failed, (\d+) rendered, (\d+) unchanged, (\d+) removed/.exec(stderr);
  assert.ok(m, `summary line in: ${stderr}`);
  return { pages: +m[1], failed: +m[2], rendered: +m[3], unchanged: +m[4], removed: +m[5] };
}

/* Files whose names fastmd's temporary files would have. */
function leftovers(dir) {
  const found = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (/^\.fastmd-tmp\.|\.tmp\.\d+/.test(e.name)) found.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return found;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const start = (args) => startIn(bin, args);

test('a rebuild with no change renders 0 pages and leaves every output (and its mtime) alone', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out');
    makeTree(src, 40);
    const a = run(['build', '--threads', '2', src, out]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(counts(a.stderr).rendered, 40);
    const page = path.join(out, 'd0/s0/p0.html');
    const m0 = fs.statSync(page).mtimeNs ?? fs.statSync(page, { bigint: true }).mtimeNs;
    const manifest0 = fs.readFileSync(path.join(out, 'manifest.ndjson'));
    const b = run(['build', '--threads', '2', src, out]);
    assert.equal(b.status, 0, b.stderr);
    const c = counts(b.stderr);
    assert.equal(c.rendered, 0);
    assert.equal(c.unchanged, 40);
    assert.equal(fs.statSync(page, { bigint: true }).mtimeNs, m0);
    assert.ok(fs.readFileSync(path.join(out, 'manifest.ndjson')).equals(manifest0));
    // --verify reads every page again and still renders none.
    const v = run(['build', '--verify', src, out]);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(counts(v.stderr).rendered, 0);
    // --force renders them all.
    const f = run(['build', '--force', src, out]);
    assert.equal(f.status, 0, f.stderr);
    assert.equal(counts(f.stderr).rendered, 40);
  }));

/* Wait until every file under @p dir is older than the 2 s "racy" window of a build started now,
 * so that a rebuild trusts their stat data (docs/builds.md, rule 2). */
async function pastRacyWindow(dir) {
  let newest = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else {
        const st = fs.statSync(f);
        newest = Math.max(newest, st.mtimeMs, st.ctimeMs);
      }
    }
  };
  walk(dir);
  while (Date.now() < newest + 2100) await sleep(newest + 2100 - Date.now());
}

/* Inode and mtime (ns) of a file: equal only if it was neither replaced nor written. */
function identity(file) {
  const st = fs.statSync(file, { bigint: true });
  return `${st.ino}:${st.mtimeNs}`;
}

test('a no-change rebuild leaves the manifest and the state as they are; an edit rewrites them', () =>
  withTmp(async (dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out'), clean = path.join(dir, 'clean');
    makeTree(src, 40);
    await pastRacyWindow(src);
    assert.equal(run(['build', '--threads', '2', src, out]).status, 0);
    const manifest = path.join(out, 'manifest.ndjson'), state = path.join(out, '.fastmd/state');
    const m0 = identity(manifest), s0 = identity(state), bytes0 = fs.readFileSync(manifest);
    const b = run(['build', '--threads', '2', src, out]);
    assert.equal(b.status, 0, b.stderr);
    assert.deepEqual(counts(b.stderr), { pages: 40, failed: 0, rendered: 0, unchanged: 40, removed: 0 });
    assert.equal(identity(manifest), m0, 'manifest written again');
    assert.equal(identity(state), s0, 'state written again');
    assert.ok(fs.readFileSync(manifest).equals(bytes0));
    assert.ok(!fs.existsSync(path.join(out, '.fastmd/journal')), 'a journal was left');
    assert.deepEqual(leftovers(out), []);
    // Nothing to render: no rendering thread was set up (nor a worker process forked).
    assert.match(b.stderr, / 0 threads\n/);

    // A manifest cut short by hand is not trusted: the rebuild writes it whole again.
    fs.truncateSync(manifest, 100);
    const t = run(['build', src, out]);
    assert.equal(t.status, 0, t.stderr);
    assert.equal(counts(t.stderr).rendered, 0);
    assert.ok(fs.readFileSync(manifest).equals(bytes0));

    // A journal (an interrupted run) makes the next build write the state again and remove it.
    fs.writeFileSync(path.join(out, '.fastmd/journal'), '');
    const j = run(['build', src, out]);
    assert.equal(j.status, 0, j.stderr);
    assert.ok(!fs.existsSync(path.join(out, '.fastmd/journal')));
    assert.notEqual(identity(state), s0);

    // One edited page: rendered, and the manifest and the state are written again, as a clean
    // build would write them.
    const s1 = identity(state), m1 = identity(manifest);
    fs.appendFileSync(path.join(src, 'd5/s2/p5.md'), '\nEdited once.\n');
    const e = run(['build', '--threads', '2', src, out]);
    assert.equal(e.status, 0, e.stderr);
    assert.equal(counts(e.stderr).rendered, 1);
    assert.match(e.stderr, / 2 threads\n/);
    assert.notEqual(identity(state), s1);
    assert.notEqual(identity(manifest), m1);
    assert.match(fs.readFileSync(manifest, 'utf8'), /p5\.html/);
    assert.equal(run(['build', src, clean]).status, 0);
    assertSameTree(out, clean);
    assert.deepEqual(leftovers(out), []);
  }));

test('an edit renders 1 page; the result equals a clean build', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out'), clean = path.join(dir, 'clean');
    makeTree(src, 30);
    assert.equal(run(['build', src, out]).status, 0);
    fs.appendFileSync(path.join(src, 'd3/s0/p3.md'), '\nOne more paragraph.\n');
    const r = run(['build', src, out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(counts(r.stderr).rendered, 1);
    assert.match(fs.readFileSync(path.join(out, 'd3/s0/p3.html'), 'utf8'), /One more paragraph/);
    assert.equal(run(['build', src, clean]).status, 0);
    assertSameTree(out, clean);
  }));

test('a removed source removes its output, and only files fastmd recorded', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out'), clean = path.join(dir, 'clean');
    makeTree(src, 20);
    assert.equal(run(['build', src, out]).status, 0);
    fs.writeFileSync(path.join(out, 'd1/mine.html'), 'a file of my own');
    fs.unlinkSync(path.join(src, 'd1/s1/p1.md'));
    const r = run(['build', src, out]);
    assert.equal(r.status, 0, r.stderr);
    const c = counts(r.stderr);
    assert.equal(c.removed, 1);
    assert.equal(c.rendered, 0);
    assert.ok(!fs.existsSync(path.join(out, 'd1/s1/p1.html')));
    assert.equal(fs.readFileSync(path.join(out, 'd1/mine.html'), 'utf8'), 'a file of my own');
    fs.unlinkSync(path.join(out, 'd1/mine.html'));
    assert.equal(run(['build', src, clean]).status, 0);
    assertSameTree(out, clean);
  }));

test('a changed option or rules file rebuilds every page', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out');
    makeTree(src, 12);
    const rules = path.join(dir, 'rules.json');
    fs.writeFileSync(rules, '[{"pattern":"words","replacement":"WORDS"}]');
    assert.equal(run(['build', '--rules', rules, src, out]).status, 0);
    const same = run(['build', '--rules', rules, src, out]);
    assert.equal(counts(same.stderr).rendered, 0);
    fs.writeFileSync(rules, '[{"pattern":"words","replacement":"Words"}]');
    const r = run(['build', '--rules', rules, src, out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(counts(r.stderr).rendered, 12);
    assert.match(fs.readFileSync(path.join(out, 'd0/s0/p0.html'), 'utf8'), /Words/);
    const h = run(['build', '--rules', rules, '--html5', src, out]);
    assert.equal(counts(h.stderr).rendered, 12);
  }));

test('a page that now fails has no HTML in OUT and its manifest line says why', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out');
    makeTree(src, 5);
    assert.equal(run(['build', src, out]).status, 0);
    const html = path.join(out, 'd2/s2/p2.html');
    assert.ok(fs.existsSync(html));
    fs.writeFileSync(path.join(src, 'd2/s2/p2.md'), '---\ntitle: [unclosed\n---\n# x\n');
    const r = run(['build', src, out]);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(!fs.existsSync(html), 'the old HTML of a failed page is removed');
    const lines = fs.readFileSync(path.join(out, 'manifest.ndjson'), 'utf8').trim().split('\n');
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.path === 'd2/s2/p2.md');
    assert.equal(line.status, 'error');
    assert.equal(line.error.code, 'frontmatter');
    // Unchanged and still failing: not rendered again, still counted as failed, still no file.
    const again = run(['build', src, out]);
    assert.equal(again.status, 1);
    assert.equal(counts(again.stderr).rendered, 0);
    assert.equal(counts(again.stderr).failed, 1);
    assert.ok(!fs.existsSync(html));
  }));

test('kill -9 at several moments, then a rerun: byte-identical to a clean build, nothing left', async () =>
  withTmp(async (dir) => {
    const src = path.join(dir, 'src'), clean = path.join(dir, 'clean');
    makeTree(src, 3000);
    const c = run(['build', '--threads', '2', src, clean]);
    assert.equal(c.status, 0, c.stderr);
    const full = counts(c.stderr);
    let interrupted = 0;
    for (const [k, delay] of [2, 10, 25, 50, 90, 150].entries()) {
      const out = path.join(dir, `out${k}`);
      if (k % 2 === 1) {
        // Over an older build of different pages, so stale outputs and old files are in play.
        const old = path.join(dir, `old${k}`);
        makeTree(old, 500, 7);
        assert.equal(run(['build', old, out]).status, 0);
      }
      const child = start(['build', '--quiet', '--threads', '2', src, out]);
      await sleep(delay);
      child.kill('SIGKILL');
      const { code } = await child.done;
      if (code === 'SIGKILL' && !fs.existsSync(path.join(out, 'manifest.ndjson'))) interrupted++;
      // --wait: the killed supervisor's worker takes a moment to die (PR_SET_PDEATHSIG) and
      // holds OUT's lock until it has (docs/builds.md).
      const r = run(['build', '--wait', '--threads', '2', src, out]);
      assert.equal(r.status, 0, r.stderr);
      const rc = counts(r.stderr);
      assert.equal(rc.pages, full.pages);
      assertSameTree(out, clean);
      assert.deepEqual(leftovers(out), []);
      assert.ok(!fs.existsSync(path.join(out, '.fastmd/journal')), 'the journal is gone');
    }
    assert.ok(interrupted >= 2, `at least two kills landed mid-build (${interrupted})`);
  }));

test('SIGTERM and SIGINT stop cleanly with 143 and 130; a rerun resumes and completes', async () =>
  withTmp(async (dir) => {
    const src = path.join(dir, 'src'), clean = path.join(dir, 'clean');
    makeTree(src, 2000);
    assert.equal(run(['build', src, clean]).status, 0);
    for (const [sig, want] of [['SIGTERM', 143], ['SIGINT', 130]]) {
      const out = path.join(dir, `out-${sig}`);
      const child = start(['build', '--threads', '2', src, out]);
      // Stop it once its journal exists (the run has started), then signal it.
      for (let i = 0; i < 400 && !fs.existsSync(path.join(out, '.fastmd/journal')); i++) await sleep(5);
      child.kill('SIGSTOP');
      child.kill(sig);
      child.kill('SIGCONT');
      const { code, stderr } = await child.done;
      if (code === 0) continue; // it finished before the signal arrived: nothing to check
      assert.equal(code, want, stderr);
      const m = /interrupted by SIG(?:TERM|INT): (\d+) of 2000 pages done.*run the same command again to resume/.exec(stderr);
      assert.ok(m, stderr);
      assert.ok(!fs.existsSync(path.join(out, 'manifest.ndjson')), 'no manifest: OUT is incomplete');
      assert.ok(fs.existsSync(path.join(out, '.fastmd/journal')));
      assert.deepEqual(leftovers(out), []);
      const r = run(['build', src, out]);
      assert.equal(r.status, 0, r.stderr);
      // Only the pages that were not done (journaled) are rendered again.
      assert.equal(counts(r.stderr).rendered, 2000 - Number(m[1]), r.stderr);
      assertSameTree(out, clean);
    }
  }));

test('two builds into one OUT: the second exits 75 at once; with --wait it waits', async () =>
  withTmp(async (dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out');
    makeTree(src, 1500);
    // In one process (--no-supervisor), so that SIGSTOP below holds the lock's owner; under a
    // supervisor it would stop only the supervisor, and the worker would finish and let go.
    const a = start(['build', '--quiet', '--no-supervisor', '--threads', '1', src, out]);
    for (let i = 0; i < 400 && !fs.existsSync(path.join(out, '.fastmd/journal')); i++) await sleep(5);
    a.kill('SIGSTOP'); // hold it inside its run, lock taken
    try {
      const b = run(['build', '--quiet', src, out]);
      assert.equal(b.status, 75, b.stderr);
      assert.match(b.stderr, /being built by another fastmd.*--wait/);
      const w = start(['build', '--quiet', '--wait', src, out]);
      await sleep(300);
      assert.equal(w.exitCode, null, '--wait is still waiting');
      a.kill('SIGCONT');
      const [ca, cw] = await Promise.all([a.done, w.done]);
      assert.equal(ca.code, 0, ca.stderr);
      assert.equal(cw.code, 0, cw.stderr);
    } finally {
      a.kill('SIGCONT');
    }
  }));

/* Hold OUT/.fastmd/lock from another process (flock(1)) until release() closes its stdin. The
 * promise of its end exists from the spawn; held() resolves once the lock is taken (a file
 * appears), so nothing here guesses from a sleep whether the holder still runs. */
async function holdLock(out, dir) {
  const ready = path.join(dir, 'held');
  const holder = spawn('flock', ['-x', path.join(out, '.fastmd/lock'), 'sh', '-c',
    `: > '${ready}'; cat >/dev/null`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const done = new Promise((r) => holder.on('close', (code, sig) => r(sig ?? code)));
  for (let i = 0; !fs.existsSync(ready); i++) {
    assert.ok(i < 2000, 'flock(1) took the lock');
    const ended = await Promise.race([done, sleep(5).then(() => undefined)]);
    assert.equal(ended, undefined, 'flock(1) ended before it took the lock');
  }
  return { release: () => { holder.stdin.end(); return done; } };
}

test('a lock released within the grace second: the build waits for it without --wait', async () =>
  withTmp(async (dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out');
    makeTree(src, 20);
    assert.equal(run(['build', '--quiet', src, out]).status, 0);
    fs.appendFileSync(path.join(src, 'd1/s1/p1.md'), '\nedited\n');
    // The moment after a kill -9: the dying worker still holds the lock for a few milliseconds.
    const lock = await holdLock(out, dir);
    const t0 = Date.now();
    const b = start(['build', src, out]);
    // Released 300 ms after the start, well inside the grace; without it, the build has exited
    // 75 long before (it meets the lock within milliseconds of starting).
    const early = await Promise.race([b.done, sleep(300).then(() => undefined)]);
    await lock.release();
    const { code, stderr } = early ?? await b.done;
    assert.equal(code, 0, stderr);
    assert.ok(Date.now() - t0 >= 250, 'the build ended only after the lock was released');
    assert.equal(counts(stderr).rendered, 1);
  }));

test('a lock held past the grace second: exit 75 after about a second, not at once', async () =>
  withTmp(async (dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out');
    makeTree(src, 20);
    assert.equal(run(['build', '--quiet', src, out]).status, 0);
    const lock = await holdLock(out, dir);
    try {
      const t0 = Date.now();
      const { code, stderr } = await start(['build', '--quiet', src, out]).done;
      assert.equal(code, 75, stderr);
      assert.match(stderr, /being built by another fastmd.*--wait/);
      // FMD_IO_LOCK_GRACE_MS is 1000: the lock was retried for that long, never less.
      assert.ok(Date.now() - t0 >= 900, `exit 75 after ${Date.now() - t0} ms`);
    } finally {
      await lock.release();
    }
  }));

test('--writer-pool: incremental too, and a kill -9 then a rerun gives a clean build', async () =>
  withTmp(async (dir) => {
    const src = path.join(dir, 'src'), out = path.join(dir, 'out'), clean = path.join(dir, 'clean');
    makeTree(src, 1500);
    assert.equal(run(['build', src, clean]).status, 0);
    const child = start(['build', '--quiet', '--writer-pool', src, out]);
    await sleep(30);
    child.kill('SIGKILL');
    await child.done;
    const r = run(['build', '--wait', '--writer-pool', src, out]);
    assert.equal(r.status, 0, r.stderr);
    assertSameTree(out, clean);
    assert.deepEqual(leftovers(out), []);
    const again = run(['build', '--writer-pool', src, out]);
    assert.equal(counts(again.stderr).rendered, 0);
    fs.appendFileSync(path.join(src, 'd5/s2/p5.md'), '\nedited\n');
    const one = run(['build', '--writer-pool', src, out]);
    assert.equal(counts(one.stderr).rendered, 1);
  }));

test('a source folder with no pages exits 66', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'notes.txt'), 'not a page');
    const r = run(['build', src, path.join(dir, 'out')]);
    assert.equal(r.status, 66, r.stderr);
    assert.match(r.stderr, /no pages/);
  }));
