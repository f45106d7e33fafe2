// SPDX-License-Identifier: MIT
// The Vite plugin (@fastmd/client/vite): Markdown imports become ES modules rendered by one
// `fastmd serve`. At buildStart every Markdown file under the configured roots goes to the
// sidecar in one transformBatch (streamed in frames); load() then answers from those results. A
// file changed in dev is rendered again when Vite asks for it. Imports no Vite code: the plugin
// is a plain object of hooks.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createFastmd, type Fastmd } from './client.js';
import type { ItemError } from './errors.js';
import type { BatchInput, BatchItemResult, FastmdOptions, Rule, TransformOptions, TransformResult } from './types.js';

export interface FastmdViteOptions {
    /** Folders scanned at buildStart, relative to Vite's root. Default: Vite's root. */
    roots?: string[];
    /** File name endings treated as Markdown. Default: ['.md', '.markdown']. */
    extensions?: string[];
    /** 'gfm' (the default) or 'commonmark' (every extension off, front matter included). */
    dialect?: 'gfm' | 'commonmark';
    /** GFM footnotes. Default false, as in `fastmd build` and `fastmd serve`. */
    footnotes?: boolean;
    /** Smart punctuation: curly quotes, dashes, ellipses. Default false, as in `fastmd build`. */
    smart?: boolean;
    /** Replacements applied to each page before parsing. */
    rules?: Rule[];
    /** Pass raw HTML and every URL scheme through. Default false. */
    unsafe?: boolean;
    /** Worker threads of the sidecar. Default: the sidecar's choice (one per physical core). */
    workers?: number;
    /** The fastmd binary (else FASTMD_BINARY, else PATH: see the client's README). */
    binary?: string;
    /**
     * true (the default): a page that fails (broken front matter, a limit) is a Vite error with
     * its file, line and column: `vite build` fails, the dev server shows the overlay. false: a
     * warning, and the page's module exports html '' and the `error`.
     */
    failOnError?: boolean;
    /** Other createFastmd options (restart limits, timeouts, logger, extra serve arguments). */
    client?: Omit<FastmdOptions, 'binary' | 'workers' | 'root'>;
}

/** The parts of Vite's resolved config the plugin reads. */
interface ResolvedConfigLike {
    root: string;
    command: 'build' | 'serve';
    build?: { outDir?: string };
}

/** The parts of Rollup's plugin context the plugin uses. */
interface PluginContextLike {
    error(err: { message: string; id?: string; loc?: { file: string; line: number; column: number } }): never;
    warn(message: string): void;
    addWatchFile?(id: string): void;
}

/** A Vite plugin: its name and hooks (structurally a Vite `Plugin`). */
export interface FastmdVitePlugin {
    name: string;
    enforce: 'pre';
    configResolved(config: ResolvedConfigLike): void;
    buildStart(this: PluginContextLike): Promise<void>;
    /** Synchronous when the page's result is in hand (the buildStart batch), else a promise. */
    load(this: PluginContextLike, id: string): string | null | Promise<string | null>;
    watchChange(id: string): void;
    handleHotUpdate(ctx: { file: string }): void;
    configureServer(server: { httpServer?: { once(event: 'close', fn: () => void): unknown } | null }): void;
    buildEnd(this: PluginContextLike, error?: Error): Promise<void>;
    closeBundle(): Promise<void>;
    /** The running client, for tests and tools (undefined while none runs). */
    readonly client: Fastmd | undefined;
}

type Entry = { ok: true; result: TransformResult } | { ok: false; error: ItemError };

const SKIP_DIRS = new Set(['node_modules', '.git']);

/** Names that cannot be an `export const`. */
const RESERVED = new Set(
    (
        'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
        'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
        'yield let static implements interface package private protected public await arguments eval'
    ).split(' '),
);

/**
 * @p s as a JavaScript string literal that is safe anywhere: JSON's escaping (quotes, backslashes,
 * control characters), plus `</` as `<\/` and `<!--` as `\u003c!--` (so no `</script>` or HTML
 * comment opener), U+2028 and U+2029. Backticks and `${` need nothing: the literal is
 * double-quoted. Other `<` stay as they are, so that HTML keeps its size.
 */
export function jsString(s: string): string {
    return JSON.stringify(s).replace(/<\/|<!--|[\u2028\u2029]/g, (c) =>
        c === '</' ? '<\\/' : c === '<!--' ? '\\u003c!--' : c === '\u2028' ? '\\u2028' : '\\u2029',
    );
}

