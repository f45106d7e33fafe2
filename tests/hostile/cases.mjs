// SPDX-License-Identifier: MIT
// The hostile pages shared by tests/hostile/hostile.test.mjs and bench/hostile.sh: each a name,
// a generator of the page's bytes, the command-line options it needs and the error code it must
// end with ('ok' for success). Pages are built in memory, written to a temporary directory by the
// caller and removed afterwards.
//   node tests/hostile/cases.mjs DIR   writes every case to DIR/NAME.md (+ DIR/rules.json)
import fs from 'node:fs';
import path from 'node:path';

const MB = 1 << 20;

function fm(yaml, body = '# Body\n') {
  return `---\n${yaml}\n---\n${body}`;
}

// "[1,1,1,...]" of about n bytes.
function ones(n) {
  return '[' + '1,'.repeat(Math.max(1, Math.floor(n / 2) - 1)) + '1]';
}

// key: value lines, about n bytes.
function blockMap(n) {
  const lines = [];
  for (let i = 0, size = 0; size < n; i++) {
    const l = `k${i}: ${i}`;
    lines.push(l);
    size += l.length + 1;
  }
  return lines.join('\n');
}

// "(a x 20 + !) x reps + :": the ReDoS page for the rule (\w+\s?)+:
function redos(reps) {
  return ('a'.repeat(20) + '!').repeat(reps) + ':\n';
}

export const redosRule = [{ pattern: '(\\w+\\s?)+:', replacement: '**$0**', regex: true }];

export const cases = [
  // The shapes of the attack, at the sizes it used: over the 1 MiB default cap.
  { name: 'flow-open-8m', page: () => fm('a: ' + '['.repeat(8000000)), code: 'frontmatter' },
  { name: 'ones-8m', page: () => fm('a: ' + ones(8 * MB)), code: 'frontmatter' },
  { name: 'blockmap-8m', page: () => fm(blockMap(8 * MB)), code: 'frontmatter' },
  // The same shapes at 1 MB, inside the cap: the pre-scan refuses them before parsing.
  { name: 'flow-open-1m', page: () => fm('a: ' + '['.repeat(MB - 16)), code: 'frontmatter' },
  { name: 'ones-1m', page: () => fm('a: ' + ones(MB - 16)), code: 'frontmatter' },
  { name: 'blockmap-1m', page: () => fm(blockMap(MB - 64)), code: 'frontmatter' },
  // ...and with the cap raised to 8 MB the pre-scan still refuses them.
  {
    name: 'flow-open-8m-capped-8m',
    page: () => fm('a: ' + '['.repeat(8000000)),
    args: ['--max-frontmatter-bytes', '8M'],
    code: 'frontmatter',
  },
  {
    name: 'ones-8m-capped-8m',
    page: () => fm('a: ' + ones(8 * MB - 64)),
    args: ['--max-frontmatter-bytes', '8M'],
    code: 'frontmatter',
  },
  // Large but reasonable blocks parse: long scalars, a list of 30 000 entries.
  { name: 'long-scalar-1m', page: () => fm('a: "' + 'x'.repeat(MB - 64) + '"'), code: 'ok' },
  { name: 'ones-60k', page: () => fm('a: ' + ones(60000)), code: 'ok' },
  { name: 'blockmap-200k', page: () => fm(blockMap(200000)), code: 'ok' },
  // The largest blocks the pre-scan lets through: just under 65 536 items, and 1 MB of them.
  { name: 'ones-65k-items', page: () => fm('a: ' + ones(2 * 65500)), code: 'ok' },
  {
    name: 'wide-blockmap-1m',
    page: () => fm(Array.from({ length: 32000 }, (_, i) => `k${i}: ${'x'.repeat(24)}`).join('\n')),
    code: 'ok',
  },
  // Nesting: flow up to the parser's limit, block nesting of 1 MB.
  { name: 'flow-depth-60', page: () => fm('a: ' + '['.repeat(60) + ']'.repeat(60)), code: 'ok' },
  { name: 'flow-depth-65', page: () => fm('a: ' + '['.repeat(65) + ']'.repeat(65)), code: 'frontmatter' },
  { name: 'block-depth-1m', page: () => fm('a:\n' + '- '.repeat(MB / 2 - 8) + 'x'), code: 'frontmatter' },
  {
    name: 'block-depth-30',
    page: () => fm(Array.from({ length: 30 }, (_, i) => ' '.repeat(i) + `k${i}:`).join('\n') + ' 1'),
    code: 'ok',
  },
  // Duplicate keys, small and in a large mapping.
  { name: 'duplicate-key', page: () => fm('a: 1\nb: 2\na: 3'), code: 'frontmatter' },
  { name: 'duplicate-key-20k', page: () => fm(blockMap(200000) + '\nk7: again'), code: 'frontmatter' },
  // The ReDoS rule at 10 and 100 KB.
  { name: 'redos-10k', page: () => redos(476), rules: true, code: 'rule' },
  { name: 'redos-100k', page: () => redos(4760), rules: true, code: 'rule' },
];

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node cases.mjs DIR');
    process.exit(64);
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'rules.json'), JSON.stringify(redosRule));
  for (const c of cases) {
    fs.writeFileSync(path.join(dir, `${c.name}.md`), c.page());
    const args = [...(c.args ?? []), ...(c.rules ? ['--rules', path.join(dir, 'rules.json')] : [])];
    console.log([c.name, c.code, ...args].join('\t'));
  }
}
