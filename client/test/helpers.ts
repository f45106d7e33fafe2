// SPDX-License-Identifier: MIT
// Shared by the client's tests: the binary under test, temporary roots, generated pages and
// wrapper scripts that make the sidecar misbehave.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import v8 from 'node:v8';
import { resolveBinary } from '../src/index.js';

/** The fastmd binary under test: FASTMD_BINARY, else the repository's release build. */
export function fastmdBinary(): string {
    const bin = resolveBinary();
    assert.ok(
        path.isAbsolute(bin) && fs.existsSync(bin),
        `the fastmd binary was not found (${bin}): build it, or set FASTMD_BINARY`,
    );
    return bin;
}

const made: string[] = [];
// Every folder tmpdir() made is removed when the test file's process exits.
process.on('exit', () => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A new folder under the system's temporary folder, removed when the process exits. */
export function tmpdir(tag: string): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `fastmd-client-${tag}-`));
    made.push(d);
    return d;
}

/** The Markdown of page @p i: its number appears in its h1 ("Page <i>"), so order can be checked. */
export function page(i: number, paragraphs = 1 + (i % 7)): string {
    let s = `---\ntitle: Page ${i}\n---\n# Page ${i}\n\n`;
    for (let p = 0; p < paragraphs; p++)
        s += `Paragraph ${p} of page ${i} has *emphasis*, **strong text**, \`code\` and a [link](/p/${i}/${p}).\n\n`;
    if (i % 5 === 0) s += '- one\n- two\n- three\n\n```js\nconsole.log(1);\n```\n';
    return s;
}

/** True when @p html is page @p i's. */
export function isPage(html: string, i: number): boolean {
    return html.includes(`>Page ${i}</h1>`);
}

/** True when @p html is all of page(i)'s HTML: its last paragraph, or list and code, and nothing after. */
export function isWholePage(html: string, i: number): boolean {
    const last = `<p>Paragraph ${i % 7} of page ${i} has <em>emphasis</em>, <strong>strong text</strong>, <code>code</code> and a <a href="/p/${i}/${i % 7}">link</a>.</p>\n`;
    if (i % 5 === 0) return html.includes(last) && html.endsWith('<pre><code class="language-js">console.log(1);\n</code></pre>\n');
    return html.endsWith(last);
}

/** A long page (about @p bytes) that keeps the renderer busy. */
export function longPage(bytes: number, seed = 0): string {
    const parts: string[] = [`# Long page ${seed}\n\n`];
    let n = parts[0]!.length;
    for (let k = 0; n < bytes; k++) {
        const block =
            k % 4 === 3
                ? `| a | b | c |\n|---|---|---|\n| ${k} | *x* | [l](/u/${k}) |\n| 1 | 2 | 3 |\n\n`
                : `Paragraph ${k}: some *emphasis*, **strong**, \`code ${k}\`, a [link](https://example.com/${k}) and "quotes" -- with dashes...\n\n`;
        parts.push(block);
        n += block.length;
    }
    return parts.join('');
}

/**
 * A root holding @p count long pages of about @p bytes each (long-<k>.md), for batches that take
 * the sidecar long enough to be cancelled or timed out while they run.
 */
export function slowRoot(count = 8, bytes = 64 << 10): { root: string; files: string[] } {
    const root = tmpdir('slow');
    const files: string[] = [];
    for (let k = 0; k < count; k++) {
        const f = `long-${k}.md`;
        fs.writeFileSync(path.join(root, f), longPage(bytes, k));
        files.push(f);
    }
    return { root, files };
}

/** Writes an executable script @p name into @p dir and returns its path. */
export function script(dir: string, name: string, text: string): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text, { mode: 0o755 });
    return p;
}

/** sh quoting. */
export function sq(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

let gcFn: (() => void) | undefined;
/** A full garbage collection, without --expose-gc on the command line. */
export function gc(): void {
    if (!gcFn) {
        v8.setFlagsFromString('--expose-gc');
        gcFn = vm.runInNewContext('gc') as () => void;
    }
    gcFn();
    gcFn();
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once @p cond() holds, polling; rejects after @p ms. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10000, what = 'condition'): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(20);
    }
}

/**
 * JavaScript for wrapper scripts: splitMessages(stream, onMessage) cuts either direction of the
 * traffic into whole messages, each a line plus the params.bytes raw bytes after it when it has
 * them (a batchFrame; a transformBatch with inline content), and calls onMessage(line, bytes)
 * with the line's text and all of the message's bytes.
 */
export const SPLIT_MESSAGES_JS = `
function splitMessages(stream, onMessage) {
    let chunks = [], have = 0, lineEnd = -1, need = 0;
    stream.on('data', (d) => {
        chunks.push(d);
        have += d.length;
        for (;;) {
            if (lineEnd < 0) {
                const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
                chunks = [all];
                const nl = all.indexOf(10);
                if (nl < 0) return;
                lineEnd = nl + 1;
                const line = all.subarray(0, lineEnd).toString('utf8');
                need = lineEnd;
                let raw = 0;
                try { raw = JSON.parse(line).params?.bytes ?? 0; } catch {}
                if (Number.isSafeInteger(raw) && raw > 0) need += raw;
            }
            if (have < need) return;
            const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
            const msg = all.subarray(0, need);
            onMessage(msg.subarray(0, lineEnd).toString('utf8'), msg);
            chunks = [all.subarray(need)];
            have -= need;
            lineEnd = -1;
            if (have === 0) chunks = [];
        }
    });
}
`;

/**
 * A wrapper around the real binary that counts the transformBatch requests in flight (sent, not
 * yet answered) and writes the most it saw to @p log whenever that grows; a `ping` starts the
 * count again.
 */
export function inflightWrapper(dir: string, binary: string, log: string): string {
    return script(
        dir,
        'fastmd-inflight.mjs',
        `#!/usr/bin/env node
import { spawn } from 'node:child_process';
import fs from 'node:fs';
const child = spawn(${JSON.stringify(binary)}, process.argv.slice(2), { stdio: ['pipe', 'pipe', 'inherit'] });
const live = new Set();
let most = 0;
fs.writeFileSync(${JSON.stringify(log)}, '0');
${SPLIT_MESSAGES_JS}
splitMessages(process.stdin, (line, bytes) => {
    const m = JSON.parse(line);
    if (m.method === 'ping') fs.writeFileSync(${JSON.stringify(log)}, String((most = live.size)));
    if (m.method === 'transformBatch') {
        live.add(m.id);
        if (live.size > most) fs.writeFileSync(${JSON.stringify(log)}, String((most = live.size)));
    }
    child.stdin.write(bytes);
});
process.stdin.on('end', () => child.stdin.end());
splitMessages(child.stdout, (line, bytes) => {
    if (line.startsWith('{"jsonrpc":"2.0","id":')) live.delete(JSON.parse(line).id);
    process.stdout.write(bytes);
});
child.on('exit', (code) => process.exit(code ?? 1));
`,
    );
}
