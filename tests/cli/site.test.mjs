// SPDX-License-Identifier: MIT
// `fastmd build` as a browsable site: relative links to pages rewritten (anchors and queries
// kept, absolute URLs left alone), links to missing pages reported (warnings, or errors with
// --check-links), --template escaping and malformed templates, --full-html, and incremental
// --copy-assets (add, change, remove an asset; a file of the user's in OUT is never removed).
//   node --test tests/cli/site.test.mjs   (FASTMD_BIN=path/to/fastmd)
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

function run(args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  return r;
}

function withTmp(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-site-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const linksPage = [
  '# Links',
  '',
  '[b](b.md#part) [c](sub/c.markdown?x=1#y) [up](../outside.md) [gone](gone.md)',
  '[web](https://example.org/x.md) [mail](mailto:me@x.md) [proto](//cdn.example/x.md)',
  '[root](/abs/x.md) [anchor](#links) [img file](pic.png)',
  '',
  '- item',
  '  [deep](sub/missing.md)',
  '',
].join('\n');

test('relative links to pages are rewritten; others are left alone', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src');
    write(path.join(src, 'a.md'), linksPage);
    write(path.join(src, 'b.md'), '# B\n');
    write(path.join(src, 'sub/c.markdown'), '# C\n\n[back](../a.md)\n');
    const out = path.join(dir, 'out');
    const r = run(['build', '--threads', '2', src, out]);
    assert.equal(r.status, 0, r.stderr);
    const a = fs.readFileSync(path.join(out, 'a.html'), 'utf8');
    assert.match(a, /href="b\.html#part"/);
    assert.match(a, /href="sub\/c\.html\?x=1#y"/);
    assert.match(a, /href="https:\/\/example\.org\/x\.md"/);
    assert.match(a, /href="mailto:me@x\.md"/);
    assert.match(a, /href="\/\/cdn\.example\/x\.md"/);
    assert.match(a, /href="\/abs\/x\.md"/);
    assert.match(a, /href="#links"/);
    assert.match(a, /href="pic\.png"/);
    assert.match(fs.readFileSync(path.join(out, 'sub/c.html'), 'utf8'), /href="\.\.\/a\.html"/);
    // Missing pages: warnings with page, line and target, in path order; exit status 0.
    const warnings = r.stderr.split('\n').filter((l) => l.includes('missing page'));
    assert.deepEqual(warnings, [
      `${src}/a.md:3: warning: link to a missing page: ../outside.md`,
      `${src}/a.md:3: warning: link to a missing page: gone.md`,
      `${src}/a.md:8: warning: link to a missing page: sub/missing.md`,
    ]);

    // --no-rewrite-links keeps them as written (and rebuilds: the option is in the digest).
    const k = run(['build', '--no-rewrite-links', src, out]);
    assert.equal(k.status, 0, k.stderr);
    assert.match(fs.readFileSync(path.join(out, 'a.html'), 'utf8'), /href="b\.md#part"/);

    // render and build --ndjson keep today's output.
    assert.match(run(['render', path.join(src, 'a.md')]).stdout, /href="b\.md#part"/);
    const nd = run(['build', '--ndjson', '-', src]);
    assert.equal(nd.status, 0, nd.stderr);
    assert.match(nd.stdout, /href=\\"b\.md#part\\"/);
  }));

