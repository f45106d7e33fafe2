#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// fastmd serve benchmark: the whole shared corpus through one transformBatch, with the page
// text inline and by path, against `fastmd build` on the same pages.
//
//   node bench/serve-bench.mjs [--bin build/release/fastmd] [--corpus ../shared/corpus]
//                              [--threads N] [--runs 10] [--json out.json]
//
// For each mode it discards one warm-up run, then reports the minimum and median of --runs runs
// of: the client's wall time from writing the request to having parsed the answer (the server
// is long-lived, so no process start is counted), pages/s, the batch's own time as the server
// measured it (stats.ms: from its start to its answer written), and the server's figures from
// the `stats` method (differences around each run): seconds parsing request JSON, formatting
// response JSON, writing it, reading files, rendering. The JSON share is
// (parse + serialise + write) / (parse + serialise + write + load + render), in thread-seconds.
// `fastmd build` runs as a process per run (tree mode: HTML files + manifest, and --ndjson to
// /dev/null: no files); its wall time is its own (--summary-json), without process start.
// Every run is checked: each page's hash matches the build manifest's, and (first run) each
// page's HTML matches `build --ndjson`'s with the same options.
// The modes above run with the result cache off (--cache-bytes 0), since they send the same pages
// run after run. The cache has its own figures: per run a fresh server (cache on), a first pass
// (every page a miss) then a second (every page a hit), by path and inline, through frames; the
// medians of both and their ratio (target: the second pass at least 5x faster), and a third pass
// that sends each page's etag from the first as ifNoneMatch (every item notModified). Then a dev-server
// loop: 1,000 single `transform` calls on one page whose body changes on every call and whose
// front matter does not, with the p50 and p99 latency as the client sees it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}
const bin = path.resolve(arg('bin', process.env.FASTMD_BIN ?? path.join(repo, 'build/release/fastmd')));
const corpus = path.resolve(arg('corpus', path.join(repo, '../shared/corpus')));
const threads = arg('threads', String(os.availableParallelism()));
const runs = Number(arg('runs', '10'));
const jsonOut = arg('json', null);
// --only cache: just the result cache's passes and the dev-server loop (no build, no other mode).
const only = arg('only', null);
// The options of `fastmd build` (GFM, no footnotes, no smart punctuation), so the work is equal.
const options = { footnotes: false, smartPunctuation: false };

function listPages(dir) {
  const out = [];
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else if (e.isFile() && /\.(md|markdown)$/.test(e.name)) out.push(r);
    }
  };
  walk(dir, '');
  return out.sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
}

// Split a byte stream into lines without readline's string concatenation: chunks are kept as
// Buffers until a newline, then joined once and decoded once. fn(line) returns how many raw bytes
// follow the line (a batchFrame's), which go to onBytes(buffer) in one piece.
function onLines(stream, fn, onBytes) {
  let parts = [];
  let want = 0; // raw bytes still to collect
  let raw = [];
  stream.on('data', (chunk) => {
    let start = 0;
    while (start < chunk.length) {
      if (want > 0) {
        const take = Math.min(want, chunk.length - start);
        raw.push(chunk.subarray(start, start + take));
        want -= take;
        start += take;
        if (want === 0) {
          onBytes(raw.length === 1 ? raw[0] : Buffer.concat(raw));
          raw = [];
        }
        continue;
      }
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      parts.push(chunk.subarray(start, nl));
      const line = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      parts = [];
      start = nl + 1;
      want = fn(line.toString('utf8')) ?? 0;
    }
    if (start < chunk.length) parts.push(chunk.subarray(start));
  });
}

