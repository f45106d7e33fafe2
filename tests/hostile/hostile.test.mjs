// SPDX-License-Identifier: MIT
// Hostile pages through the fastmd binary: every case ends with its expected error code (or
// success) in fastmd build's manifest and in fastmd render's exit status and message. The pages
// are generated into a temporary directory that is removed at the end.
//   node --test tests/hostile/hostile.test.mjs   (FASTMD_BIN=path/to/fastmd)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { cases, redosRule } from './cases.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-hostile-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const rules = path.join(tmp, 'rules.json');
fs.writeFileSync(rules, JSON.stringify(redosRule));

function run(args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return r;
}

function argsOf(c) {
  return [...(c.args ?? []), ...(c.rules ? ['--rules', rules] : [])];
}

// What fastmd render prints for each code (fmd_status_str).
const renderText = {
  frontmatter: 'front matter is not valid YAML',
  rule: 'a custom rule is invalid',
};

for (const c of cases) {
  test(`${c.name}: ${c.code} through build and render`, () => {
    const src = path.join(tmp, `src-${c.name}`);
    const out = path.join(tmp, `out-${c.name}`);
    fs.mkdirSync(src);
    const file = path.join(src, 'page.md');
    fs.writeFileSync(file, c.page());

    const b = run(['build', '--threads', '2', ...argsOf(c), src, out]);
    assert.equal(b.status, c.code === 'ok' ? 0 : 1, b.stderr);
    const lines = fs.readFileSync(path.join(out, 'manifest.ndjson'), 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 1);
    const m = JSON.parse(lines[0]);
    if (c.code === 'ok') {
      assert.equal(m.status, 'ok', JSON.stringify(m.error));
    } else {
      assert.equal(m.error?.code, c.code, JSON.stringify(m).slice(0, 500));
      if (c.code === 'frontmatter') assert.ok(m.error.line >= 2, 'the error has a position');
    }

    const r = run(['render', ...argsOf(c), file]);
    assert.equal(r.status, c.code === 'ok' ? 0 : 1, r.stderr.slice(0, 500));
    if (c.code !== 'ok') assert.match(r.stderr, new RegExp(`error: ${renderText[c.code]}`));
    fs.rmSync(src, { recursive: true });
    fs.rmSync(out, { recursive: true });
  });
}

test('numbers a double cannot hold come out as strings that strict parsers accept', () => {
  const src = path.join(tmp, 'src-numbers');
  const out = path.join(tmp, 'out-numbers');
  fs.mkdirSync(src);
  fs.writeFileSync(
    path.join(src, 'n.md'),
    '---\nbig: 1e400\nint: 12345678901234567890\nsafe: 9007199254740992\nhex: 0xffffffffffffffff\n' +
      'tiny: 1e-400\nok: 2.5e10\n---\n# N\n',
  );
  const b = run(['build', src, out]);
  assert.equal(b.status, 0, b.stderr);
  const line = fs.readFileSync(path.join(out, 'manifest.ndjson'), 'utf8').split('\n')[0];
  // JSON.parse would read 1e400 as Infinity: look at the text itself.
  assert.match(line, /"frontmatter":\{"big":"1e400","int":"12345678901234567890","safe":9007199254740992,"hex":"0xffffffffffffffff","tiny":"1e-400","ok":2.5e10\}/);
  fs.rmSync(src, { recursive: true });
  fs.rmSync(out, { recursive: true });
});

test('--max-frontmatter-bytes takes a size and refuses 0', () => {
  assert.equal(run(['render', '--max-frontmatter-bytes', '0', '-']).status, 64);
  assert.equal(run(['render', '--max-frontmatter-bytes', 'lots', '-']).status, 64);
  const h = run(['build', '--help']);
  assert.match(h.stdout, /--max-frontmatter-bytes N/);
  const file = path.join(tmp, 'small.md');
  fs.writeFileSync(file, '---\ntitle: a title of 27 bytes\n---\n# x\n');
  const r = run(['render', '--max-frontmatter-bytes', '16', file]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /small\.md:2:17: error: .*over the limit of 16 bytes/);
  assert.equal(run(['render', '--max-frontmatter-bytes', '1K', file]).status, 0);
});