test('--check-links makes missing pages errors (exit 1), also for unchanged pages', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src');
    write(path.join(src, 'a.md'), '# A\n\n[ok](b.md)\n');
    write(path.join(src, 'b.md'), '# B\n\n[x](nope.md)\n');
    const out = path.join(dir, 'out');
    assert.equal(run(['build', src, out]).status, 0);
    const r = run(['build', '--check-links', src, out]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${src}/b\\.md:3: error: link to a missing page: nope\\.md`));
    assert.doesNotMatch(r.stderr, /a\.md:.*missing/);
    // Every page is still written.
    assert.ok(fs.existsSync(path.join(out, 'b.html')));
    write(path.join(src, 'nope.md'), '# Now here\n');
    assert.equal(run(['build', '--check-links', src, out]).status, 0);
  }));

test('--template fills placeholders, escaping all but the content; malformed ones exit 64', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src');
    write(
      path.join(src, 'p.md'),
      '---\ntitle: "Tom & <Jerry>"\nauthor: "a\\"b"\ntags: [x, "<y>"]\n---\n# Head <i>\n\nBody *em*\n',
    );
    const tpl = path.join(dir, 't.html');
    write(tpl, '<title>{{ title }}</title>\n<p>{{fm.author}}|{{fm.tags}}|{{fm.missing}}</p>\n{{toc}}<main>{{content}}</main>\n');
    const out = path.join(dir, 'out');
    const r = run(['build', '--template', tpl, src, out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      fs.readFileSync(path.join(out, 'p.html'), 'utf8'),
      '<title>Tom &amp; &lt;Jerry&gt;</title>\n<p>a&quot;b|x, &lt;y&gt;|</p>\n' +
        '<ul>\n<li class="toc-h1"><a href="#head">Head</a></li>\n</ul>\n' +
        '<main><h1 id="head">Head </h1>\n<p>Body <em>em</em></p>\n</main>\n',
    );
    // A changed template rebuilds the pages (its bytes are in the options digest).
    write(tpl, 'NEW {{content}}');
    assert.equal(run(['build', '--template', tpl, src, out]).status, 0);
    assert.match(fs.readFileSync(path.join(out, 'p.html'), 'utf8'), /^NEW <h1/);

    write(tpl, '<html>\n<title>{{titel}}</title>{{content}}');
    const bad = run(['build', '--template', tpl, src, path.join(dir, 'out2')]);
    assert.equal(bad.status, 64);
    assert.match(bad.stderr, /line 2, column 8: unknown placeholder .*'titel'/);
    assert.equal(run(['build', '--template', path.join(dir, 'none'), src, out]).status, 66);
    assert.equal(run(['build', '--template', tpl, '--full-html', src, out]).status, 64);

    const full = run(['build', '--full-html', src, path.join(dir, 'full')]);
    assert.equal(full.status, 0, full.stderr);
    const html = fs.readFileSync(path.join(dir, 'full/p.html'), 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<meta charset="utf-8">/);
    assert.match(html, /<title>Tom &amp; &lt;Jerry&gt;<\/title>/);
    assert.doesNotMatch(html, /(href|src)="\//); // nothing absolute: it works from file://
  }));

test('--copy-assets copies, updates and removes assets incrementally; user files stay', () =>
  withTmp((dir) => {
    const src = path.join(dir, 'src');
    const out = path.join(dir, 'out');
    write(path.join(src, 'index.md'), '# I\n\n![p](img/p.png)\n');
    write(path.join(src, 'img/p.png'), 'PNG1');
    write(path.join(src, 'css/s.css'), 'body{}');
    write(path.join(src, 'x.html'), 'an asset that x.md overwrites');
    write(path.join(src, 'x.md'), '# X\n');
    fs.symlinkSync('/etc/hostname', path.join(src, 'outside.txt'));
    fs.symlinkSync('img/p.png', path.join(src, 'inside.png'));
    const build = () => {
      const r = run(['build', '--copy-assets', src, out]);
      assert.equal(r.status, 0, r.stderr);
      return r.stderr.match(/assets: (\d+) found, (\d+) copied .* (\d+) unchanged, (\d+) removed/).slice(1).map(Number);
    };
    assert.deepEqual(build(), [3, 3, 0, 0]);
    assert.equal(fs.readFileSync(path.join(out, 'img/p.png'), 'utf8'), 'PNG1');
    assert.equal(fs.readFileSync(path.join(out, 'inside.png'), 'utf8'), 'PNG1');
    assert.equal(fs.readFileSync(path.join(out, 'css/s.css'), 'utf8'), 'body{}');
    assert.ok(!fs.existsSync(path.join(out, 'outside.txt')), 'a link out of SRC is not followed');
    assert.match(fs.readFileSync(path.join(out, 'x.html'), 'utf8'), /<h1 id="x">X<\/h1>/);
    assert.ok(!fs.existsSync(path.join(out, 'index.md')));
    write(path.join(out, 'mine.txt'), 'the user\'s');
    write(path.join(out, 'img/mine.png'), 'the user\'s');

    assert.deepEqual(build(), [3, 0, 3, 0]); // nothing changed
    // Change one (size differs, so the stat data do), add one, remove one.
    write(path.join(src, 'img/p.png'), 'PNG2 longer');
    write(path.join(src, 'new.txt'), 'new');
    fs.rmSync(path.join(src, 'css/s.css'));
    assert.deepEqual(build(), [3, 3, 0, 1]); // p.png, inside.png (its link's target), new.txt
    assert.equal(fs.readFileSync(path.join(out, 'img/p.png'), 'utf8'), 'PNG2 longer');
    assert.equal(fs.readFileSync(path.join(out, 'new.txt'), 'utf8'), 'new');
    assert.ok(!fs.existsSync(path.join(out, 'css/s.css')));
    assert.equal(fs.readFileSync(path.join(out, 'mine.txt'), 'utf8'), 'the user\'s');
    assert.equal(fs.readFileSync(path.join(out, 'img/mine.png'), 'utf8'), 'the user\'s');
    // No temporary file is left behind.
    const left = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.name.startsWith('.fastmd-tmp.')) left.push(e.name);
      }
    };
    walk(out);
    assert.deepEqual(left, []);
    // Without --copy-assets nothing is copied or removed.
    assert.equal(run(['build', src, out]).status, 0);
    assert.ok(fs.existsSync(path.join(out, 'new.txt')));
    assert.equal(run(['build', '--copy-assets', '--ndjson', '-', src]).status, 64);
  }));