class Server {
  constructor(args, command = [bin, 'serve', '--quiet', ...args]) {
    this.proc = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    this.pending = new Map();
    this.items = null; // batchItem results of the streaming batch being run
    this.nextId = 1;
    this.parseMs = 0;
    let frame = null;
    onLines(this.proc.stdout, (line) => {
      const t0 = performance.now();
      const msg = JSON.parse(line);
      this.parseMs += performance.now() - t0;
      if (msg.method === 'batchItem') {
        this.items[msg.params.index] = msg.params;
      } else if (msg.method === 'batchFrame') {
        frame = msg.params;
        if (frame.bytes > 0) return frame.bytes;
        for (const it of frame.items) this.items[it.index] = it;
      } else if (msg.id !== undefined && this.pending.has(msg.id)) {
        this.pending.get(msg.id)(msg);
        this.pending.delete(msg.id);
      }
      return 0;
    }, (bytes) => {
      // The frame's HTML: item k's is the next lengths[k] bytes.
      const t0 = performance.now();
      let off = 0;
      frame.items.forEach((it, k) => {
        if (it.result) it.result.html = bytes.toString('utf8', off, off + frame.lengths[k]);
        off += frame.lengths[k];
        this.items[it.index] = it;
      });
      this.parseMs += performance.now() - t0;
    });
  }
  // params.files items with `raw` (page text) send it as raw bytes after the line.
  request(method, params) {
    const id = this.nextId++;
    const t0 = performance.now();
    const raw = [];
    if (params.files?.some((f) => f.raw !== undefined)) {
      params.files = params.files.map((f) => {
        if (f.raw === undefined) return f;
        const b = Buffer.from(f.raw, 'utf8');
        raw.push(b);
        const { raw: _, ...rest } = f; // file, and ifNoneMatch when given
        return { ...rest, contentBytes: b.length };
      });
      params.bytes = raw.reduce((a, b) => a + b.length, 0);
    }
    const line = JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n';
    const stringifyMs = performance.now() - t0;
    return new Promise((resolve) => {
      this.pending.set(id, (msg) => resolve({ msg, stringifyMs, bytes: line.length + (params.bytes ?? 0) }));
      this.proc.stdin.cork();
      this.proc.stdin.write(line);
      for (const b of raw) this.proc.stdin.write(b);
      this.proc.stdin.uncork();
    });
  }
  async close() {
    await this.request('shutdown', {});
    await new Promise((r) => this.proc.on('exit', r));
  }
}

const quantiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor((s.length - 1) / 2)] };
};

// CPU time the server process has used so far, in ms: the sum of its threads' run time
// (/proc/PID/task/*/schedstat, nanoseconds), so that a pass's cost is counted on every thread.
function cpuMs(pid) {
  let ns = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch { /* the thread ended */ }
  }
  return ns / 1e6;
}

// --only callgrind: exact instruction counts of the server (1 thread, under valgrind's
// callgrind) for a first pass (every page a miss) and a second pass (every page a hit) of one
// frames batch by path over the first --pages pages, counted apart with callgrind_control:
// zeroed once the server is ready, dumped after the first pass, and dumped at exit after the
// second (which adds the shutdown: a few thousand instructions). Wall times on a shared machine
// swing 2x; these counts do not.
async function callgrindPasses(files) {
  const pages = files.slice(0, Number(arg('pages', '2000')));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-serve-cg-'));
  const server = new Server([], ['valgrind', '--tool=callgrind', `--callgrind-out-file=${dir}/cg.out`,
    bin, 'serve', '--quiet', '--threads', '1', '--root', corpus]);
  await server.request('ping', {});
  const ctl = (flag) => spawnSync('callgrind_control', [flag, String(server.proc.pid)], { encoding: 'utf8' });
  ctl('-z');
  const counts = {};
  let etags = [];
  for (const pass of ['miss', 'hit', 'revalidate']) {
    server.items = new Array(pages.length);
    const files = pages.map((file, i) => (pass === 'revalidate' ? { file, ifNoneMatch: etags[i] } : { file }));
    const { msg } = await server.request('transformBatch', { files, options, includeCode: false, frames: true, progress: false, etags: true });
    const st = msg.result?.stats;
    if (!st || st.ok !== pages.length) throw new Error(`callgrind ${pass}: ${JSON.stringify(msg.error ?? st)}`);
    if (pass === 'revalidate' && st.notModified !== pages.length) throw new Error(`callgrind revalidate: ${JSON.stringify(st)}`);
    if (pass === 'miss') etags = server.items.map((it) => it.etag);
    if (pass !== 'revalidate') ctl('-d');
  }
  await server.close();
  for (const f of fs.readdirSync(dir)) {
    const m = fs.readFileSync(path.join(dir, f), 'utf8').match(/^summary: (\d+)/m) ?? fs.readFileSync(path.join(dir, f), 'utf8').match(/^totals: (\d+)/m);
    const part = /\.1$/.test(f) ? 'miss' : /\.2$/.test(f) ? 'hit' : 'revalidate';
    counts[part] = Number(m[1]);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`callgrind, ${pages.length} pages by path, frames, 1 thread: miss pass ${(counts.miss / 1e6).toFixed(1)} M instructions ` +
    `(${Math.round(counts.miss / pages.length)} per page), hit pass ${(counts.hit / 1e6).toFixed(1)} M ` +
    `(${Math.round(counts.hit / pages.length)} per page): a hit costs ${(counts.miss / counts.hit).toFixed(2)}x less; ` +
    `revalidate pass (ifNoneMatch) ${(counts.revalidate / 1e6).toFixed(1)} M (${Math.round(counts.revalidate / pages.length)} per page): ` +
    `${(counts.miss / counts.revalidate).toFixed(2)}x less`);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ pages: pages.length, instructions: counts }, null, 2) + '\n');
}

