// SPDX-License-Identifier: MIT
// A real Vite project (vite from tests/vite/package-lock.json) using the fastmd plugin
// (client/dist/vite.js) against the fastmd binary in FASTMD_BINARY: `vite build` bundles pages
// whose HTML equals `fastmd render` of the same files, with the front matter and metadata as
// exports; ?html and ?raw; a page full of backticks, `${` and `</script>` survives; a broken front
// matter fails the build with file:line:col (or warns, when opted out); the dev server renders a
// page, and after an edit the new HTML comes through the module graph. Every project is created
// under the system's temporary folder and removed afterwards.
//   FASTMD_BINARY=build/ci/fastmd node --test tests/vite/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, createServer } from 'vite';
import fastmd, { jsString, moduleTag, pageModule } from '../../client/dist/vite.js';

const binary = process.env.FASTMD_BINARY;
assert.ok(binary && fs.existsSync(binary), 'set FASTMD_BINARY to the fastmd binary');

const PAGES = {
    'pages/intro.md': `---
title: Introduction
tags: [a, b]
draft: false
---
# Welcome to "fastmd"

Some *text* -- with smart punctuation... and a footnote.[^1]

## Install it

| a | b |
|---|---|
| 1 | 2 |

[^1]: The note.
`,
    'pages/guide/setup.md': `# Setup

- [x] done
- [ ] todo

~~old~~ and https://example.com and [a link](./other.md).
`,
    // Everything that could break out of a JavaScript string or template literal, or a script.
    'pages/tricky.md': `---
title: "Back\`ticks\` and \${injection}"
---
# \`\${process.exit(1)}\` and \\\` and </script>

Inline \`\`a \` b\`\` and \${x} and \`\${y}\` and </script><script>alert(1)</script> and \u2028 and \u2029.

\`\`\`js
const t = \`\${a}\` + '</script>' + "\\\\" + \`\\\`\`;
\`\`\`

<div>\`raw \${html}\` </script></div>
`,
};

const MAIN = `
import intro, { html as introHtml, title, frontmatter, headings, wordCount } from './pages/intro.md';
import introOnly from './pages/intro.md?html';
import introRaw from './pages/intro.md?raw';
import setup from './pages/guide/setup.md';
import tricky, * as trickyNs from './pages/tricky.md';
export default { intro, introHtml, title, frontmatter, headings, wordCount, introOnly, introRaw, setup, tricky, trickyNs: { ...trickyNs } };
`;

