// SPDX-License-Identifier: MIT
// fastmd-mpi end to end: `mpirun -n R fastmd-mpi` for R = 1, 2, 3 (3 oversubscribed on small
// machines) at 1 and 2 threads per rank gives the tree, the manifest and the --ndjson stream of a
// plain build, byte for byte; a rank killed mid-run fails the job, every page written before the
// builds stop is journaled, and the rerun completes the same output, rendering only the pages not
// written and none of a shard that had finished (--summary-json per rank).
// Without MPI (FASTMD_MPI_BIN empty: FMD_WITH_MPI found none) the tests are skipped with a
// message, but under CI=true they fail: a CI machine must have it (scripts/install-deps).
//   node --test tests/mpi/mpi.test.mjs   (FASTMD_BIN, FASTMD_MPI_BIN, MPIRUN)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { files, runner, sameTree, withTmp as withTmpIn } from '../cli/tree.mjs';
import { spawn } from 'node:child_process';

const bin = process.env.FASTMD_BIN;
const mpiBin = process.env.FASTMD_MPI_BIN || '';
const mpirunBin = process.env.MPIRUN || '';
const ci = process.env.CI === 'true';
const missing = !mpiBin || !mpirunBin || !fs.existsSync(mpiBin);
const skip = missing && !ci ? 'MPI was not found at configure time (no fastmd-mpi); ' +
  'install openmpi-bin and libopenmpi-dev (CI=true makes this a failure)' : false;

const run = runner(bin);
const withTmp = (fn) => withTmpIn('fastmd-mpi', fn);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* mpirun's flags for a container: root allowed, more ranks than cores, shared memory only, and
 * no binding of a rank to one core (its threads would share it). */
const mpirunArgs = (n, env = []) => ['--allow-run-as-root', '--oversubscribe', '--bind-to', 'none',
  '--mca', 'btl', 'self,vader', ...env.flatMap((e) => ['-x', e]), '-n', String(n), mpiBin];

/* A tree of @p n pages of varied sizes in a few folders. */
function makeTree(src, n) {
  for (let i = 0; i < n; i++) {
    const dir = path.join(src, `d${i % 4}`, `s${i % 3}`);
    fs.mkdirSync(dir, { recursive: true });
    const body = `---\ntitle: Page ${i}\ntags: [t${i % 5}]\n---\n# Heading ${i}\n\n` +
      'Some *words*, `code` and [a link](https://example.com/x). '.repeat(1 + ((i * 13) % 70)) +
      `\n\n## Part ${i}\n\n| a | b |\n|---|---|\n| ${i} | x |\n`;
    fs.writeFileSync(path.join(dir, `p${i}.md`), body);
  }
  fs.writeFileSync(path.join(src, 'bad.md'), '---\ntitle: [unclosed\n---\nx\n'); // a failed page
}

/* Run mpirun to its end; {code, stderr}. */
function mpirun(args, env = {}) {
  const child = spawn(mpirunBin, args, { stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code: sig ?? code, stderr }));
  });
  return child;
}

/* The pids of the fastmd-mpi processes whose parent is @p ppid. */
function ranksOf(ppid) {
  const pids = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m && m[1] === 'fastmd-mpi' && Number(m[2]) === ppid) pids.push(Number(p));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

test('mpirun -n 1, 2, 3 at 1 and 2 threads: the tree and --ndjson of a plain build', { skip },
  async () => {
    assert.ok(!missing, 'CI=true and no fastmd-mpi or mpirun: install MPI (scripts/install-deps)');
    await withTmp(async (dir) => {
      const src = path.join(dir, 'src'), plain = path.join(dir, 'plain');
      makeTree(src, 90);
      assert.equal(run(['build', '--quiet', '--threads', '2', src, plain]).status, 1);
      const plainNd = path.join(dir, 'plain.ndjson');
      assert.equal(run(['build', '--quiet', '--threads', '2', '--ndjson', plainNd, src]).status, 1);
      for (const n of [1, 2, 3]) {
        for (const t of ['1', '2']) {
          const out = path.join(dir, `out-${n}-${t}`);
          const a = await mpirun([...mpirunArgs(n), '--quiet', '--threads', t, src, out]).done;
          assert.equal(a.code, 1, `-n ${n} --threads ${t}: a page failed, so 1\n${a.stderr}`);
          sameTree(out, plain);
          assert.ok(fs.existsSync(path.join(out, '.fastmd', `shard-${n}-of-${n}`, 'done')));
          const nd = path.join(dir, `out-${n}-${t}.ndjson`);
          const b = await mpirun([...mpirunArgs(n), '--quiet', '--threads', t, src, '--ndjson',
            nd]).done;
          assert.equal(b.code, 1, b.stderr);
          assert.ok(fs.readFileSync(nd).equals(fs.readFileSync(plainNd)),
            `--ndjson differs at -n ${n} --threads ${t}`);
          // The ranks' parts are removed once joined.
          assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.part-')), []);
          fs.rmSync(out, { recursive: true });
          fs.rmSync(nd);
        }
      }
    });
  });

/* A tree whose three shards differ in speed under a per-page delay: shard 1 of 3 is a/, three
 * large pages (done at once), shards 2 and 3 are b/ and c/, 60 small pages each (the byte
 * partition weighs each page's bytes plus 2 KiB, so 3 x ~49 KB balances 60 x ~500 bytes). */
