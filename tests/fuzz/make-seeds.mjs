#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Writes a libFuzzer seed corpus for fuzz_render into a directory: every CommonMark 0.31.2 spec
// example (npm package commonmark-spec), every GFM 0.29.0.gfm.6 spec example
// (tests/spec/gfm-spec-0.29.0.gfm.6.txt) and a 2 KiB page of each pathological class
// (tests/pathological/gen.mjs). fuzz_render reads its first input byte as the options, so each
// seed is one options byte and then the page:
//   cm-NNNN      0x07: commonmark dialect, unsafe, no heading IDs (as the CommonMark runner)
//   gfm-NNNN     0x06: gfm dialect, unsafe, no heading IDs (as the GFM runner)
//   gfm-safe-NNNN 0x18: gfm dialect, safe mode, heading IDs, footnotes, smart punctuation
//   patho-CLASS  0x06
// Usage: node make-seeds.mjs DIR    (DIR is created if missing; existing files are overwritten)

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import spec from 'commonmark-spec';
import { parseSpec } from '../spec/run-gfm-spec.mjs';
import { CLASSES, pageOfSize } from '../pathological/gen.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const OPT_CM = 0x07, OPT_GFM = 0x06, OPT_GFM_SAFE = 0x18;
const PATHO_BYTES = 2048;

function seed(dir, name, opt, page) {
    writeFileSync(join(dir, name), Buffer.concat([Buffer.from([opt]), Buffer.from(page, 'utf8')]));
}

function main(argv) {
    if (argv.length !== 1) {
        process.stderr.write('usage: node make-seeds.mjs DIR\n');
        process.exit(2);
    }
    const dir = argv[0];
    mkdirSync(dir, { recursive: true });
    const num = (n) => String(n).padStart(4, '0');
    let count = 0;
    for (const t of spec.tests) {
        seed(dir, `cm-${num(t.number)}`, OPT_CM, t.markdown.replace(/→/g, '\t'));
        count++;
    }
    const gfm = parseSpec(readFileSync(join(HERE, '../spec/gfm-spec-0.29.0.gfm.6.txt'), 'utf8'));
    for (const ex of gfm) {
        seed(dir, `gfm-${num(ex.number)}`, OPT_GFM, ex.markdown);
        seed(dir, `gfm-safe-${num(ex.number)}`, OPT_GFM_SAFE, ex.markdown);
        count += 2;
    }
    for (const name of Object.keys(CLASSES)) {
        seed(dir, `patho-${name}`, OPT_GFM, pageOfSize(name, PATHO_BYTES));
        count++;
    }
    process.stdout.write(`make-seeds: ${count} seeds in ${dir}\n`);
}

main(process.argv.slice(2));