function project(tag, pages = PAGES, main = MAIN) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fastmd-vite-${tag}-`));
    for (const [f, text] of Object.entries(pages)) {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.writeFileSync(path.join(dir, f), text);
    }
    fs.writeFileSync(path.join(dir, 'main.js'), main);
    return dir;
}

// The plugin's options that turn on what the reference render turns on (both default to off).
const ON = { footnotes: true, smart: true };

function render(file, ...flags) {
    return execFileSync(binary, ['render', '--quiet', '--footnotes', '--smart', ...flags, file], { encoding: 'utf8' });
}

/** `vite build` of @p dir's main.js as an ES library; returns its default export. */
async function viteBuild(dir, plugin) {
    await build({
        root: dir,
        configFile: false,
        logLevel: 'silent',
        plugins: [plugin],
        build: {
            outDir: path.join(dir, 'dist'),
            lib: { entry: path.join(dir, 'main.js'), formats: ['es'], fileName: () => 'bundle.js' },
            minify: true,
        },
    });
    const out = path.join(dir, 'dist', 'bundle.js');
    return { mod: (await import(pathToFileURL(out).href)).default, bundle: fs.readFileSync(out, 'utf8') };
}

function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

test('vite build: HTML equal to fastmd render, front matter and metadata exports, ?html and ?raw', { timeout: 120_000 }, async () => {
    const dir = project('build');
    try {
        const plugin = fastmd(ON);
        let pid;
        const origClose = plugin.closeBundle;
        plugin.closeBundle = async function () {
            pid = plugin.client?.pid;
            return origClose.call(this);
        };
        const { mod } = await viteBuild(dir, plugin);

        const introFile = path.join(dir, 'pages/intro.md');
        const expected = render(introFile);
        assert.match(expected, /<h1 id="welcome-to-fastmd">Welcome to “fastmd”<\/h1>/, 'the reference render changed');
        assert.equal(mod.intro.html, expected);
        assert.equal(mod.introHtml, expected);
        assert.equal(mod.introOnly, expected);
        assert.equal(mod.setup.html, render(path.join(dir, 'pages/guide/setup.md')));
        assert.equal(mod.introRaw, PAGES['pages/intro.md'], '?raw is not the file');

        // Front matter and metadata: named and default exports.
        assert.deepEqual(mod.frontmatter, { title: 'Introduction', tags: ['a', 'b'], draft: false });
        assert.deepEqual(mod.intro.frontmatter, mod.frontmatter);
        assert.equal(mod.title, 'Introduction');
        assert.equal(mod.intro.title, 'Introduction');
        assert.deepEqual(mod.headings, [
            { level: 1, text: 'Welcome to “fastmd”', id: 'welcome-to-fastmd' },
            { level: 2, text: 'Install it', id: 'install-it' },
        ]);
        assert.equal(mod.wordCount, mod.intro.wordCount);
        assert.ok(mod.wordCount > 10);
        assert.equal(mod.setup.linkCount, 2);
        assert.match(mod.setup.hash, /^[0-9a-f]{16}$/);
        assert.equal(mod.setup.title, 'Setup');
        assert.equal(mod.trickyNs.title, mod.tricky.title);
        assert.equal(mod.trickyNs.default.html, mod.tricky.html);

        // The tricky page's text and front matter survive the module and the bundler.
        const tricky = path.join(dir, 'pages/tricky.md');
        assert.equal(mod.tricky.html, render(tricky));
        assert.equal(mod.tricky.title, 'Back`ticks` and ${injection}');
        assert.ok(mod.tricky.html.includes('${process.exit(1)}'));
        assert.ok(mod.tricky.html.includes('\u2028') && mod.tricky.html.includes('\u2029'));

        // The sidecar was shut down at closeBundle.
        assert.ok(pid > 0, 'no sidecar ran');
        assert.equal(plugin.client, undefined);
        assert.equal(alive(pid), false, 'the sidecar outlived the build');
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('backticks, ${ and </script> survive: raw HTML (unsafe), the module text is inert', { timeout: 120_000 }, async () => {
    const dir = project('tricky');
    try {
        const { mod } = await viteBuild(dir, fastmd({ ...ON, unsafe: true }));
        const tricky = path.join(dir, 'pages/tricky.md');
        const expected = render(tricky, '--unsafe');
        assert.ok(expected.includes('</script><script>alert(1)</script>'), 'the reference render has no raw </script>');
        assert.ok(expected.includes('<div>`raw ${html}` </script></div>'));
        assert.equal(mod.tricky.html, expected);

        // The plugin's module code: one double-quoted literal per string, nothing that ends a
        // script or a template literal, and it evaluates to the same HTML.
        const code = pageModule(expected, { title: 'x</script>`${y}`', frontmatter: JSON.parse('{"__proto__": 1, "a": "\\u2028"}') });
        // (Backticks and ${ are inert inside its double-quoted literals: evaluating it proves it.)
        for (const bad of ['</script', '<!--', '\u2028', '\u2029']) assert.ok(!code.includes(bad), `the module holds ${JSON.stringify(bad)}`);
        assert.ok(code.startsWith('const html = "'), code.slice(0, 40));
        const m = await import(`data:text/javascript,${encodeURIComponent(code)}`);
        assert.equal(m.html, expected);
        assert.equal(m.default.html, expected);
        assert.equal(m.title, 'x</script>`${y}`');
        assert.deepEqual(Object.keys(m.frontmatter), ['__proto__', 'a']);
        assert.equal(m.frontmatter.a, '\u2028');
        for (const t of ['`${a}`</script>\u2028', '<!-- x --><\u2029/', '\\</'])
            assert.equal(eval(jsString(t)), t);
        assert.equal(jsString('</a><!--'), '"<\\/a>\\u003c!--"');

        // With a tag (the plugin's: one per file), every top-level name carries it, so that
        // Rollup has no clash to rename among thousands of pages; the exports are the same.
        const tag = moduleTag(tricky);
        assert.match(tag, /^_[0-9a-f]{12}$/);
        assert.notEqual(tag, moduleTag(path.join(dir, 'pages/other.md')));
        const tagged = pageModule(expected, { title: 't', wordCount: 3 }, undefined, tag);
        for (const decl of tagged.matchAll(/^const (\S+) =/gm)) assert.ok(decl[1].endsWith(tag), decl[1]);
        const t = await import(`data:text/javascript,${encodeURIComponent(tagged)}`);
        assert.equal(t.html, expected);
        assert.equal(t.title, 't');
        assert.equal(t.wordCount, 3);
        assert.deepEqual(t.default, { html: expected, title: 't', wordCount: 3 });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('a broken front matter fails vite build with file:line:col; failOnError: false warns', { timeout: 120_000 }, async () => {
    const bad = '---\ntitle: ok\ntags: [a, b\n---\n# Bad\n';
    const dir = project('broken', { 'pages/ok.md': '# Ok\n', 'pages/bad.md': bad }, `
