// SPDX-License-Identifier: MIT
// The exit statuses the code can return against the documentation: the exit-status names that
// cli/*.c uses (FMD_EXIT_* and any NAME with EXIT declared in cli/) must be exactly the rows of
// docs/exit-codes.md, each under its own name, and exactly the codes of the manual page's
// EXIT STATUS section; and that docs/troubleshooting.md names every status base/status.c has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = process.env.FASTMD_SOURCE_DIR;
const read = (...p) => fs.readFileSync(path.join(root, ...p), 'utf8');

const cliFiles = () => fs.readdirSync(path.join(root, 'cli')).filter((f) => /\.[ch]$/.test(f));
const declRe = /(?:#define\s+|\b)([A-Z_]*EXIT[A-Z_]*)(?:\s*=\s*|\s+)(\d+)\b/g;

// Every exit status cli/ names: NAME = N in an enum, or #define NAME N, NAME containing EXIT.
function declared() {
  const m = new Map();
  for (const f of cliFiles()) {
    for (const [, name, value] of read('cli', f).matchAll(declRe)) m.set(name, Number(value));
  }
  return m;
}

// The declared names the .c files of cli/ use (returned, passed to cli_die, mapped to), outside
// their own declaration.
function used() {
  const decl = declared();
  const names = new Set();
  for (const f of cliFiles().filter((f) => f.endsWith('.c'))) {
    const text = read('cli', f).replace(declRe, '');
    for (const n of decl.keys()) if (new RegExp(`\\b${n}\\b`).test(text)) names.add(n);
  }
  return names;
}

function usedCodes() {
  const decl = declared();
  const codes = new Map();
  for (const n of used()) codes.set(decl.get(n), n);
  return codes;
}

test('cli/ uses a handful of exit statuses, all declared', () => {
  const codes = usedCodes();
  assert.ok(codes.size >= 5, `parsed ${[...codes.keys()]}`);
  assert.ok(codes.has(0) && codes.has(64), 'status 0 and 64 must be among them');
});

test('docs/exit-codes.md lists exactly the statuses cli/ uses, each with its name', () => {
  const codes = usedCodes();
  const rows = [...read('docs', 'exit-codes.md').matchAll(/^\| (\d+) \| `([A-Z][A-Z_]*)` \|/gm)];
  const documented = new Map(rows.map(([, n, name]) => [Number(n), name]));
  assert.equal(documented.size, rows.length, 'a status is listed twice');
  const missing = [...codes.keys()].filter((c) => !documented.has(c));
  const extra = [...documented.keys()].filter((c) => !codes.has(c));
  assert.deepEqual(missing, [], `used in cli/ but not in docs/exit-codes.md: ${missing}`);
  assert.deepEqual(extra, [], `in docs/exit-codes.md but never used in cli/: ${extra}`);
  for (const [c, name] of codes) assert.equal(documented.get(c), name, `status ${c}`);
});

test('a status of 128 + a signal number, when cli/ exits so, has its row', () => {
  const bySignal = cliFiles().some((f) => /\b128\s*\+\s*\w+/.test(read('cli', f)));
  const row = /^\| 128 \+ N \|/m.test(read('docs', 'exit-codes.md'));
  assert.equal(row, bySignal, bySignal ? 'cli/ exits with 128 + a signal: add a "| 128 + N |" row'
    : 'docs/exit-codes.md has a "128 + N" row, but cli/ never exits so');
});

test("the manual page's EXIT STATUS lists exactly the statuses cli/ uses", () => {
  const codes = usedCodes();
  const man = read('docs', 'man', 'fastmd.1');
  const sec = man.split(/^\.SH EXIT STATUS$/m)[1]?.split(/^\.SH /m)[0];
  assert.ok(sec, 'no .SH EXIT STATUS in docs/man/fastmd.1');
  const listed = new Set([...sec.matchAll(/^\.TP\n\.B (\d+)$/gm)].map((m) => Number(m[1])));
  assert.deepEqual([...listed].sort((a, b) => a - b), [...codes.keys()].sort((a, b) => a - b));
});

test('docs/troubleshooting.md explains every status name a page or a run can report', () => {
  // The stable names of base/status.c ({"name", "text"}), as the manifest's error.code spells them.
  const names = [...read('base', 'status.c').matchAll(/\] = \{"([a-z0-9-]+)", "/g)].map((m) => m[1]);
  assert.ok(names.length >= 10, `parsed ${names}`);
  const doc = read('docs', 'troubleshooting.md');
  const missing = names.filter((n) => n !== 'ok' && !doc.includes(`\`${n}\``));
  assert.deepEqual(missing, [], `status names not in docs/troubleshooting.md: ${missing}`);
});