/**
 * The module of a page: html, frontmatter, title, headings and the other metadata, named and
 * default. @p tag ends every top-level name of the module (`html_1a2b`): Rollup renames names
 * that clash in one chunk, trying `html$1`, `html$2`, ... from 1 each time, so thousands of page
 * modules that all declare `html` and `meta` cost time quadratic in their number. The plugin
 * passes a tag made from the file's path; '' gives plain names.
 */
export function pageModule(html: string, metadata: Record<string, unknown>, error?: Record<string, unknown>, tag = ''): string {
    const meta: Record<string, unknown> = { ...metadata };
    delete meta.html;
    if (error) meta.error = error;
    const h = `html${tag}`;
    const m = `meta${tag}`;
    // JSON.parse of a string: exact for any key (a literal would turn "__proto__" into a prototype).
    const lines = [`const ${h} = ${jsString(html)};`, `const ${m} = JSON.parse(${jsString(JSON.stringify(meta))});`];
    const named = [`${h} as html`];
    for (const k of Object.keys(meta)) {
        if (/^[A-Za-z_$][\w$]*$/.test(k) && !RESERVED.has(k) && k !== 'html' && k !== 'meta') {
            lines.push(`const ${k}${tag} = ${m}.${k};`);
            named.push(tag ? `${k}${tag} as ${k}` : k);
        }
    }
    lines.push(`export { ${named.join(', ')} };`, `export default { html: ${h}, ...${m} };`, '');
    return lines.join('\n');
}

/** A tag for the top-level names of @p file's module: `_` and 12 hex digits of its path's hash. */
export function moduleTag(file: string): string {
    return `_${createHash('sha1').update(file).digest('hex').slice(0, 12)}`;
}

/** The deepest folder holding every one of @p dirs. */
function commonDir(dirs: string[]): string {
    let common = dirs[0]!.split(path.sep);
    for (const d of dirs.slice(1)) {
        const parts = d.split(path.sep);
        let n = 0;
        while (n < common.length && n < parts.length && common[n] === parts[n]) n++;
        common = common.slice(0, n);
    }
    return common.join(path.sep) || path.sep;
}

