// SPDX-License-Identifier: MIT
// build's traversal race, end to end: whole windowed builds (--max-memory 1M over about 6 MB, so
// a dozen windows, each loaded while the one before renders) of a SRC with a directory of pages
// and symbolic links to them, while a child process swaps that directory for a link to a
// directory outside SRC (the same page names, each holding a marker) and back, in a loop. No
// output file, manifest line, NDJSON line or message may hold the marker. The swapper runs
// until told to stop by a file, reports how many swaps it made, and the test asserts that it was
// swapping for the whole of every build (its count rises across each one).
//   node --test tests/cli/hostile-swap.test.mjs   (FASTMD_BIN=path/to/fastmd)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner, start, withTmp } from './tree.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');
const run = runner(bin);

const MARKER = 'OUTSIDE-SRC-7c1e95';
const RUNS = 12; // builds under the swap: half to an OUT tree, half as --ndjson
const PAGES = 160; // pages in the swapped directory, each also reached through a link
const FILLER = 160; // plain pages at the top of SRC, so the swapped pages span several windows

/* A page of about 20 KB whose title, heading and text carry @p word. */
function page(word, i) {
  const para = `Text of ${word} page ${i}, with *emphasis* and a [link](https://example.com/${i}). `;
  return `---\ntitle: ${word} ${i}\n---\n# ${word} heading ${i}\n\n${para.repeat(220)}\n`;
}

/* The swapper, run as `node -e SWAPPER DOCS OUTSIDE STARTED STOP COUNT`: swap DOCS (a directory)
 * for a link to OUTSIDE and back until the file STOP exists, touching STARTED after the first
 * swap and writing the running count of swaps to COUNT after every one (a rename, so a reader
 * never sees half a number). Each state is held about a millisecond (Atomics.wait, the child's
 * own pacing), so that a build meets the link as often as the directory: a loader that
 * followed it would read outside pages by the hundred. It leaves DOCS a directory. */
const SWAPPER = `
const fs = require('node:fs');
const [docs, outside, started, stop, count] = process.argv.slice(1);
const hold = docs + '.hold', tmp = count + '.tmp';
const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
let swaps = 0;
while (!fs.existsSync(stop)) {
  fs.renameSync(docs, hold);
  fs.symlinkSync(outside, docs);
  pause();
  fs.unlinkSync(docs);
  fs.renameSync(hold, docs);
  pause();
  swaps++;
  fs.writeFileSync(tmp, String(swaps));
  fs.renameSync(tmp, count);
  if (swaps === 1) fs.writeFileSync(started, '');
}
`;

