#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// `vite build` of a folder of Markdown pages, through a generated entry that imports every page,
// with the fastmd plugin (@fastmd/client/vite) against the same build with a markdown-it based
// transform, side by side: medians of the whole build and of its Markdown part (the time spent
// in each plugin's hooks), in wall time and in CPU time (this process's, plus the sidecar's for
// fastmd: CPU time swings less than wall time on a shared machine). Prints figures only.
//
//   cmake --build --preset ci -j2 && (cd client && npm run build)
//   FASTMD_BINARY=build/ci/fastmd node bench/vite-bench.mjs CORPUS_DIR [--runs N] [--workers N]
//
// Needs client/node_modules (markdown-it) and tests/vite/node_modules (vite): scripts/install-deps.
// The markdown-it transform strips the front matter without parsing it and computes no
// metadata, so it does less work per page than fastmd.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, dflt) => {
    const i = args.indexOf(name);
    if (i < 0) return dflt;
    const v = args.splice(i, 2)[1];
    return v === undefined ? dflt : Number(v);
};
const runs = flag('--runs', 3);
const workers = flag('--workers', undefined);
const corpus = args[0] && path.resolve(args[0]);
if (!corpus || !fs.statSync(corpus, { throwIfNoEntry: false })?.isDirectory()) {
    console.error('usage: node bench/vite-bench.mjs CORPUS_DIR [--runs N] [--workers N]');
    process.exit(64);
}

const viteEntry = path.join(repo, 'tests', 'vite', 'node_modules', 'vite', 'dist', 'node', 'index.js');
const pluginEntry = path.join(repo, 'client', 'dist', 'vite.js');
for (const [p, how] of [
    [viteEntry, 'run scripts/install-deps (npm ci in tests/vite)'],
    [pluginEntry, 'run npm run build in client/'],
]) {
    if (!fs.existsSync(p)) {
        console.error(`vite-bench: ${p} is missing: ${how}`);
        process.exit(1);
    }
}
const { build } = await import(pathToFileURL(viteEntry).href);
const { default: fastmd } = await import(pathToFileURL(pluginEntry).href);
const MarkdownIt = createRequire(path.join(repo, 'client', 'package.json'))('markdown-it');

/** Every Markdown page under @p dir. */
function pages(dir, out = []) {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') pages(p, out);
        else if (e.isFile() && /\.(md|markdown)$/.test(e.name)) out.push(p);
    }
    return out;
}

const files = pages(corpus).sort();
const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-vite-bench-'));
const entry = path.join(work, 'main.js');
fs.writeFileSync(
    entry,
    files.map((f, i) => `import p${i} from ${JSON.stringify(f)};`).join('\n') +
        `\nexport default [${files.map((_, i) => `p${i}`).join(',')}];\n`,
);

/** A markdown-it transform: front matter stripped (not parsed), the HTML as the default export. */
function markdownIt() {
    const md = new MarkdownIt({ html: false, linkify: true, typographer: true });
    return {
        name: 'markdown-it',
        enforce: 'pre',
        load(id) {
            if (!/\.(md|markdown)$/.test(id)) return null;
            let text = fs.readFileSync(id, 'utf8');
            const fm = /^---\r?\n[\s\S]*?\r?\n---\r?\n/.exec(text);
            if (fm) text = text.slice(fm[0].length);
            return `export default { html: ${JSON.stringify(md.render(text))} };\n`;
        },
    };
}

/** This process's CPU time so far (user + system, all its threads), in ms. */
const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
};

/** The CPU time (user + system) of process @p pid so far, in ms, from /proc; 0 if it is gone. */
function procCpuMs(pid) {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
    } catch {
        return 0;
    }
}

/**
 * Wraps @p plugin's hooks so that timer.ms adds up the wall time during which at least one of
 * them runs (loads run concurrently: their own durations would overlap), and timer.cpu this
 * process's CPU time over the same windows. Before closeBundle, timer.sidecarCpu takes the CPU
 * time the plugin's sidecar (if any) used in its whole life.
 */
