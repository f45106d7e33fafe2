// SPDX-License-Identifier: MIT
// The figures of docs/adr/0007-shard-partition.md: for a corpus's page sizes (sorted by path),
// the heaviest shard against the mean (1.000 is perfect) for contiguous ranges (fastmd's rule,
// io/shard.c) and for largest-first assignment, and how many pages change shard when one page of
// the median size is added at the front (what an incremental rebuild of every shard re-renders).
//   node bench/shard-balance.mjs [CORPUS]    (default: ../shared/corpus)
import fs from 'node:fs';
import path from 'node:path';

const PAGE_BYTES = 2048; // FMD_IO_SHARD_PAGE_BYTES
const root = process.argv[2] ?? path.resolve(import.meta.dirname, '../../shared/corpus');
const pages = [];
const walk = (d, rel) => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(path.join(d, e.name), r);
    else if (/\.(md|markdown)$/.test(e.name)) pages.push([r, fs.statSync(path.join(d, e.name)).size]);
  }
};
walk(root, '');
pages.sort((a, b) => (Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))));

function contiguous(sizes, n) {
  const w = sizes.map((s) => BigInt(s + PAGE_BYTES));
  const total = w.reduce((a, b) => a + b, 0n);
  let prefix = 0n;
  return w.map((wi) => {
    let s = (BigInt(n) * (2n * prefix + wi)) / (2n * total);
    prefix += wi;
    return Number(s >= BigInt(n) ? BigInt(n - 1) : s);
  });
}

function largestFirst(sizes, n) {
  const order = sizes.map((s, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b);
  const load = new Array(n).fill(0);
  const of = new Array(sizes.length);
  for (const i of order) {
    let k = 0;
    for (let j = 1; j < n; j++) if (load[j] < load[k]) k = j;
    of[i] = k;
    load[k] += sizes[i] + PAGE_BYTES;
  }
  return of;
}

function imbalance(sizes, of, n) {
  const load = new Array(n).fill(0);
  sizes.forEach((s, i) => { load[of[i]] += s + PAGE_BYTES; });
  const mean = load.reduce((a, b) => a + b, 0) / n;
  return Math.max(...load) / mean;
}

const sizes = pages.map((p) => p[1]);
const median = [...sizes].sort((a, b) => a - b)[sizes.length >> 1];
console.log(`${pages.length} pages, ${sizes.reduce((a, b) => a + b, 0)} bytes, largest ${Math.max(...sizes)}`);
console.log('N    contiguous  largest-first  moved(contiguous)  moved(largest-first)');
for (const n of [2, 3, 4, 7, 16, 64, 256]) {
  const c = contiguous(sizes, n);
  const l = largestFirst(sizes, n);
  const sizes2 = [median, ...sizes]; // a page added at the front
  const c2 = contiguous(sizes2, n).slice(1);
  const l2 = largestFirst(sizes2, n).slice(1);
  const moved = (a, b) => a.filter((k, i) => k !== b[i]).length;
  console.log(`${String(n).padEnd(4)} ${imbalance(sizes, c, n).toFixed(3).padStart(10)}` +
    `  ${imbalance(sizes, l, n).toFixed(3).padStart(13)}  ${String(moved(c, c2)).padStart(17)}` +
    `  ${String(moved(l, l2)).padStart(20)}`);
}