/* Resolve once @p file exists, or reject when @p child ends first. */
async function appears(file, child) {
  let ended = false;
  child.done.then(() => { ended = true; }, () => { ended = true; });
  while (!fs.existsSync(file)) {
    if (ended) throw new Error(`the swapper ended before ${file} appeared: ${(await child.done).stderr}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const swapsSoFar = (file) => Number(fs.readFileSync(file, 'utf8'));

/* Every file under @p dir (OUT's .fastmd state included), with its bytes, as one list. */
function allFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.join(e.parentPath ?? e.path, e.name));
  }
  return out;
}

test('a directory swapped for a link out of SRC during windowed builds: nothing from outside is read', async () => {
  await withTmp('fastmd-hostile-swap', async (dir) => {
    const src = path.join(dir, 'src');
    const docs = path.join(src, 'docs');
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(docs, { recursive: true });
    fs.mkdirSync(outside);
    for (let i = 0; i < FILLER; i++) fs.writeFileSync(path.join(src, `a${i}.md`), page('filler', i));
    for (let i = 0; i < PAGES; i++) {
      fs.writeFileSync(path.join(docs, `p${i}.md`), page('inside', i));
      fs.writeFileSync(path.join(outside, `p${i}.md`), page(MARKER, i));
      fs.symlinkSync(`docs/p${i}.md`, path.join(src, `l${i}.md`));
    }

    // The marker survives rendering: were an outside page read, the output would show it.
    const control = run(['build', '--quiet', outside, path.join(dir, 'control')]);
    assert.equal(control.status, 0, control.stderr);
    assert.match(fs.readFileSync(path.join(dir, 'control', 'p0.html'), 'utf8'), new RegExp(MARKER));
    assert.match(fs.readFileSync(path.join(dir, 'control', 'manifest.ndjson'), 'utf8'), new RegExp(MARKER));
    fs.rmSync(path.join(dir, 'control'), { recursive: true });

    // Without the swap: the whole SRC, windowed, and no marker.
    const calm = path.join(dir, 'calm');
    const summary = path.join(dir, 'calm.json');
    const r0 = run(['build', '--quiet', '--threads', '2', '--max-memory', '1M', '--summary-json',
      summary, src, calm]);
    assert.equal(r0.status, 0, r0.stderr);
    const s0 = JSON.parse(fs.readFileSync(summary, 'utf8'));
    assert.ok(s0.windows >= 4, `windows: ${s0.windows}`);
    assert.equal(fs.readFileSync(path.join(calm, 'manifest.ndjson'), 'utf8').trim().split('\n').length,
      FILLER + 2 * PAGES);
    fs.rmSync(calm, { recursive: true });

    const started = path.join(dir, 'started');
    const stop = path.join(dir, 'stop');
    const count = path.join(dir, 'count');
    const swapper = start(process.execPath, ['-e', SWAPPER, docs, outside, started, stop, count]);
    const seen = [];
    let pagesRead = 0;
    try {
      await appears(started, swapper);
      for (let k = 0; k < RUNS; k++) {
        const out = path.join(dir, `out${k}`);
        const ndjson = k % 2 === 1;
        const target = ndjson ? ['--ndjson', path.join(dir, `run${k}.ndjson`)] : [out];
        const before = swapsSoFar(count);
        const r = run(['build', '--quiet', '--threads', '2', '--max-memory', '1M', src, ...target]);
        const after = swapsSoFar(count);
        assert.ok(after > before, `run ${k}: the swapper made no swap during the build`);
        // 0: every page read; 1: some pages failed (the directory was away or a link out of SRC
        // when they were opened). Anything else (a crash, a usage error) is wrong.
        assert.ok(r.status === 0 || r.status === 1, `run ${k}: exit ${r.status} ${r.signal ?? ''}\n${r.stderr}`);
        assert.ok(!r.stderr.includes(MARKER), `run ${k}: the marker in stderr`);
        const produced = ndjson ? [path.join(dir, `run${k}.ndjson`)] : allFiles(out);
        for (const f of produced) {
          const text = fs.readFileSync(f, 'latin1');
          assert.ok(!text.includes(MARKER), `run ${k}: ${f} holds text from outside SRC`);
        }
        const lines = fs.readFileSync(ndjson ? produced[0] : path.join(out, 'manifest.ndjson'), 'utf8')
          .trim().split('\n').map((l) => JSON.parse(l));
        pagesRead += lines.filter((l) => l.status === 'ok' && /^(docs\/|l)/.test(l.path)).length;
        seen.push(after - before);
        fs.rmSync(out, { recursive: true, force: true });
        fs.rmSync(path.join(dir, `run${k}.ndjson`), { force: true });
      }
    } finally {
      fs.writeFileSync(stop, '');
      const end = await swapper.done;
      assert.equal(end.code, 0, `swapper: ${end.stderr}`);
    }
    // The swapped pages were read from inside SRC in many runs, not refused every time.
    assert.ok(pagesRead > 0, 'no swapped page was ever read: the test exercised nothing');
    assert.ok(fs.statSync(docs).isDirectory() && !fs.lstatSync(docs).isSymbolicLink());
    console.log(`swaps during each build: ${seen.join(' ')}; swapped pages read from inside: ${pagesRead}`);
  });
});
