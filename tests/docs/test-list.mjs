// SPDX-License-Identifier: MIT
// Checks that docs/development.md lists the tests and labels ctest has: its "label" table and its
// "test" table against `ctest --show-only=json-v1` of a build tree.
// Fails when a documented label or test that is always registered is missing, when a test's
// labels differ from the documented ones, or when a registered test or label is not documented.
// Usage: node tests/docs/test-list.mjs DEVELOPMENT_MD CTEST BUILD_DIR
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [doc, ctest, build] = process.argv.slice(2);
if (!doc || !ctest || !build) {
  console.error('usage: test-list.mjs DEVELOPMENT_MD CTEST BUILD_DIR');
  process.exit(2);
}

// The rows of the Markdown table whose header's first cell is `first`, as arrays of cells with
// backticks removed.
function table(text, first) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.split('|')[1]?.trim() === first);
  if (start < 0) throw new Error(`${doc}: no table with a "${first}" column`);
  const rows = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith('|'); i++)
    rows.push(lines[i].split('|').slice(1, -1).map((c) => c.trim().replaceAll('`', '')));
  return rows;
}
const list = (cell) => cell.split(',').map((s) => s.trim()).filter(Boolean).sort();

const text = readFileSync(doc, 'utf8');
const docLabels = new Map(table(text, 'label').map((r) => [r[0], r[1]]));
const docTests = new Map(table(text, 'test').map((r) => [r[0], { labels: list(r[1]), when: r[2] }]));

const shown = JSON.parse(execFileSync(ctest, ['--test-dir', build, '--show-only=json-v1'],
                                      { encoding: 'utf8' }));
const tests = new Map();
for (const t of shown.tests) {
  const p = (t.properties || []).find((q) => q.name === 'LABELS');
  tests.set(t.name, (p ? p.value : []).slice().sort());
}
const labels = new Set([...tests.values()].flat());

const problems = [];
for (const [name, labs] of tests) {
  const d = docTests.get(name);
  if (!d) problems.push(`test ${name} is registered but not in the test table`);
  else if (d.labels.join(',') !== labs.join(','))
    problems.push(`test ${name}: ctest labels ${labs.join(',')}, documented ${d.labels.join(',')}`);
}
for (const [name, d] of docTests) {
  if (d.when === 'always' && !tests.has(name))
    problems.push(`test ${name} is documented as always registered but ctest does not have it`);
  for (const l of d.labels)
    if (!docLabels.has(l)) problems.push(`test ${name}: label ${l} is not in the label table`);
}
for (const l of labels)
  if (!docLabels.has(l)) problems.push(`label ${l} is used by ctest but not in the label table`);
for (const [l, when] of docLabels) {
  if (when === 'always' && !labels.has(l))
    problems.push(`label ${l} is documented as always present but no registered test has it`);
}
if (problems.length) {
  console.error(`${doc} does not match ctest in ${build}:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`${tests.size} tests and ${labels.size} labels match ${doc}`);