function timed(plugin, timer) {
    let active = 0;
    let since = 0;
    let cpuSince = 0;
    const enter = () => {
        if (active++ === 0) {
            since = performance.now();
            cpuSince = cpuMs();
        }
    };
    const leave = () => {
        if (--active === 0) {
            timer.ms += performance.now() - since;
            timer.cpu += cpuMs() - cpuSince;
        }
    };
    for (const hook of ['buildStart', 'load']) {
        const fn = plugin[hook];
        if (typeof fn !== 'function') continue;
        plugin[hook] = function (...a) {
            enter();
            let r;
            try {
                r = fn.apply(this, a);
            } catch (e) {
                leave();
                throw e;
            }
            if (!(r instanceof Promise)) {
                leave();
                return r;
            }
            return r.finally(leave);
        };
    }
    const close = plugin.closeBundle;
    if (typeof close === 'function') {
        plugin.closeBundle = function (...a) {
            const pid = plugin.client?.pid;
            if (pid) timer.sidecarCpu = procCpuMs(pid);
            return close.apply(this, a);
        };
    }
    return plugin;
}

async function once(make) {
    const timer = { ms: 0, cpu: 0, sidecarCpu: 0 };
    const outDir = path.join(work, 'dist');
    const t = performance.now();
    const c = cpuMs();
    await build({
        root: work,
        configFile: false,
        logLevel: 'silent',
        plugins: [timed(make(), timer)],
        build: {
            outDir,
            emptyOutDir: true,
            minify: false,
            lib: { entry, formats: ['es'], fileName: () => 'bundle.js' },
        },
    });
    return {
        total: performance.now() - t,
        markdown: timer.ms,
        totalCpu: cpuMs() - c + timer.sidecarCpu,
        markdownCpu: timer.cpu + timer.sidecarCpu,
    };
}

const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const contenders = [
    ['fastmd', () => fastmd({ roots: [corpus], workers })],
    ['markdown-it', markdownIt],
];
const got = Object.fromEntries(contenders.map(([n]) => [n, []]));
const row = (name, key) => median(got[name].map((x) => x[key]));
try {
    console.log(`${files.length} pages, ${(bytes / 1048576).toFixed(1)} MiB, ${runs} runs each, alternating`);
    for (let r = 0; r < runs; r++) {
        for (const [name, make] of contenders) {
            const x = await once(make);
            got[name].push(x);
            console.log(
                `  run ${r + 1} ${name.padEnd(12)} build ${x.total.toFixed(0)} ms (CPU ${x.totalCpu.toFixed(0)} ms), ` +
                    `markdown ${x.markdown.toFixed(0)} ms (CPU ${x.markdownCpu.toFixed(0)} ms)`,
            );
        }
    }
    console.log('\nmedians, ms      whole build: wall    CPU   markdown part: wall    CPU   rest: wall    CPU');
    for (const [name] of contenders) {
        const [t, tc, m, mc] = ['total', 'totalCpu', 'markdown', 'markdownCpu'].map((k) => row(name, k));
        console.log(
            `${name.padEnd(14)} ${t.toFixed(0).padStart(19)} ${tc.toFixed(0).padStart(6)} ${m.toFixed(0).padStart(21)} ` +
                `${mc.toFixed(0).padStart(6)} ${(t - m).toFixed(0).padStart(12)} ${(tc - mc).toFixed(0).padStart(6)}`,
        );
    }
    const ratio = (k) => (row('markdown-it', k) / row('fastmd', k)).toFixed(2);
    console.log(`\nmarkdown part, markdown-it / fastmd: wall ${ratio('markdown')}x, CPU ${ratio('markdownCpu')}x`);
    console.log(`whole build, markdown-it / fastmd: wall ${ratio('total')}x, CPU ${ratio('totalCpu')}x`);
    console.log('(CPU: this process, all threads, plus the sidecar for fastmd; the rest is Vite and Rollup:');
    console.log(' resolving, parsing and bundling the page modules)');
} finally {
    fs.rmSync(work, { recursive: true, force: true });
}