// --only devcallgrind: exact instruction counts of the dev-server loop (200 single transforms of
// one corpus page with front matter, its body edited each time, the same options object on every
// call), 1 thread under callgrind: the whole server, and inclusive counts of the front matter's
// parse (fmd__kernel_frontmatter) and of the request's options (parse_options, serve/rpc.c). They
// bound what a front-matter cache (keyed by the block's hash) or a parsed-options cache could save.
async function devCallgrind(files) {
  const contents = files.map((f) => fs.readFileSync(path.join(corpus, f), 'utf8'));
  // --page PATH: that corpus page instead of the first with front matter.
  const body = arg('page', null) ? fs.readFileSync(path.join(corpus, arg('page')), 'utf8')
    : contents.find((c) => c.startsWith('---\n')) ?? contents[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-serve-devcg-'));
  const out = path.join(dir, 'cg.out');
  const server = new Server([], ['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`,
    bin, 'serve', '--quiet', '--threads', '1', '--lanes', '1']);
  await server.request('ping', {});
  spawnSync('callgrind_control', ['-z', String(server.proc.pid)]);
  const calls = 200;
  for (let k = 0; k < calls; k++) {
    const { msg } = await server.request('transform', { file: 'dev.md', content: `${body}\n\nEdit ${k}.\n`, options, includeCode: false });
    if (!msg.result) throw new Error(`dev loop: ${JSON.stringify(msg.error)}`);
  }
  await server.close();
  const ann = spawnSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', out], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
  fs.rmSync(dir, { recursive: true, force: true });
  const total = Number(ann.match(/^([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/m)[1].replace(/,/g, ''));
  const incl = (fn) => {
    const m = ann.match(new RegExp(`^\\s*([\\d,]+) \\([^)]*\\)\\s+\\S*:${fn}\\b`, 'm'));
    return m ? Number(m[1].replace(/,/g, '')) : 0;
  };
  const fm = incl('fmd__kernel_frontmatter');
  const opts = incl('parse_options');
  const page = incl('fmd_kernel_page_render');
  const fmBytes = body.indexOf('\n---', 3) + 4;
  console.log(`callgrind, dev loop, ${calls} transforms of a ${Buffer.byteLength(body)}-byte page (front matter ${fmBytes} bytes), 1 thread: ` +
    `${(total / calls).toFixed(0)} instructions per call in all; render ${(page / calls).toFixed(0)} ` +
    `(${(100 * page / total).toFixed(1)}%); front matter ${(fm / calls).toFixed(0)} (${(100 * fm / total).toFixed(1)}%); ` +
    `options ${(opts / calls).toFixed(0)} (${(100 * opts / total).toFixed(1)}%)`);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ calls, total, render: page, frontmatter: fm, options: opts }, null, 2) + '\n');
}