/** The fastmd Vite plugin. */
export default function fastmd(options: FastmdViteOptions = {}): FastmdVitePlugin {
    const extensions = options.extensions ?? ['.md', '.markdown'];
    const failOnError = options.failOnError ?? true;
    const transformOptions: TransformOptions = {
        footnotes: options.footnotes ?? false,
        smartPunctuation: options.smart ?? false,
        unsafe: options.unsafe ?? false,
    };
    if (options.dialect) transformOptions.dialect = options.dialect;
    if (options.rules) transformOptions.rules = options.rules;

    let viteRoot = process.cwd();
    let outDir: string | undefined;
    let roots: string[] = [];
    /** The sidecar's --root: the deepest folder holding Vite's root and every scan root. */
    let sidecarRoot = viteRoot;
    let client: Fastmd | undefined;
    let starting: Promise<Fastmd> | undefined;
    let batch: Promise<void> | undefined;
    /** The buildStart batch has answered: load() can answer from the cache at once. */
    let batchDone = false;
    const cache = new Map<string, Entry>();
    /** Pages being rendered on demand, so that two loads of one file share one request. */
    const pending = new Map<string, Promise<Entry>>();

    const isMarkdown = (file: string) => !file.startsWith('\0') && extensions.some((e) => file.endsWith(e));

    function start(): Promise<Fastmd> {
        starting ??= createFastmd({
            ...options.client,
            binary: options.binary,
            workers: options.workers,
            root: sidecarRoot,
        }).then((c) => (client = c));
        return starting;
    }

    /** Every Markdown file under @p dir, skipping node_modules, dot folders and Vite's outDir. */
    function walk(dir: string, out: string[]): void {
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            return;
        }
        for (const e of entries) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) {
                if (SKIP_DIRS.has(e.name) || e.name.startsWith('.') || p === outDir) continue;
                walk(p, out);
            } else if (e.isFile() && isMarkdown(p)) {
                out.push(p);
            }
        }
    }

    function toEntry(r: BatchItemResult): Entry {
        return r.ok ? { ok: true, result: r.result } : { ok: false, error: r.error };
    }

    /** What the sidecar is sent for @p file: its path under the sidecar's root, else its content. */
    function input(file: string): BatchInput {
        const rel = path.relative(sidecarRoot, file);
        if (!rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
        return { file, content: fs.readFileSync(file, 'utf8') };
    }

    /** The one batch over every Markdown file of the roots. */
    function runBatch(): Promise<void> {
        batch ??= (async () => {
            const files: string[] = [];
            for (const r of roots) walk(r, files);
            files.sort();
            const c = await start();
            if (files.length === 0) return;
            const results = await c.transformBatch(files.map(input), { options: transformOptions, includeCode: false });
            for (const r of results) cache.set(files[r.index]!, toEntry(r));
            batchDone = true;
        })();
        return batch;
    }

    async function render(file: string): Promise<Entry> {
        let p = pending.get(file);
        if (!p) {
            p = (async () => {
                const c = await start();
                const [r] = await c.transformBatch([input(file)], { options: transformOptions, includeCode: false });
                const entry = toEntry(r!);
                cache.set(file, entry);
                return entry;
            })();
            pending.set(file, p);
            p.finally(() => pending.delete(file)).catch(() => {});
        }
        return p;
    }

    /** The module of @p file from its result (@p ctx reports a failed page). */
    function moduleOf(ctx: PluginContextLike, file: string, entry: Entry, htmlOnly: boolean): string {
        ctx.addWatchFile?.(file);
        if (entry.ok) {
            const { html, metadata } = entry.result;
            return htmlOnly ? `export default ${jsString(html)};\n` : pageModule(html, metadata, undefined, moduleTag(file));
        }
        const e = entry.error;
        const rel = path.relative(viteRoot, file);
        const where = e.line ? `${rel}:${e.line}:${e.column ?? 1}` : rel;
        const cause = e.message.startsWith(`${e.file}: `) ? e.message.slice(e.file.length + 2) : e.message;
        const message = `${where}: ${String(e.code ?? 'error')}: ${cause}`;
        if (failOnError) {
            ctx.error({
                message,
                id: file,
                loc: e.line ? { file, line: e.line, column: Math.max(0, (e.column ?? 1) - 1) } : undefined,
            });
        }
        ctx.warn(message);
        const error = { code: e.code, message: e.message, line: e.line ?? null, column: e.column ?? null };
        return htmlOnly
            ? `export default "";\n`
            : pageModule('', { file: rel, frontmatter: null, title: null, headings: [] }, error, moduleTag(file));
    }

    async function stop(): Promise<void> {
        const c = client ?? (await starting?.catch(() => undefined));
        client = undefined;
        starting = undefined;
        batch = undefined;
        batchDone = false;
        cache.clear();
        await c?.close();
    }

    const plugin: FastmdVitePlugin = {
        name: 'fastmd',
        enforce: 'pre',
        get client() {
            return client;
        },

        configResolved(config) {
            viteRoot = path.resolve(config.root);
            outDir = path.resolve(viteRoot, config.build?.outDir ?? 'dist');
            roots = (options.roots ?? ['.']).map((r) => path.resolve(viteRoot, r));
            sidecarRoot = commonDir([viteRoot, ...roots]);
        },

        async buildStart() {
            await runBatch();
        },

        load(id) {
            const q = id.indexOf('?');
            const file = q < 0 ? id : id.slice(0, q);
            if (!isMarkdown(file)) return null;
            const params = new URLSearchParams(q < 0 ? '' : id.slice(q + 1));
            for (const k of ['import', 't', 'v']) params.delete(k);
            const keys = [...params.keys()];
            const htmlOnly = keys.length === 1 && keys[0] === 'html';
            if (keys.length > 0 && !htmlOnly) return null; // ?raw, ?url, ...: Vite's own
            // Answered synchronously from the buildStart batch's results: a promise per module
            // would cost a turn of the event loop for each of thousands of pages.
            const ready = batchDone ? cache.get(file) : undefined;
            if (ready) return moduleOf(this, file, ready, htmlOnly);
            return (async () => {
                await runBatch().catch(() => undefined); // its failure shows in the render below
                let entry = cache.get(file);
                if (!entry) {
                    if (!fs.existsSync(file)) return null;
                    entry = await render(file);
                }
                return moduleOf(this, file, entry, htmlOnly);
            })();
        },

        watchChange(id) {
            if (isMarkdown(id)) cache.delete(id);
        },

        handleHotUpdate(ctx) {
            // Rendered again when Vite reloads the module; the sidecar's own cache makes an
            // unchanged page cost one hash.
            if (isMarkdown(ctx.file)) cache.delete(ctx.file);
        },

        configureServer(server) {
            server.httpServer?.once('close', () => void stop());
        },

        async buildEnd(error) {
            if (error) await stop();
        },

        async closeBundle() {
            await stop();
        },
    };
    return plugin;
}

export { fastmd };
