// SPDX-License-Identifier: MIT
// Shards end to end: `build --shard K/N` for every K, then `merge`, gives the tree and manifest of
// a plain build (fixtures, a generated tree, and the shared corpus when it is there); merge
// refuses a missing shard, mixed options and mixed counts; shards run side by side into one OUT;
// a rebuild after pages moved between shards deletes no other shard's output; --shard auto reads
// Slurm's variables; --shard with --ndjson gives the stream's consecutive pieces.
//   node --test tests/shard/shard.test.mjs   (FASTMD_BIN=path/to/fastmd)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { files, runner, sameTree, start, withTmp as withTmpIn } from '../cli/tree.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');
const fixtures = path.join(repo, 'tests/fixtures/site');
const corpus = process.env.FASTMD_CORPUS ?? path.resolve(repo, '../shared/corpus');

/* Slurm's variables are removed from every run unless a test sets them. */
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('SLURM_')));
const run = runner(bin, baseEnv);
const withTmp = (fn) => withTmpIn('fastmd-shard', fn);

/* A tree of @p n pages of varied sizes in a few folders. */
function makeTree(src, n, seed = 0) {
  for (let i = 0; i < n; i++) {
    const dir = path.join(src, `d${i % 5}`, `s${i % 3}`);
    fs.mkdirSync(dir, { recursive: true });
    const body = `---\ntitle: Page ${i}\n---\n# Heading ${i}\n\n` +
      'Some *words* and `code`, [a link](https://example.com/x). '.repeat(1 + ((i * 7 + seed) % 90)) +
      `\n\n## Part ${i}\n\n- item ${i}\n`;
    fs.writeFileSync(path.join(dir, `p${i}.md`), body);
  }
}

/* A plain build of @p src into @p out; returns its exit status. */
function plain(src, out, extra = []) {
  const r = run(['build', '--quiet', '--threads', '2', ...extra, src, out]);
  assert.ok(r.status === 0 || r.status === 1, `plain build: ${r.status}\n${r.stderr}`);
  return r.status;
}

/* Every shard of N into @p out, in @p order (default 1..N), then the merge. */
function sharded(src, out, n, { order, extra = [], threads = '2' } = {}) {
  const ks = order ?? Array.from({ length: n }, (_, i) => i + 1);
  let worst = 0;
  for (const k of ks) {
    const r = run(['build', '--quiet', '--threads', threads, '--shard', `${k}/${n}`, ...extra,
      src, out]);
    assert.ok(r.status === 0 || r.status === 1, `shard ${k}/${n}: ${r.status}\n${r.stderr}`);
    worst = Math.max(worst, r.status);
    assert.ok(fs.existsSync(path.join(out, '.fastmd', `shard-${k}-of-${n}`, 'done')),
      `shard ${k}/${n} did not record its end`);
  }
  assert.ok(!fs.existsSync(path.join(out, 'manifest.ndjson')),
    'a shard build must not leave a manifest: merge writes it');
  const m = run(['merge', out]);
  assert.equal(m.status, 0, `merge: ${m.stderr}`);
  assert.match(m.stderr, new RegExp(`merge: ${n} shards, \\d+ pages`));
  return worst;
}

test('--shard K/N for every K, then merge, equals a plain build (fixtures)', async () => {
  await withTmp(async (dir) => {
    const ref = path.join(dir, 'ref');
    const status = plain(fixtures, ref);
    for (const n of [1, 2, 3, 7]) {
      const out = path.join(dir, `out${n}`);
      /* Shards in reverse order: the result must not depend on which ran first. */
      const order = Array.from({ length: n }, (_, i) => n - i);
      const worst = sharded(fixtures, out, n, { order });
      assert.equal(worst, status, 'some shard reports the failed pages a plain build reports');
      sameTree(ref, out);
    }
  });
});

test('--shard on a generated tree, 1 and 3 threads per shard, equals a plain build', async () => {
  await withTmp(async (dir) => {
    const src = path.join(dir, 'src');
    makeTree(src, 120);
    const ref = path.join(dir, 'ref');
    plain(src, ref);
    for (const [n, threads] of [[2, '1'], [3, '3'], [7, '1']]) {
      const out = path.join(dir, `out${n}`);
      sharded(src, out, n, { threads });
      sameTree(ref, out);
      /* Each shard wrote its own share: no shard is empty, and together they hold every page. */
      let sum = 0;
      for (let k = 1; k <= n; k++) {
        const part = fs.readFileSync(
          path.join(out, '.fastmd', `shard-${k}-of-${n}`, 'manifest.ndjson'), 'utf8');
        const lines = part.split('\n').filter(Boolean).length;
        assert.ok(lines > 0, `shard ${k}/${n} is empty`);
        sum += lines;
      }
      assert.equal(sum, 120);
    }
  });
});