async function main() {
  const files = listPages(corpus);
  if (only === 'callgrind') return callgrindPasses(files);
  if (only === 'devcallgrind') return devCallgrind(files);
  const n = files.length;
  const contents = files.map((f) => fs.readFileSync(path.join(corpus, f), 'utf8'));
  const bytes = contents.reduce((a, c) => a + Buffer.byteLength(c), 0);
  console.log(`fastmd serve bench: ${n} pages, ${(bytes / 1e6).toFixed(2)} MB, ${threads} threads, ` +
    `${runs} runs after 1 warm-up, ${os.cpus()[0].model}`);

  // Reference outputs: the build manifest (hashes) and build --ndjson (HTML).
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'fastmd-serve-bench-'));
  const buildRun = (extra) => {
    const t0 = performance.now();
    const r = spawnSync(bin, ['build', '--threads', threads, '--quiet', '--summary-json', path.join(out, 'summary.json'), corpus, ...extra], { maxBuffer: 1 << 30 });
    const wall = performance.now() - t0;
    if (r.status !== 0 && r.status !== 1) throw new Error(`build failed: ${r.stderr}`);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
    return { processMs: wall, ms: summary.wallSeconds * 1e3 };
  };
  buildRun([path.join(out, 'tree')]);
  const manifest = new Map(
    fs.readFileSync(path.join(out, 'tree/manifest.ndjson'), 'utf8').split('\n').filter(Boolean)
      .map((l) => JSON.parse(l)).map((m) => [m.path, m]),
  );
  const nd = spawnSync(bin, ['build', '--threads', threads, '--quiet', corpus, '--ndjson', '-'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  const refHtml = new Map(nd.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((m) => [m.path, m.html]));

  const server = new Server(['--threads', threads, '--root', corpus, '--cache-bytes', '0']);
  const stats = async () => (await server.request('stats', {})).msg.result;
  const inline = () => files.map((file, i) => ({ file, content: contents[i] }));
  const byPath = () => files.map((file) => ({ file }));
  const inlineRaw = () => files.map((file, i) => ({ file, raw: contents[i] }));
  const modes = {
    'serve inline': inline,
    'serve inline, no code': inline,
    'serve inline, stream, no code': inline,
    'serve inline, frames, no code': inline,
    'serve inline bytes, frames, no code': inlineRaw,
    'serve by path': byPath,
    'serve by path, no code': byPath,
    'serve by path, stream': byPath,
    'serve by path, stream, no code': byPath,
    'serve by path, frames, no code': byPath,
  };
  const results = {};
  let checkedHtml = false;
  for (const [mode, make] of Object.entries(only === 'cache' ? {} : modes)) {
    const includeCode = !mode.includes('no code');
    const frames = mode.includes('frames');
    const stream = frames || mode.includes('stream');
    const rows = [];
    for (let r = 0; r <= runs; r++) {
      const params = { files: make(), options, includeCode, stream, frames, progress: false };
      const s0 = await stats();
      server.parseMs = 0;
      server.items = new Array(n);
      const t0 = performance.now();
      const { msg, stringifyMs, bytes: reqBytes } = await server.request('transformBatch', params);
      const wall = performance.now() - t0;
      const s1 = await stats();
      const res = msg.result;
      if (!res || res.stats.ok !== n) throw new Error(`${mode}: ${JSON.stringify(msg.error ?? res.stats)}`);
      if (stream) res.results = server.items;
      for (let i = 0; i < n; i++) {
        const it = res.results[i];
        const ref = manifest.get(files[i]);
        if (it.result.metadata.hash !== ref.hash) throw new Error(`${mode}: hash differs for ${files[i]}`);
      }
      if (!checkedHtml || (frames && r === 0)) { // frames carry the HTML apart: check them too
        let differ = 0;
        for (let i = 0; i < n; i++) if (res.results[i].result.html !== refHtml.get(files[i])) differ++;
        if (differ) throw new Error(`${mode}: HTML differs from build --ndjson for ${differ} pages`);
        checkedHtml = true;
      }
      const d = (k) => s1.time[k] - s0.time[k];
      const json = d('parseSeconds') + d('serializeSeconds') + d('writeSeconds');
      const other = d('loadSeconds') + d('renderSeconds');
      if (r === 0) continue; // warm-up
      rows.push({
        wallMs: wall,
        serverMs: res.stats.ms,
        parseS: d('parseSeconds'),
        serializeS: d('serializeSeconds'),
        writeS: d('writeSeconds'),
        loadS: d('loadSeconds'),
        renderS: d('renderSeconds'),
        jsonShare: json / (json + other),
        clientStringifyMs: stringifyMs,
        clientParseMs: server.parseMs,
        requestBytes: reqBytes,
        responseBytes: s1.bytes.written - s0.bytes.written,
      });
    }
    results[mode] = rows;
  }
  await server.close();

  // The result cache: a first pass (misses) against a second (hits) on a fresh server each run.
  // A third pass sends each page's etag from the first as ifNoneMatch: every item is answered
  // notModified (no result, no HTML), and the client keeps the results it has.
  const cacheRows = {};
  for (const m of ['cache by path, frames', 'cache inline bytes, frames'])
    for (const pass of ['miss', 'hit', 'revalidate']) cacheRows[`${m}: ${pass}`] = [];
  for (let r = 0; r <= runs; r++) {
    for (const [name, make] of [['cache by path, frames', byPath], ['cache inline bytes, frames', inlineRaw]]) {
      const srv = new Server(['--threads', threads, '--root', corpus]);
      let held = null; // the first pass's items: what the client holds
      for (const pass of ['miss', 'hit', 'revalidate']) {
        srv.items = new Array(n);
        const c0 = cpuMs(srv.proc.pid);
        const t0 = performance.now();
        const files = pass === 'revalidate' ? make().map((f, i) => ({ ...f, ifNoneMatch: held[i].etag })) : make();
        const { msg } = await srv.request('transformBatch', { files, options, includeCode: false, frames: true, progress: false, etags: true });
        let items = srv.items;
        if (pass === 'revalidate') // the client's view: what it held, for every page notModified
          items = items.map((it, i) => (it.notModified && it.etag === held[i].etag ? held[i] : it));
        const wall = performance.now() - t0;
        const cpu = cpuMs(srv.proc.pid) - c0;
        const st = msg.result?.stats;
        const want = pass === 'miss' ? st?.cacheMisses : pass === 'hit' ? st?.cacheHits : st?.notModified;
        if (!st || st.ok !== n || want !== n) throw new Error(`${name} ${pass}: ${JSON.stringify(msg.error ?? st)}`);
        for (let i = 0; i < n; i++)
          if (items[i].result.html !== refHtml.get(files[i].file)) throw new Error(`${name} ${pass}: HTML differs for ${files[i].file}`);
        if (pass === 'miss') held = items;
        if (r > 0) cacheRows[`${name}: ${pass}`].push({ wallMs: wall, cpuMs: cpu, serverMs: st.ms });
      }
      await srv.close();
    }
  }
  Object.assign(results, cacheRows);

  // A dev server's loop: one page, its body edited on every save, its front matter unchanged.
  const devLatency = [];
  {
    const srv = new Server(['--threads', threads]);
    const body = contents.find((c) => c.startsWith('---\n')) ?? contents[0];
    for (let k = 0; k < 1000; k++) {
      const t0 = performance.now();
      const { msg } = await srv.request('transform', { file: 'dev.md', content: `${body}\n\nEdit ${k}.\n`, options, includeCode: false });
      if (!msg.result) throw new Error(`dev loop: ${JSON.stringify(msg.error)}`);
      devLatency.push(performance.now() - t0);
    }
    await srv.close();
  }

  // build --ndjson into a pipe read and parsed by this process, as serve's answers are: the
  // same delivery (process start included, since build has no other way to run).
  const buildPiped = () => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(bin, ['build', '--threads', threads, '--quiet', corpus, '--ndjson', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let count = 0;
    onLines(p.stdout, (line) => { JSON.parse(line); count++; });
    p.on('exit', (code) => (code === 0 && count === n ? resolve(performance.now() - t0) : reject(new Error(`build --ndjson -: ${code}, ${count} lines`))));
  });
  for (let once = only !== 'cache'; once; once = false) {
    const rows = [];
    for (let r = 0; r <= runs; r++) {
      const ms = await buildPiped();
      if (r > 0) rows.push({ wallMs: ms, processMs: ms });
    }
    results['build --ndjson - | node'] = rows;
  }
  for (const [mode, extra] of only === 'cache' ? [] : [['build (tree: files + manifest)', ['TREE']], ['build --ndjson /dev/null', ['--ndjson', '/dev/null']]]) {
    const rows = [];
    for (let r = 0; r <= runs; r++) {
      const dir = path.join(out, `t${r}`);
      const x = buildRun(extra[0] === 'TREE' ? [dir] : extra);
      fs.rmSync(dir, { recursive: true, force: true });
      if (r > 0) rows.push({ wallMs: x.ms, processMs: x.processMs });
    }
    results[mode] = rows;
  }
  fs.rmSync(out, { recursive: true, force: true });

  const fmt = (v, d = 1) => v.toFixed(d).padStart(8);
  console.log(`\n${'mode'.padEnd(32)} ${'min ms'.padStart(8)} ${'med ms'.padStart(8)} ${'pages/s'.padStart(8)}` +
    ` ${'server'.padStart(8)} ${'parse s'.padStart(8)} ${'ser s'.padStart(8)} ${'write s'.padStart(8)} ${'load s'.padStart(8)} ${'render s'.padStart(8)} ${'JSON %'.padStart(8)}`);
  const summary = {};
  for (const [mode, rows] of Object.entries(results)) {
    const q = quantiles(rows.map((x) => x.wallMs));
    const med = (k) => quantiles(rows.map((x) => x[k])).median;
    summary[mode] = { minMs: q.min, medianMs: q.median, pagesPerSecond: n / (q.median / 1e3) };
    let line = `${mode.padEnd(32)} ${fmt(q.min)} ${fmt(q.median)} ${fmt(n / (q.median / 1e3), 0)}`;
    if (rows[0].cpuMs !== undefined) {
      line += ` ${fmt(med('serverMs'))}   server CPU ${fmt(med('cpuMs'))} ms`;
      Object.assign(summary[mode], { serverMedianMs: med('serverMs'), serverCpuMedianMs: med('cpuMs') });
    } else if (rows[0].parseS !== undefined) {
      line += ` ${fmt(med('serverMs'))} ${fmt(med('parseS'), 3)} ${fmt(med('serializeS'), 3)} ${fmt(med('writeS'), 3)} ${fmt(med('loadS'), 3)} ${fmt(med('renderS'), 3)} ${fmt(100 * med('jsonShare'))}`;
      Object.assign(summary[mode], {
        serverMedianMs: med('serverMs'), parseSeconds: med('parseS'), serializeSeconds: med('serializeS'),
        writeSeconds: med('writeS'), loadSeconds: med('loadS'), renderSeconds: med('renderS'),
        jsonShare: med('jsonShare'), clientStringifyMs: med('clientStringifyMs'),
        clientParseMs: med('clientParseMs'), requestBytes: rows[0].requestBytes, responseBytes: rows[0].responseBytes,
      });
    } else if (rows[0].processMs !== undefined) {
      summary[mode].processMedianMs = med('processMs');
    }
    console.log(line);
  }
  console.log('\nclient side (median): ' + Object.entries(summary).filter(([, v]) => v.clientParseMs !== undefined)
    .map(([m, v]) => `${m}: stringify ${v.clientStringifyMs.toFixed(1)} ms, parse ${v.clientParseMs.toFixed(1)} ms, ` +
      `${(v.requestBytes / 1e6).toFixed(1)} MB up, ${(v.responseBytes / 1e6).toFixed(1)} MB down`).join('; '));
  // Ratios of medians and of minima (the minimum is the steadier figure on a busy machine).
  const ratio = (a, b) => `${(summary[a].medianMs / summary[b].medianMs).toFixed(2)}x median, ` +
    `${(summary[a].minMs / summary[b].minMs).toFixed(2)}x min`;
  if (only !== 'cache') console.log('\nserve by path against fastmd build (target: within 1.3x):');
  for (const [a, b] of only === 'cache' ? [] : [
    ['serve by path', 'build (tree: files + manifest)'],
    ['serve by path, no code', 'build (tree: files + manifest)'],
    ['serve by path, stream, no code', 'build --ndjson - | node'],
    ['serve by path, stream', 'build --ndjson - | node'],
    ['serve by path, frames, no code', 'build --ndjson - | node'],
    ['serve by path, no code', 'build --ndjson /dev/null'],
    ['serve by path, stream, no code', 'build --ndjson /dev/null'],
  ]) console.log(`  ${a.padEnd(32)} / ${b.padEnd(32)} ${ratio(a, b)}`);
  if (only !== 'cache')
    console.log(`  server side only (stats.ms, answer written), by path, no code / build --ndjson /dev/null: ` +
      `${(summary['serve by path, no code'].serverMedianMs / summary['build --ndjson /dev/null'].medianMs).toFixed(2)}x median`);
  console.log('\nresult cache, second pass against first (target: at least 5x faster):');
  for (const m of ['cache by path, frames', 'cache inline bytes, frames'])
    console.log(`  ${m.padEnd(32)} miss ${summary[`${m}: miss`].medianMs.toFixed(1)} ms, hit ${summary[`${m}: hit`].medianMs.toFixed(1)} ms median: ` +
      `${(summary[`${m}: miss`].medianMs / summary[`${m}: hit`].medianMs).toFixed(2)}x median, ` +
      `${(summary[`${m}: miss`].minMs / summary[`${m}: hit`].minMs).toFixed(2)}x min; ` +
      `server CPU miss ${summary[`${m}: miss`].serverCpuMedianMs.toFixed(1)} ms, hit ` +
      `${summary[`${m}: hit`].serverCpuMedianMs.toFixed(1)} ms: ` +
      `${(summary[`${m}: miss`].serverCpuMedianMs / summary[`${m}: hit`].serverCpuMedianMs).toFixed(2)}x; ` +
      `batch stats.ms ${(summary[`${m}: miss`].serverMedianMs / summary[`${m}: hit`].serverMedianMs).toFixed(2)}x`);
  console.log('result cache, third pass with ifNoneMatch (notModified) against first (target: at least 5x faster):');
  for (const m of ['cache by path, frames', 'cache inline bytes, frames'])
    console.log(`  ${m.padEnd(32)} miss ${summary[`${m}: miss`].medianMs.toFixed(1)} ms, revalidate ${summary[`${m}: revalidate`].medianMs.toFixed(1)} ms median: ` +
      `${(summary[`${m}: miss`].medianMs / summary[`${m}: revalidate`].medianMs).toFixed(2)}x median, ` +
      `${(summary[`${m}: miss`].minMs / summary[`${m}: revalidate`].minMs).toFixed(2)}x min; server CPU ` +
      `${(summary[`${m}: miss`].serverCpuMedianMs / summary[`${m}: revalidate`].serverCpuMedianMs).toFixed(2)}x`);
  console.log(`(load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}: the machine may be shared)`);
  const lat = [...devLatency].sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
  summary['dev loop: 1000 transforms, body edited'] = { p50Ms: pct(50), p99Ms: pct(99) };
  console.log(`\ndev-server loop (1000 transform calls, body edited each time): p50 ${pct(50).toFixed(3)} ms, p99 ${pct(99).toFixed(3)} ms`);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ pages: n, bytes, threads: Number(threads), runs, summary }, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
