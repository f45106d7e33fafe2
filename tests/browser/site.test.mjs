// SPDX-License-Identifier: MIT
// The bundled example site in headless Chromium (Debian `chromium`): `fastmd build --full-html
// --copy-assets examples/ OUT`, then, for every page loaded from file://, every link of its DOM
// that stays on the site must lead to a file that exists (and a #fragment to an element with
// that id), and the images of the front page must decode (naturalWidth > 0).
// Without chromium (CHROMIUM, else `chromium` on PATH) the test is skipped, but under CI=true it
// fails: a CI machine must have it (scripts/install-deps installs it).
//   node --test tests/browser/site.test.mjs   (FASTMD_BIN=path/to/fastmd)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd');

function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const p = path.join(dir, name);
      if (fs.existsSync(p)) return p;
    }
  }
  return null;
}

const chromium = findChromium();
const ci = process.env.CI === 'true';

// Run headless Chromium on one file:// URL with a private profile in @p tmp; returns stdout.
function browse(tmp, url, extra = []) {
  const r = spawnSync(
    chromium,
    [
      '--headless',
      '--no-sandbox', // root in containers; the pages are our own
      '--disable-gpu',
      '--no-first-run',
      '--allow-file-access-from-files',
      `--user-data-dir=${path.join(tmp, 'profile')}`,
      '--virtual-time-budget=5000',
      ...extra,
      url,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, HOME: tmp }, timeout: 60000 },
  );
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `chromium ${url}: ${r.stderr}`);
  return r.stdout;
}

function htmlFiles(dir, rel = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = path.join(rel, e.name);
    if (e.isDirectory() && e.name !== '.fastmd') out.push(...htmlFiles(dir, p));
    else if (e.isFile() && e.name.endsWith('.html')) out.push(p);
  }
  return out;
}

const attr = (dom, name) =>
  [...dom.matchAll(new RegExp(`<(?:a|img)\\b[^>]*\\s${name}="([^"]*)"`, 'g'))].map((m) =>
    m[1].replaceAll('&amp;', '&'),
  );

test(
  'the example site browses from file://: links resolve, the image displays',
  { skip: !chromium && !ci ? 'chromium is not installed (CI=true makes this a failure)' : false },
  () => {
    assert.ok(chromium, 'CI=true and no chromium: install it (scripts/install-deps)');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-browser-'));
    try {
      const out = path.join(tmp, 'site');
      const b = spawnSync(bin, ['build', '--full-html', '--copy-assets', '--check-links',
        path.join(repo, 'examples'), out], { encoding: 'utf8' });
      assert.equal(b.status, 0, b.stderr);
      const pages = htmlFiles(out);
      assert.ok(pages.length >= 10, `pages: ${pages}`);
      let internal = 0;
      for (const page of pages) {
        const url = pathToFileURL(path.join(out, page));
        const dom = browse(tmp, url.href, ['--dump-dom']);
        assert.match(dom, /<title>[^<]+<\/title>/, `${page} has a title`);
        for (const href of attr(dom, 'href')) {
          const u = new URL(href, url);
          if (u.protocol !== 'file:') continue; // the web, mail: not the site's business
          internal++;
          const file = fileURLToPath(u);
          assert.ok(fs.existsSync(file) && fs.statSync(file).isFile(), `${page}: ${href} -> ${file}`);
          if (u.hash) {
            const id = decodeURIComponent(u.hash.slice(1));
            assert.ok(fs.readFileSync(file, 'utf8').includes(`id="${id}"`), `${page}: ${href}: no id`);
          }
        }
      }
      assert.ok(internal >= 10, `internal links checked: ${internal}`);

      // The images of the front page, loaded by a probe page beside it that writes each one's
      // naturalWidth into its DOM once they have loaded (or failed).
      const index = browse(tmp, pathToFileURL(path.join(out, 'index.html')).href, ['--dump-dom']);
      const srcs = attr(index, 'src');
      assert.ok(srcs.length >= 1, 'the front page has an image');
      const probe = path.join(out, 'probe-images.html');
      fs.writeFileSync(
        probe,
        `<!DOCTYPE html><meta charset="utf-8"><body><script>
const srcs = ${JSON.stringify(srcs)};
Promise.all(srcs.map((s) => new Promise((done) => {
  const i = new Image();
  i.onload = i.onerror = () => done(s + '=' + i.naturalWidth);
  i.src = s;
}))).then((r) => { const p = document.createElement('pre'); p.id = 'r'; p.textContent = r.join('\\n'); document.body.append(p); });
</script></body>`,
      );
      const res = browse(tmp, pathToFileURL(probe).href, ['--dump-dom']);
      const m = res.match(/<pre id="r">([^<]*)<\/pre>/);
      assert.ok(m, `the probe finished: ${res}`);
      for (const line of m[1].split('\n')) {
        const w = Number(line.split('=').pop());
        assert.ok(w > 0, `image does not display: ${line}`);
      }
      fs.rmSync(probe);

      // A screenshot renders (docs/images/example-site.png is one such, committed).
      const shot = path.join(tmp, 'shot.png');
      browse(tmp, pathToFileURL(path.join(out, 'index.html')).href, [
        `--screenshot=${shot}`,
        '--window-size=1000,760',
        '--hide-scrollbars',
      ]);
      assert.ok(fs.statSync(shot).size > 1000, 'the screenshot has content');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
);