test('the shared corpus: 3 shards + merge equal a plain build', async (t) => {
  if (!fs.existsSync(path.join(corpus, 'SOURCES.txt'))) {
    t.skip(`no corpus at ${corpus} (optional): skipped`);
    return;
  }
  await withTmp(async (dir) => {
    const ref = path.join(dir, 'ref');
    plain(corpus, ref);
    const out = path.join(dir, 'out');
    sharded(corpus, out, 3);
    assert.ok(fs.readFileSync(path.join(ref, 'manifest.ndjson'))
      .equals(fs.readFileSync(path.join(out, 'manifest.ndjson'))), 'manifests differ');
    sameTree(ref, out);
  });
});

test('merge refuses a missing shard (66), then merges once it is built', async () => {
  await withTmp(async (dir) => {
    const src = path.join(dir, 'src');
    makeTree(src, 30);
    const out = path.join(dir, 'out');
    for (const k of [1, 3]) {
      assert.equal(run(['build', '--quiet', '--shard', `${k}/3`, src, out]).status, 0);
    }
    const m = run(['merge', out]);
    assert.equal(m.status, 66, m.stderr);
    assert.match(m.stderr, /shard 2 of 3 is missing/);
    assert.match(m.stderr, /--shard 2\/3/);
    assert.ok(!fs.existsSync(path.join(out, 'manifest.ndjson')));
    /* A shard whose end is not recorded (interrupted, failed, running) is refused too. */
    fs.mkdirSync(path.join(out, '.fastmd', 'shard-2-of-3'));
    const u = run(['merge', out]);
    assert.equal(u.status, 66, u.stderr);
    assert.match(u.stderr, /shard 2 of 3 has not finished/);
    assert.equal(run(['build', '--quiet', '--shard', '2/3', src, out]).status, 0);
    const ref = path.join(dir, 'ref');
    plain(src, ref);
    assert.equal(run(['merge', '--quiet', out]).status, 0);
    sameTree(ref, out);
    /* No shards at all. */
    const none = run(['merge', ref]);
    assert.equal(none.status, 66, none.stderr);
    assert.match(none.stderr, /holds no shards/);
  });
});

test('merge refuses mixed options (65), a changed SRC (65) and mixed counts (64)', async () => {
  await withTmp(async (dir) => {
    const src = path.join(dir, 'src');
    makeTree(src, 30);
    const out = path.join(dir, 'out');
    assert.equal(run(['build', '--quiet', '--shard', '1/2', src, out]).status, 0);
    assert.equal(run(['build', '--quiet', '--smart', '--shard', '2/2', src, out]).status, 0);
    const m = run(['merge', out]);
    assert.equal(m.status, 65, m.stderr);
    assert.match(m.stderr, /shard 2 of 2 was built with other options than shard 1/);
    assert.ok(!fs.existsSync(path.join(out, 'manifest.ndjson')));

    /* The same options, but SRC changed between the shards. */
    assert.equal(run(['build', '--quiet', '--shard', '2/2', src, out]).status, 0);
    fs.appendFileSync(path.join(src, 'd0', 's0', 'p0.md'), '\nmore words\n');
    assert.equal(run(['build', '--quiet', '--shard', '1/2', src, out]).status, 0);
    const s = run(['merge', out]);
    assert.equal(s.status, 65, s.stderr);
    assert.match(s.stderr, /saw another SRC/);

    /* Folders of two counts: the count must be chosen. */
    assert.equal(run(['build', '--quiet', '--shard', '2/2', src, out]).status, 0);
    assert.equal(run(['build', '--quiet', '--shard', '1/3', src, out]).status, 0);
    const c = run(['merge', out]);
    assert.equal(c.status, 64, c.stderr);
    assert.match(c.stderr, /several counts/);
    const ok = run(['merge', '--shards', '2', out]);
    assert.equal(ok.status, 0, ok.stderr);
    const ref = path.join(dir, 'ref');
    plain(src, ref);
    sameTree(ref, out);
  });
});

test('shards run side by side into one OUT (each its own lock)', async () => {
  await withTmp(async (dir) => {
    const src = path.join(dir, 'src');
    makeTree(src, 400);
    const out = path.join(dir, 'out');
    const shard = (k) =>
      start(bin, ['build', '--quiet', '--threads', '1', '--shard', `${k}/3`, src, out], baseEnv).done;
    const results = await Promise.all([shard(1), shard(2), shard(3)]);
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, `shard ${i + 1}: ${r.stderr}`);
    assert.equal(run(['merge', '--quiet', out]).status, 0);
    const ref = path.join(dir, 'ref');
    plain(src, ref);
    sameTree(ref, out);
  });
});

