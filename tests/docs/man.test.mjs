// SPDX-License-Identifier: MIT
// The manual pages (docs/man/fastmd.1 and one per command) against the binary's own help: every
// command that
// `fastmd --help` lists has a section, every flag that `fastmd CMD --help` prints is described in
// that command's section or under COMMON OPTIONS, every flag a command's section names is one the
// command has, every environment variable cli/ reads is under ENVIRONMENT, and groff renders the
// page without a warning. Each command's own page (fastmd-CMD.1, made by docs/man/split.mjs) is
// current with fastmd.1, describes every flag of 'fastmd CMD --help' and no other, and renders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const bin = process.env.FASTMD_BIN;
const root = process.env.FASTMD_SOURCE_DIR;
const manPath = path.join(root, 'docs', 'man', 'fastmd.1');

function help(args) {
  const r = spawnSync(bin, [...args, '--help'], { encoding: 'utf8' });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `fastmd ${args.join(' ')} --help: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

// Every --long-flag named in a text.
function flags(text) {
  return new Set([...text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]/g)].map((m) => m[0]));
}

// The page's text with roff escapes for hyphens and fonts undone, comments dropped.
function roffText(src) {
  return src
    .split('\n')
    .filter((l) => !l.startsWith('.\\"'))
    .join('\n')
    .replace(/\\-/g, '-')
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\&/g, '');
}

// Sections (.SH) and subsections (.SS) by title; a subsection's text is also in its section's.
function sections(text) {
  const out = new Map();
  let sh = null;
  let ss = null;
  for (const line of text.split('\n')) {
    const m = line.match(/^\.(SH|SS)\s+"?(.*?)"?\s*$/);
    if (m && m[1] === 'SH') {
      sh = m[2];
      ss = null;
      out.set(sh, '');
      continue;
    }
    if (m && m[1] === 'SS') {
      ss = m[2];
      out.set(ss, '');
    }
    if (sh) out.set(sh, out.get(sh) + line + '\n');
    if (ss) out.set(ss, out.get(ss) + line + '\n');
  }
  return out;
}

const page = roffText(fs.readFileSync(manPath, 'utf8'));
const secs = sections(page);

// The commands `fastmd --help` lists under "Commands:".
function commands() {
  const text = help([]);
  const block = text.split(/^Commands:\n/m)[1].split(/\n\n/)[0];
  return [...block.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]);
}

test('the page has the sections a manual page needs', () => {
  for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'COMMON OPTIONS', 'ENVIRONMENT',
    'EXIT STATUS']) {
    assert.ok(secs.has(s), `no .SH ${s}`);
  }
});

test('every command has a section, and every flag its --help prints is in the page', () => {
  const cmds = commands();
  assert.ok(cmds.length >= 5, `commands parsed from fastmd --help: ${cmds}`);
  const common = flags(secs.get('COMMON OPTIONS'));
  const missing = [];
  for (const cmd of cmds) {
    const title = [...secs.keys()].find((k) => k.startsWith(`fastmd ${cmd} `) || k === `fastmd ${cmd}`);
    assert.ok(title, `no .SS section for 'fastmd ${cmd}'`);
    const own = flags(secs.get(title));
    for (const f of flags(help([cmd]))) {
      if (!own.has(f) && !common.has(f)) missing.push(`fastmd ${cmd} ${f}`);
    }
    // The other way: a flag this command's section names must be one the command has.
    const known = flags(help([cmd]));
    for (const f of own) {
      if (!known.has(f)) missing.push(`the page's 'fastmd ${cmd}' names ${f}, which its --help does not`);
    }
  }
  for (const f of flags(help([]))) if (!flags(page).has(f)) missing.push(`fastmd ${f}`);
  assert.deepEqual(missing, [], `flags missing from docs/man/fastmd.1:\n${missing.join('\n')}`);
});

test('every flag under COMMON OPTIONS is one render, build and serve have', () => {
  const common = flags(secs.get('COMMON OPTIONS'));
  for (const cmd of ['render', 'build', 'serve']) {
    const known = flags(help([cmd]));
    for (const f of common) assert.ok(known.has(f), `COMMON OPTIONS names ${f}, fastmd ${cmd} lacks it`);
  }
});

test('the page names the version the binary prints', () => {
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const th = page.split('\n').find((l) => l.startsWith('.TH '));
  assert.ok(th && th.includes(`"${v}"`), `.TH line ${th} does not name "${v}"`);
});