function makeSkewedTree(src) {
  const page = (i, reps) => `---\ntitle: Page ${i}\n---\n# Heading ${i}\n\n` +
    'Some *words*, `code` and [a link](https://example.com/x).\n'.repeat(reps);
  fs.mkdirSync(path.join(src, 'a'), { recursive: true });
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(src, 'a', `p${i}.md`), page(i, 840));
  for (const d of ['b', 'c']) {
    fs.mkdirSync(path.join(src, d));
    for (let i = 0; i < 60; i++) {
      fs.writeFileSync(path.join(src, d, `p${String(i).padStart(2, '0')}.md`), page(i, 7));
    }
  }
  return 123;
}

/* The pid of the fastmd-mpi rank @p r under mpirun @p ppid (its environment names its rank). */
function rankPid(ppid, r) {
  for (const pid of ranksOf(ppid)) {
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`OMPI_COMM_WORLD_RANK=${r}`)) return pid;
    } catch { /* gone meanwhile */ }
  }
  return 0;
}

/* Whether a process whose command line names @p dir is alive (a build of the job, or its keeper). */
function alive(dir) {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(dir)) return true;
    } catch { /* gone meanwhile */ }
  }
  return false;
}

test('a rank killed mid-run fails the job; the rerun renders only the pages not done before',
  { skip }, async () => {
    assert.ok(!missing, 'CI=true and no fastmd-mpi or mpirun: install MPI (scripts/install-deps)');
    await withTmp(async (dir) => {
      const src = path.join(dir, 'src'), plain = path.join(dir, 'plain'), out = path.join(dir, 'out');
      const pages = makeSkewedTree(src);
      assert.equal(run(['build', '--quiet', src, plain]).status, 0);
      // Slow pages (a test build's hook: 60 ms each) so that shards 2 and 3 (60 pages each,
      // 3.6 s at least) are mid-run when shard 1 (3 pages) is done.
      const job = mpirun([...mpirunArgs(3, ['FASTMD_TEST_PAGE_DELAY_MS']), '--quiet',
        '--threads', '1', src, out], { FASTMD_TEST_PAGE_DELAY_MS: '60' });
      const html = (d = '') => {
        try { return files(path.join(out, d)).filter((f) => f.endsWith('.html')).length; }
        catch { return 0; }
      };
      const shardDir = (k) => path.join(out, '.fastmd', `shard-${k}-of-3`);
      const done = (k) => fs.existsSync(path.join(shardDir(k), 'done'));
      // The kill waits for a visible state: shard 1 done, and pages of b/ and c/ written.
      const ready = () => done(1) && html('b') >= 5 && html('c') >= 5;
      for (let i = 0; i < 12000 && !ready(); i++) await sleep(5);
      assert.ok(ready(), `shard 1 done (${done(1)}), pages of b/ (${html('b')}) and c/ ` +
        `(${html('c')}) written before the kill`);
      assert.ok(!done(2) && !done(3), 'shards 2 and 3 still running at the kill');
      // Kill the rank of shard 3 (rank 2); mpirun then ends rank 1 (shard 2, mid-run) and rank 0
      // (shard 1, done, waiting for the others).
      const victim = rankPid(job.pid, 2);
      assert.ok(victim > 0, 'rank 2 under mpirun');
      process.kill(victim, 'SIGKILL');
      const { code, stderr } = await job.done;
      assert.notEqual(code, 0, `the job must fail when a rank is killed\n${stderr}`);
      assert.notEqual(code, 1, stderr);
      assert.ok(!fs.existsSync(path.join(out, 'manifest.ndjson')), 'nothing merged');
      // The killed rank's build stops on its own (its keeper saw the rank go): wait for it.
      for (let i = 0; i < 12000 && alive(out); i++) await sleep(5);
      assert.ok(!alive(out), 'the builds of the failed job have ended');
      assert.ok(!done(2) && !done(3), 'shards 2 and 3 were stopped before their end');
      // Every page written is journaled (the builds stopped cleanly): the rerun renders exactly
      // the pages with no file yet, and none of shard 1's.
      const written = html();
      assert.ok(written < pages, `${written} of ${pages} pages written`);
      const sum = path.join(dir, 's.json');
      const again = await mpirun([...mpirunArgs(3), '--quiet', '--summary-json', sum, src,
        out]).done;
      assert.equal(again.code, 0, again.stderr);
      sameTree(out, plain);
      const s = [1, 2, 3].map((k) => JSON.parse(fs.readFileSync(`${sum}.${k}-of-3`, 'utf8')));
      const rendered = s.reduce((a, x) => a + x.rendered, 0);
      const unchanged = s.reduce((a, x) => a + x.unchanged, 0);
      assert.equal(rendered + unchanged, pages, `rendered ${rendered}, unchanged ${unchanged}`);
      assert.equal(s[0].rendered, 0, 'shard 1 was done: nothing of it is rendered again');
      assert.ok(s[1].unchanged > 0 && s[2].unchanged > 0,
        `the stopped shard 2 (${s[1].unchanged}) and the killed shard 3 (${s[2].unchanged}) ` +
        'resume from their journals');
      assert.equal(rendered, pages - written, `rendered ${rendered} on the rerun, but ` +
        `${written} of ${pages} pages were written before: each page written must be journaled`);
      // No temporary file of the killed run is left in a shard's folder.
      for (const k of [1, 2, 3]) {
        assert.deepEqual(fs.readdirSync(shardDir(k)).filter((f) => f.includes('.tmp.')), []);
      }
    });
  });
