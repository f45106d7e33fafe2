// SPDX-License-Identifier: MIT
// The exit statuses the code can return against the documentation: the FMD_EXIT_* names that
// cli/*.c uses (their values from cli/cli.h) must be exactly the rows of the table in
// docs/exit-codes.md, each under its own name, and exactly the codes of the manual page's
// EXIT STATUS section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = process.env.FASTMD_SOURCE_DIR;
const read = (...p) => fs.readFileSync(path.join(root, ...p), 'utf8');

// FMD_EXIT_NAME = N in cli/cli.h.
function declared() {
  const m = new Map();
  for (const [, name, value] of read('cli', 'cli.h').matchAll(/\b(FMD_EXIT_[A-Z_]+)\s*=\s*(\d+)/g)) {
    m.set(name, Number(value));
  }
  return m;
}

// The FMD_EXIT_* names the .c files of cli/ use (returned, passed to cli_die, mapped to).
function used() {
  const names = new Set();
  for (const f of fs.readdirSync(path.join(root, 'cli')).filter((f) => f.endsWith('.c'))) {
    for (const [n] of read('cli', f).matchAll(/\bFMD_EXIT_[A-Z_]+\b/g)) names.add(n);
  }
  return names;
}

function usedCodes() {
  const decl = declared();
  const codes = new Map();
  for (const n of used()) {
    assert.ok(decl.has(n), `${n} is used in cli/ but not declared in cli/cli.h`);
    codes.set(decl.get(n), n);
  }
  return codes;
}

test('cli/ uses a handful of exit statuses, all declared', () => {
  const codes = usedCodes();
  assert.ok(codes.size >= 5, `parsed ${[...codes.keys()]}`);
  assert.ok(codes.has(0) && codes.has(64), 'status 0 and 64 must be among them');
});

test('docs/exit-codes.md lists exactly the statuses cli/ uses, each with its name', () => {
  const codes = usedCodes();
  const rows = [...read('docs', 'exit-codes.md').matchAll(/^\| (\d+) \| `(FMD_EXIT_[A-Z_]+)` \|/gm)];
  const documented = new Map(rows.map(([, n, name]) => [Number(n), name]));
  assert.equal(documented.size, rows.length, 'a status is listed twice');
  const missing = [...codes.keys()].filter((c) => !documented.has(c));
  const extra = [...documented.keys()].filter((c) => !codes.has(c));
  assert.deepEqual(missing, [], `used in cli/ but not in docs/exit-codes.md: ${missing}`);
  assert.deepEqual(extra, [], `in docs/exit-codes.md but never used in cli/: ${extra}`);
  for (const [c, name] of codes) assert.equal(documented.get(c), name, `status ${c}`);
});

test("the manual page's EXIT STATUS lists exactly the statuses cli/ uses", () => {
  const codes = usedCodes();
  const man = read('docs', 'man', 'fastmd.1');
  const sec = man.split(/^\.SH EXIT STATUS$/m)[1]?.split(/^\.SH /m)[0];
  assert.ok(sec, 'no .SH EXIT STATUS in docs/man/fastmd.1');
  const listed = new Set([...sec.matchAll(/^\.TP\n\.B (\d+)$/gm)].map((m) => Number(m[1])));
  assert.deepEqual([...listed].sort((a, b) => a - b), [...codes.keys()].sort((a, b) => a - b));
});