test('a rebuild after pages moved between shards deletes no other shard\'s output', async () => {
  await withTmp(async (dir) => {
    const src = path.join(dir, 'src');
    makeTree(src, 60);
    const out = path.join(dir, 'out');
    sharded(src, out, 2);
    /* A large page at the front moves the boundary: pages of shard 1 now belong to shard 2. One
     * page is deleted, one edited. */
    fs.mkdirSync(path.join(src, 'a'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a', 'big.md'), '# Big\n\n' + 'word '.repeat(40000) + '\n');
    fs.rmSync(path.join(src, 'd1', 's1', 'p1.md'));
    fs.appendFileSync(path.join(src, 'd2', 's2', 'p2.md'), '\nedited\n');
    /* Shard 2 first: shard 1, running after it, still has records of pages shard 2 now owns. */
    sharded(src, out, 2, { order: [2, 1] });
    const ref = path.join(dir, 'ref');
    plain(src, ref);
    sameTree(ref, out);
    assert.ok(!files(out).includes('d1/s1/p1.html'), 'the deleted page\'s output is gone');
    /* And once more with nothing changed: every page unchanged, the same tree. */
    for (const k of [1, 2]) {
      const r = run(['build', '--shard', `${k}/2`, src, out]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, / 0 rendered, \d+ unchanged, 0 removed/);
    }
    assert.equal(run(['merge', '--quiet', out]).status, 0);
    sameTree(ref, out);
  });
});

test('--shard auto reads Slurm\'s job array variables', async () => {
  await withTmp(async (dir) => {
    const src = path.join(dir, 'src');
    makeTree(src, 20);
    const out = path.join(dir, 'out');
    /* --array=0-2: tasks 0, 1, 2 are shards 1, 2, 3 of 3 (COUNT), or of (MAX - MIN) + 1. */
    for (const id of [0, 1, 2]) {
      const env = id === 1
        ? { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2' }
        : { SLURM_ARRAY_TASK_ID: `${id}`, SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '3' };
      const r = run(['build', '--quiet', '--shard', 'auto', src, out], env);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(fs.existsSync(path.join(out, '.fastmd', `shard-${id + 1}-of-3`, 'done')));
    }
    assert.equal(run(['merge', '--quiet', out]).status, 0);
    const ref = path.join(dir, 'ref');
    plain(src, ref);
    sameTree(ref, out);
    /* A step: --array=10-30:10 gives tasks 10, 20, 30 = shards 1, 2, 3. */
    const step = run(['build', '--quiet', '--shard', 'auto', src, path.join(dir, 'step')], {
      SLURM_ARRAY_TASK_ID: '20', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_MAX: '30',
      SLURM_ARRAY_TASK_STEP: '10',
    });
    assert.equal(step.status, 0, step.stderr);
    assert.ok(fs.existsSync(path.join(dir, 'step', '.fastmd', 'shard-2-of-3', 'done')));
    /* Outside an array: a usage error that says what is missing. */
    const none = run(['build', '--shard', 'auto', src, path.join(dir, 'x')]);
    assert.equal(none.status, 64, none.stderr);
    assert.match(none.stderr, /SLURM_ARRAY_TASK_ID/);
  });
});

test('bad --shard values are usage errors', () => {
  for (const v of ['0/3', '4/3', '3', 'a/b', '1/', '/2', '1/0', '-1/2', '1/65537']) {
    const r = run(['build', '--shard', v, fixtures, path.join(os.tmpdir(), 'never-made')]);
    assert.equal(r.status, 64, `--shard ${v}: ${r.stderr}`);
    assert.match(r.stderr, /--shard must be K\/N/);
  }
  assert.equal(run(['merge']).status, 64);
  assert.equal(run(['merge', '--shards', '0', 'x']).status, 64);
});

test('--shard with --ndjson: the shards\' streams, one after the other, are the whole stream',
  async () => {
    await withTmp(async (dir) => {
      const src = path.join(dir, 'src');
      makeTree(src, 50);
      const whole = path.join(dir, 'whole.ndjson');
      assert.equal(run(['build', '--quiet', src, '--ndjson', whole]).status, 0);
      const parts = [];
      for (const k of [1, 2, 3]) {
        const f = path.join(dir, `part${k}.ndjson`);
        const r = run(['build', '--quiet', '--shard', `${k}/3`, src, '--ndjson', f]);
        assert.equal(r.status, 0, r.stderr);
        parts.push(fs.readFileSync(f));
      }
      assert.ok(parts.every((p) => p.length > 0));
      assert.ok(Buffer.concat(parts).equals(fs.readFileSync(whole)));
    });
  });