test('groff renders the page without a warning', () => {
  const g = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', manPath], { encoding: 'utf8' });
  if (g.error && g.error.code === 'ENOENT') {
    // groff is part of man-db's dependencies on Debian; without it there is nothing to render.
    const m = spawnSync('man', ['--warnings', '-l', manPath], { encoding: 'utf8' });
    assert.ok(!(m.error && m.error.code === 'ENOENT'), 'neither groff nor man is installed');
    assert.equal(m.stderr, '');
    return;
  }
  assert.equal(g.status, 0, g.stderr);
  assert.equal(g.stderr, '', `groff warnings:\n${g.stderr}`);
});

test('every environment variable cli/ reads is under ENVIRONMENT (test hooks aside)', () => {
  const env = secs.get('ENVIRONMENT');
  const names = new Set();
  for (const f of fs.readdirSync(path.join(root, 'cli')).filter((f) => f.endsWith('.c'))) {
    const text = fs.readFileSync(path.join(root, 'cli', f), 'utf8');
    for (const [, n] of text.matchAll(/getenv\("([A-Z0-9_]+)"\)/g)) names.add(n);
  }
  assert.ok(names.has('FASTMD_WORKERS'), `parsed ${[...names]}`);
  // FASTMD_*_TEST_* variables are test hooks of the test builds, not for users.
  const missing = [...names].filter((n) => !/_TEST_/.test(n) && !env.includes(n));
  assert.deepEqual(missing, [], `not under ENVIRONMENT in docs/man/fastmd.1: ${missing}`);
});

// groff's warnings on @p file ('' when none); man's when groff is missing.
function renderWarnings(file) {
  const g = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', file], { encoding: 'utf8' });
  if (g.error && g.error.code === 'ENOENT') {
    const m = spawnSync('man', ['--warnings', '-l', file], { encoding: 'utf8' });
    assert.ok(!(m.error && m.error.code === 'ENOENT'), 'neither groff nor man is installed');
    return m.stderr;
  }
  assert.equal(g.status, 0, g.stderr);
  return g.stderr;
}

const { commandPages } = await import(pathToFileURL(path.join(root, 'docs', 'man', 'split.mjs')));

test('each command has its own page, as docs/man/split.mjs makes it from fastmd.1', () => {
  const made = commandPages(fs.readFileSync(manPath, 'utf8'));
  assert.deepEqual([...made.keys()].sort(), commands().map((c) => `fastmd-${c}.1`).sort());
  for (const [name, text] of made) {
    const file = path.join(root, 'docs', 'man', name);
    assert.ok(fs.existsSync(file), `${name} is missing: run node docs/man/split.mjs`);
    assert.equal(fs.readFileSync(file, 'utf8'), text, `${name} is stale: run node docs/man/split.mjs`);
    assert.ok(page.includes(`${name.replace(/\.1$/, '')} (1)`), `fastmd.1's SEE ALSO does not name ${name}`);
  }
});

test("each command's page describes every flag of its --help, and names no other", () => {
  const wrong = [];
  for (const cmd of commands()) {
    const text = roffText(fs.readFileSync(path.join(root, 'docs', 'man', `fastmd-${cmd}.1`), 'utf8'));
    const s = sections(text);
    assert.ok(s.has('NAME') && s.has('SYNOPSIS') && s.has('DESCRIPTION') && s.has('EXIT STATUS'),
      `fastmd-${cmd}.1 lacks a section: ${[...s.keys()]}`);
    // The options are described under DESCRIPTION and, where the command takes them, COMMON
    // OPTIONS; ENVIRONMENT and EXIT STATUS may name other commands' flags.
    const described = flags((s.get('DESCRIPTION') ?? '') + (s.get('COMMON OPTIONS') ?? ''));
    const known = flags(help([cmd]));
    for (const f of known) if (!described.has(f)) wrong.push(`fastmd-${cmd}.1 lacks ${f}`);
    for (const f of described) if (!known.has(f)) wrong.push(`fastmd-${cmd}.1 names ${f}, which its --help does not`);
  }
  assert.deepEqual(wrong, [], wrong.join('\n'));
});

test("groff renders each command's page without a warning, and man -l shows it", () => {
  for (const cmd of commands()) {
    const file = path.join(root, 'docs', 'man', `fastmd-${cmd}.1`);
    assert.equal(renderWarnings(file), '', `fastmd-${cmd}.1`);
    const m = spawnSync('man', ['-l', file], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80' } });
    if (m.error && m.error.code === 'ENOENT') continue; // groff alone checked it
    assert.equal(m.status, 0, m.stderr);
    assert.match(m.stdout, new RegExp(`^NAME\\n\\s+fastmd-${cmd} - `, 'm'));
  }
});
