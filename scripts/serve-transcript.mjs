#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Normalise a `fastmd serve` transcript (its standard output, as bytes) so that two runs can be
// compared: timings become 0, each batchFrame becomes one line per item with the item's HTML put
// back into result.html (how the items are grouped into frames depends on timing), and the lines
// are sorted (the lanes answer concurrent requests in any order).
//   node scripts/serve-transcript.mjs TRANSCRIPT > NORMALISED
import fs from 'node:fs';

const timing = /"(ms|elapsedMs|durationMs|renderMs|loadMs|uptime[A-Za-z]*)":[0-9.e+-]+/g;
const buf = fs.readFileSync(process.argv[2]);
const out = [];
let at = 0;
while (at < buf.length) {
  let nl = buf.indexOf(0x0a, at);
  if (nl < 0) nl = buf.length;
  const line = buf.subarray(at, nl).toString('utf8');
  at = nl + 1;
  let msg = null;
  try {
    msg = JSON.parse(line);
  } catch {
    msg = null;
  }
  if (msg?.method !== 'batchFrame') {
    out.push(line.replace(timing, '"$1":0'));
    continue;
  }
  const { batchId, lengths, items } = msg.params;
  for (let k = 0; k < items.length; k++) {
    const item = items[k];
    const html = buf.subarray(at, at + lengths[k]).toString('utf8');
    at += lengths[k];
    if (item.result) item.result.html = html;
    out.push(JSON.stringify({ method: 'batchFrameItem', batchId, item }).replace(timing, '"$1":0'));
  }
}
out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
process.stdout.write(out.join('\n') + '\n');