import ok from './pages/ok.md';
import bad from './pages/bad.md';
export default { ok, bad };
`);
    try {
        const plugin = fastmd(ON);
        const err = await viteBuild(dir, plugin).then(
            () => assert.fail('the build passed'),
            (e) => e,
        );
        assert.match(err.message, /pages\/bad\.md:\d+:\d+: frontmatter: /, err.message);
        assert.equal(err.loc?.file, path.join(dir, 'pages/bad.md'));
        assert.ok(err.loc.line >= 2 && err.loc.line <= 4, `line ${err.loc.line}`);
        assert.equal(plugin.client, undefined, 'the sidecar still runs after a failed build');

        const warnings = [];
        const lenient = fastmd({ ...ON, failOnError: false });
        await build({
            root: dir,
            configFile: false,
            logLevel: 'silent',
            plugins: [lenient],
            build: {
                outDir: path.join(dir, 'dist'),
                lib: { entry: path.join(dir, 'main.js'), formats: ['es'], fileName: () => 'bundle.js' },
                rollupOptions: { onwarn: (w) => warnings.push(w.message) },
            },
        });
        const { default: mod } = await import(pathToFileURL(path.join(dir, 'dist', 'bundle.js')).href + '?lenient');
        assert.equal(mod.ok.html, '<h1 id="ok">Ok</h1>\n');
        assert.equal(mod.bad.html, '');
        assert.equal(mod.bad.error.code, 'frontmatter');
        assert.ok(warnings.some((w) => /pages\/bad\.md:\d+:\d+: frontmatter/.test(w)), warnings.join('\n'));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('dev server: a page through the module graph, edited, re-rendered; the sidecar stops on close', { timeout: 120_000 }, async () => {
    const dir = project('dev');
    const plugin = fastmd(ON);
    const server = await createServer({
        root: dir,
        configFile: false,
        logLevel: 'silent',
        appType: 'custom',
        server: { middlewareMode: true },
        plugins: [plugin],
    });
    const changes = [];
    server.watcher.on('change', (f) => changes.push(f));
    // Edits made before the watcher has read the folder would go unseen.
    await new Promise((r) => {
        server.watcher.once('ready', r);
        setTimeout(r, 15_000).unref();
    });
    try {
        const file = path.join(dir, 'pages/intro.md');
        const first = await server.ssrLoadModule('/pages/intro.md');
        assert.equal(first.html, render(file));
        assert.equal(first.title, 'Introduction');
        // The browser's side: main.js imports the page.
        await server.transformRequest('/main.js');
        const node = await server.moduleGraph.getModuleByUrl('/pages/intro.md');
        assert.ok(node, 'the page is not in the module graph');
        assert.ok([...node.importers].some((m) => m.file === path.join(dir, 'main.js')), 'main.js is not an importer');
        const pid = plugin.client?.pid;
        assert.ok(pid > 0);

        // The watcher may miss a write made while it is still settling on a loaded machine, or
        // fold two close writes into one event (as an editor's save does not): each edit below is
        // saved again every 2 s until the module graph sees it.
        const edit = async (text, seen) => {
            fs.writeFileSync(file, text);
            const until = Date.now() + 30_000;
            let saved = Date.now();
            for (;;) {
                const got = await server.ssrLoadModule('/pages/intro.md').then(
                    (m) => ({ m }), (e) => ({ e }));
                if (seen(got) || Date.now() > until) return got;
                await new Promise((r) => setTimeout(r, 50));
                if (Date.now() - saved > 2000) {
                    fs.writeFileSync(file, text);
                    saved = Date.now();
                }
            }
        };
        const now = (await edit('---\ntitle: Changed\n---\n# Changed *page*\n',
            (g) => g.m?.title === 'Changed')).m;
        assert.equal(now?.title, 'Changed', 'the edit never reached the module graph');
        assert.equal(now.html, '<h1 id="changed-page">Changed <em>page</em></h1>\n');
        const client = await server.transformRequest('/pages/intro.md');
        assert.ok(client.code.includes('Changed <em>page<\\/em>'), client.code);
        assert.equal(plugin.client?.pid, pid, 'the sidecar was restarted for an edit');

        // A broken edit is an error with its position (the overlay shows it).
        const { e: err } = await edit('---\ntitle: [x\n---\n# X\n', (g) => g.e !== undefined);
        assert.ok(err, `the broken edit loaded; changes seen: ${changes.join(', ')}`);
        assert.match(err.message, /pages\/intro\.md:\d+:\d+: frontmatter/);

        await server.close();
        assert.equal(plugin.client, undefined);
        assert.equal(alive(pid), false, 'the sidecar outlived the dev server');
    } finally {
        await server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("the plugin's declared type is a Vite Plugin (tsc, strict)", { timeout: 120_000 }, () => {
    const here = path.dirname(new URL(import.meta.url).pathname);
    const tsc = path.join(here, '..', '..', 'client', 'node_modules', 'typescript', 'bin', 'tsc');
    const dir = fs.mkdtempSync(path.join(here, '.typecheck-'));
    try {
        fs.writeFileSync(
            path.join(dir, 'config.ts'),
            `import { defineConfig, type Plugin } from 'vite';
import fastmd, { type FastmdViteOptions } from '../../../client/dist/vite.js';
const options: FastmdViteOptions = { roots: ['content'], dialect: 'gfm', smart: false, failOnError: false };
const plugin: Plugin = fastmd(options);
export default defineConfig({ plugins: [fastmd(), plugin] });
`,
        );
        const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', path.join(dir, 'config.ts')];
        execFileSync(process.execPath, [tsc, ...args], { encoding: 'utf8' });
        // And a wrong option is caught, so the check can fail.
        fs.writeFileSync(path.join(dir, 'bad.ts'), `import fastmd from '../../../client/dist/vite.js';\nfastmd({ dialect: 'markdown' });\n`);
        assert.throws(() => execFileSync(process.execPath, [tsc, ...args.slice(0, -1), path.join(dir, 'bad.ts')], { encoding: 'utf8' }), (e) => /bad\.ts.*'"markdown"' is not assignable/.test(e.stdout));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
