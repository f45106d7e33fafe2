// SPDX-License-Identifier: MIT
// fastmd-mpi end to end: `mpirun -n R fastmd-mpi` for R = 1, 2, 3 (3 oversubscribed on small
// machines) at 1 and 2 threads per rank gives the tree, the manifest and the --ndjson stream of a
// plain build, byte for byte; a rank killed mid-run fails the job, and the rerun completes the
// same output, rendering only the pages that were not done (--summary-json per rank).
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

test('a rank killed mid-run fails the job; the rerun completes, identical to a plain build', { skip },
  async () => {
    assert.ok(!missing, 'CI=true and no fastmd-mpi or mpirun: install MPI (scripts/install-deps)');
    await withTmp(async (dir) => {
      const src = path.join(dir, 'src'), plain = path.join(dir, 'plain'), out = path.join(dir, 'out');
      makeTree(src, 80);
      const pages = 81;
      assert.equal(run(['build', '--quiet', src, plain]).status, 1);
      // Slow pages (a test build's hook) so that the job is still running when a rank is killed.
      const job = mpirun([...mpirunArgs(2, ['FASTMD_TEST_PAGE_DELAY_MS']), '--quiet',
        '--threads', '1', src, out], { FASTMD_TEST_PAGE_DELAY_MS: '60' });
      // Kill once pages are done (their HTML files are in OUT): the builds' journals are
      // buffered, and the SIGTERM each build gets when its rank dies flushes them.
      const html = () => { try { return files(out).filter((f) => f.endsWith('.html')).length; }
        catch { return 0; } };
      for (let i = 0; i < 12000 && html() < 10; i++) await sleep(5);
      assert.ok(html() >= 10, 'pages were written before the kill');
      const ranks = ranksOf(job.pid);
      assert.equal(ranks.length, 2, 'two ranks under mpirun');
      process.kill(ranks[1], 'SIGKILL');
      const { code, stderr } = await job.done;
      assert.notEqual(code, 0, `the job must fail when a rank is killed\n${stderr}`);
      assert.notEqual(code, 1, stderr);
      assert.ok(!fs.existsSync(path.join(out, 'manifest.ndjson')), 'nothing merged');
      // The rerun, at full speed: each shard resumes from its journal.
      const sum = path.join(dir, 's.json');
      const again = await mpirun([...mpirunArgs(2), '--quiet', '--summary-json', sum, src,
        out]).done;
      assert.equal(again.code, 1, again.stderr);
      sameTree(out, plain);
      let rendered = 0, unchanged = 0;
      for (const k of [1, 2]) {
        const s = JSON.parse(fs.readFileSync(`${sum}.${k}-of-2`, 'utf8'));
        rendered += s.rendered;
        unchanged += s.unchanged;
      }
      assert.equal(rendered + unchanged, pages, `rendered ${rendered}, unchanged ${unchanged}`);
      // Not asserted yet: that the pages done before the kill are not rendered again. The
      // surviving builds do not always flush their journals before mpirun's clean-up ends them,
      // so a rerun may render a shard in full (a known gap, in docs/scale-out.md).
      // No temporary file of the killed run is left in a shard's folder.
      for (const k of [1, 2]) {
        const d = path.join(out, '.fastmd', `shard-${k}-of-2`);
        assert.deepEqual(fs.readdirSync(d).filter((f) => f.includes('.tmp.')), []);
      }
    });
  });
