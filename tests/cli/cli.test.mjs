// SPDX-License-Identifier: MIT
// End-to-end tests of the fastmd binary: render, build, the manifest, exit codes, atomic
// writes, symlinks and byte-identical output at any thread count.
//   node --test tests/cli/cli.test.mjs   (FASTMD_BIN=path/to/fastmd)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { files } from './tree.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');
const fixtures = path.join(repo, 'tests/fixtures/site');
const examples = path.join(repo, 'examples');

function run(args, opts = {}) {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.error) throw r.error;
  return r;
}

// Every folder a test makes is removed when the process exits.
const made = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function tmpdir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `fastmd-${tag}-`));
  made.push(d);
  return d;
}

function manifest(out) {
  return fs
    .readFileSync(path.join(out, 'manifest.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

test('--help, --version and command help', () => {
  const v = run(['--version']);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^fastmd \d+\.\d+\.\d+\n$/);
  const h = run(['--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /render/);
  assert.match(h.stdout, /build SRC OUT/);
  for (const cmd of ['render', 'build']) {
    const c = run([cmd, '--help']);
    assert.equal(c.status, 0, cmd);
    assert.match(c.stdout, new RegExp(`Usage: fastmd ${cmd}`));
    assert.match(c.stdout, /--threads N/);
  }
});

test('usage errors exit 64', () => {
  assert.equal(run([]).status, 64);
  assert.equal(run(['frobnicate']).status, 64);
  assert.equal(run(['build', fixtures]).status, 64);
  assert.equal(run(['build', '--dialect', 'rst', fixtures, tmpdir('u')]).status, 64);
  assert.equal(run(['build', '--threads', '0', fixtures, tmpdir('u')]).status, 64);
  assert.equal(run(['render', '--bogus']).status, 64);
  const env = { ...process.env, FASTMD_WORKERS: 'many' };
  const r = run(['build', fixtures, tmpdir('u')], { env });
  assert.equal(r.status, 64);
  assert.match(r.stderr, /FASTMD_WORKERS/);
});

test('-h is --help in every command; a missing value and an unknown flag are named apart', () => {
  for (const cmd of ['render', 'build', 'bench', 'serve', 'topology', 'merge']) {
    const h = run([cmd, '-h']);
    assert.equal(h.status, 0, `${cmd} -h`);
    assert.equal(h.stdout, run([cmd, '--help']).stdout, `${cmd} -h prints --help's text`);
    assert.match(h.stdout, new RegExp(`^Usage: fastmd ${cmd} `));
  }
  const folder = run(['render', fixtures]);
  assert.equal(folder.status, 66, 'a folder given to render is an input that is not a page');
  assert.match(folder.stderr, /render: .*site: is a folder, not a page/);
  const missing = run(['render', '--dialect']);
  assert.equal(missing.status, 64);
  assert.match(missing.stderr, /render: option '--dialect' needs a value/);
  const unknown = run(['build', '--bogus', fixtures, tmpdir('u')]);
  assert.equal(unknown.status, 64);
  assert.match(unknown.stderr, /build: unknown option '--bogus'/);
});

test('one-page messages: the output limit said once, and singular counts', () => {
  const big = run(['render', '--max-output-bytes', '5'], { input: '# hi\n\nsome text here\n' });
  assert.equal(big.status, 1);
  assert.match(big.stderr, /error: rendered HTML is larger than the output limit: 5 bytes \(input 21 bytes\)\n/);
  assert.equal(big.stderr.match(/output limit/g).length, 1);
  const src = tmpdir('one');
  fs.writeFileSync(path.join(src, 'a.md'), '# A\n');
  const b = run(['build', '--threads', '1', src, path.join(tmpdir('one-out'), 'o')]);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stderr, /fastmd: 1 page, 0 failed, .* 1 thread\n/);
});

test('render reads stdin and a file', () => {
  const r = run(['render'], { input: '# Hello *world*\n' });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, '<h1 id="hello-world">Hello <em>world</em></h1>\n');
  const d = run(['render', '-', '--no-heading-ids'], { input: '# Hi\n' });
  assert.equal(d.stdout, '<h1>Hi</h1>\n');
  const f = run(['render', path.join(fixtures, 'good.md')]);
  assert.equal(f.status, 0);
  assert.match(f.stdout, /<table>/);
  assert.doesNotMatch(f.stdout, /title: Good page/); // front matter is not rendered
});

test('render: dialect, unsafe and safe mode', () => {
  const md = '~~x~~ <b>raw</b>\n';
  assert.equal(run(['render'], { input: md }).stdout, '<p><del>x</del> raw</p>\n');
  assert.equal(
    run(['render', '--dialect', 'commonmark', '--unsafe'], { input: md }).stdout,
    '<p>~~x~~ <b>raw</b></p>\n',
  );
  const js = run(['render'], { input: '[a](javascript:alert(1))\n' });
  assert.doesNotMatch(js.stdout, /javascript/i);
});

test('render: --footnotes, --smart, --html5 and --rules', () => {
  const fn = run(['render', '--footnotes'], { input: 'Text[^1].\n\n[^1]: The note.\n' });
  assert.equal(fn.status, 0, fn.stderr);
  assert.match(fn.stdout, /<sup class="footnote-ref"><a href="#fn-1" id="fnref-1" data-footnote-ref>1<\/a><\/sup>/);
  assert.match(fn.stdout, /<section class="footnotes" data-footnotes>/);
  assert.doesNotMatch(run(['render'], { input: 'Text[^1].\n\n[^1]: The note.\n' }).stdout, /footnotes/);
  const sm = run(['render', '--smart'], { input: '"Hi" -- it\'s... `"code"`\n' });
  assert.equal(sm.stdout, '<p>\u201cHi\u201d \u2013 it\u2019s\u2026 <code>&quot;code&quot;</code></p>\n');
  assert.equal(run(['render', '--html5'], { input: 'a  \nb\n' }).stdout, '<p>a<br>\nb</p>\n');
  const dir = tmpdir('rules');
  const rules = path.join(dir, 'rules.json');
  fs.writeFileSync(rules, JSON.stringify([
    { pattern: 'foo', replacement: 'bar' },
    { pattern: '(\\d+)px', replacement: '$1 pixels', regex: true },
  ]));
  assert.equal(run(['render', '--rules', rules], { input: 'foo is 12px\n' }).stdout, '<p>bar is 12 pixels</p>\n');
  fs.writeFileSync(rules, JSON.stringify([{ pattern: 'ok', replacement: '' }, { pattern: '(', replacement: 'x', regex: true }]));
  // The page comes from a file, not stdin: fastmd exits before reading stdin, and writing to a
  // pipe nobody reads would fail the test with EPIPE now and then.
  const page = path.join(dir, 'x.md');
  fs.writeFileSync(page, 'x\n');
  const bad = run(['render', '--rules', rules, page]);
  assert.equal(bad.status, 64);
  assert.match(bad.stderr, /rule 1/);
});

test('render: broken front matter prints page, line, column and exits 1', () => {
  const r = run(['render', path.join(fixtures, 'broken-frontmatter.md')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /broken-frontmatter\.md:\d+:\d+: error: /);
  assert.match(r.stdout, /Still rendered/); // the body is still rendered
});

test('render: missing file exits 66', () => {
  const r = run(['render', path.join(fixtures, 'does-not-exist.md')]);
  assert.equal(r.status, 66);
  assert.match(r.stderr, /does-not-exist\.md/);
});

test('build: output tree, manifest fields and exit code 1 for a broken page', () => {
  const out = tmpdir('build');
  const r = run(['build', '--threads', '2', fixtures, out]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /broken-frontmatter\.md:\d+:\d+: error: front matter/);
  assert.match(r.stderr, /fastmd: 8 pages, 1 failed, .* in, .* out, .* s, .* pages\/s, .* MB\/s, 2 threads/);
  assert.deepEqual(files(out), [
    'bom.html', 'crlf.html', 'good.html', 'invalid-utf8.html', // a failed page has no HTML
    'manifest.ndjson', 'sub/..html', 'sub/deeper/unsafe.html', 'sub/page.html',
  ]);
  const m = manifest(out);
  assert.deepEqual(m.map((p) => p.path), [
    'bom.md', 'broken-frontmatter.md', 'crlf.md', 'good.md', 'invalid-utf8.md', 'sub/..md',
    'sub/deeper/unsafe.md', 'sub/page.markdown',
  ]);
  const by = Object.fromEntries(m.map((p) => [p.path, p]));
  const good = by['good.md'];
  for (const k of ['path', 'output', 'status', 'title', 'frontmatter', 'headings', 'words', 'links',
    'images', 'codeBlocks', 'hash', 'bytesIn', 'bytesOut']) {
    assert.ok(k in good, `manifest has ${k}`);
  }
  assert.equal(good.output, 'good.html');
  assert.equal(good.status, 'ok');
  assert.equal(good.title, 'Good page');
  assert.deepEqual(good.frontmatter, { title: 'Good page', n: 3 });
  assert.deepEqual(good.headings, [{ level: 1, text: 'Heading one', id: 'heading-one' }]);
  assert.equal(good.links, 1);
  assert.equal(good.images, 1);
  assert.match(good.hash, /^[0-9a-f]{16}$/);
  assert.equal(good.bytesIn, fs.statSync(path.join(fixtures, 'good.md')).size);
  assert.equal(good.bytesOut, fs.statSync(path.join(out, 'good.html')).size);
  assert.equal('error' in good, false);

  const broken = by['broken-frontmatter.md'];
  assert.equal(broken.status, 'error');
  assert.equal(broken.error.code, 'frontmatter');
  assert.equal(broken.hash, null, 'a failed page has no hash');
  assert.equal(typeof broken.error.line, 'number');
  assert.ok(broken.error.line >= 2 && broken.error.line <= 4, `line ${broken.error.line}`);
  assert.ok(!fs.existsSync(path.join(out, 'broken-frontmatter.html'))); // a failed page has no HTML

  assert.equal(by['sub/page.markdown'].output, 'sub/page.html');
  assert.equal(by['sub/page.markdown'].title, 'No front matter here');
  assert.equal(by['sub/page.markdown'].codeBlocks, 1);
  assert.equal(by['sub/..md'].output, 'sub/..html');
  assert.equal(by['bom.md'].title, 'BOM page');
  assert.equal(by['crlf.md'].title, 'CRLF page');
  assert.ok(Array.isArray(by['invalid-utf8.md'].warnings));
  assert.equal(by['invalid-utf8.md'].status, 'ok');
  assert.match(by['invalid-utf8.md'].warnings[0], /line 3/);
  const unsafe = fs.readFileSync(path.join(out, 'sub/deeper/unsafe.html'), 'utf8');
  assert.doesNotMatch(unsafe, /<script|javascript:|<img src=x/i);
});

test('build: every page ok exits 0 and the example site titles', () => {
  const out = tmpdir('examples');
  const r = run(['build', examples, out]);
  assert.equal(r.status, 0, r.stderr);
  const m = manifest(out);
  assert.equal(m.length, 12);
  for (const p of m) {
    assert.equal(p.status, 'ok', p.path);
    assert.ok(p.title && p.title.length > 0, `${p.path} has a title`);
  }
});

test('build: byte-identical output at 1 and 2 threads', () => {
  for (const src of [fixtures, examples]) {
    const a = tmpdir('t1');
    const b = tmpdir('t2');
    run(['build', '--threads', '1', src, a]);
    run(['build', '--threads', '2', src, b]);
    const ta = files(a);
    assert.deepEqual(ta, files(b));
    for (const f of ta) {
      assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f);
    }
  }
});

test('build: FASTMD_WORKERS sets the thread count, --threads wins', () => {
  const env = { ...process.env, FASTMD_WORKERS: '2', OMP_NUM_THREADS: '1' };
  assert.match(run(['build', examples, tmpdir('w')], { env }).stderr, / 2 threads\n/);
  assert.match(run(['build', '--threads', '1', examples, tmpdir('w')], { env }).stderr, / 1 threads?\n/);
  const env2 = { ...process.env, OMP_NUM_THREADS: '2' };
  delete env2.FASTMD_WORKERS;
  assert.match(run(['build', examples, tmpdir('w')], { env: env2 }).stderr, / 2 threads\n/);
});

test('build: missing SRC exits 66, uncreatable OUT exits 73', () => {
  assert.equal(run(['build', path.join(fixtures, 'nope'), tmpdir('x')]).status, 66);
  const file = path.join(tmpdir('f'), 'a-file');
  fs.writeFileSync(file, 'x');
  const r = run(['build', fixtures, path.join(file, 'out')]);
  assert.equal(r.status, 73, r.stderr);
});

test('build: symlinks inside SRC are followed, links out of SRC are not', () => {
  const src = tmpdir('links');
  const outside = tmpdir('outside');
  fs.writeFileSync(path.join(outside, 'secret.md'), '# Secret\n');
  fs.writeFileSync(path.join(src, 'real.md'), '# Real\n');
  fs.symlinkSync(path.join(src, 'real.md'), path.join(src, 'alias.md'));
  fs.symlinkSync(path.join(outside, 'secret.md'), path.join(src, 'leak.md'));
  fs.symlinkSync(outside, path.join(src, 'leakdir'));
  const out = tmpdir('links-out');
  const r = run(['build', src, out]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(manifest(out).map((p) => p.path), ['alias.md', 'real.md']);
  assert.match(r.stderr, /leak/);
});

test('build: no temporary files are left, and a rebuild replaces pages', () => {
  const out = tmpdir('atomic');
  run(['build', fixtures, out]);
  run(['build', fixtures, out]);
  for (const f of files(out)) assert.doesNotMatch(f, /\.tmp\./, f);
});

test('build: an over-limit page fails alone, the batch goes on', () => {
  const src = tmpdir('limit');
  fs.writeFileSync(path.join(src, 'big.md'), 'x'.repeat(5000) + '\n');
  // A wide table: every row repeats the cells, so HTML is much larger than Markdown.
  // 3.9 KB of Markdown, about 1.5 MB of HTML: every short row is padded to 150 cells.
  const cols = 150;
  const row = '|' + 'a|'.repeat(cols) + '\n';
  const table = row + '|' + '---|'.repeat(cols) + '\n' + '|x\n'.repeat(1000);
  fs.writeFileSync(path.join(src, 'table.md'), table);
  fs.writeFileSync(path.join(src, 'small.md'), '# ok\n');
  const out = tmpdir('limit-out');
  const r = run(['build', '--max-input-bytes', '4K', '--max-output-bytes', '1M', src, out]);
  assert.equal(r.status, 1);
  const by = Object.fromEntries(manifest(out).map((p) => [p.path, p]));
  assert.equal(by['big.md'].error.code, 'input-limit');
  assert.equal(by['table.md'].error.code, 'output-limit');
  assert.equal(by['small.md'].status, 'ok');
  assert.ok(fs.existsSync(path.join(out, 'small.html')));
  assert.ok(!fs.existsSync(path.join(out, 'table.html')));
  assert.ok(!fs.existsSync(path.join(out, 'big.html')));
});
