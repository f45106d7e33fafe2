// SPDX-License-Identifier: MIT
// URLs in safe mode through `fastmd render`: the policy is checked on the form that is written.
// A data: URL is allowed only in an image and only when the written attribute starts with
// data:image/ (case-insensitive); a TAB or newline hidden by a character reference is written
// percent-encoded, so it must not slip past the check. Script schemes split by such characters are
// dropped.
//   node --test tests/hostile/urls.test.mjs   (FASTMD_BIN=path/to/fastmd)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.FASTMD_BIN ?? path.join(here, '../../build/release/fastmd');

function render(md, args = []) {
  const r = spawnSync(bin, ['render', ...args, '-'], { input: md, encoding: 'utf8' });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const cases = [
  // [markdown, the attribute fastmd must write]
  ['![a](data:image/png,x)', 'src="data:image/png,x"'],
  ['![a](DATA:Image/PNG,x)', 'src="DATA:Image/PNG,x"'],
  ['![a](data:&#x09;image/png,x)', 'src=""'],
  ['![a](data:&#x0A;image/png,x)', 'src=""'],
  ['![a](data:ima&#x09;ge/png,x)', 'src=""'],
  ['![a](data:text/html,x)', 'src=""'],
  ['[a](data:image/png,x)', 'href=""'],
  ['[a](java&#x09;script:alert(1))', 'href=""'],
  ['[a](&#x20;javascript:alert(1))', 'href=""'],
  ['[a](JaVaScRiPt:alert(1))', 'href=""'],
  ['[a](vbscript:x)', 'href=""'],
  ['[a](file:///etc/passwd)', 'href=""'],
  ['[a](https://example.com/data:image/)', 'href="https://example.com/data:image/"'],
];

for (const [md, want] of cases) {
  test(`safe mode writes ${want} for ${md}`, () => {
    assert.ok(render(md + '\n').includes(want), render(md + '\n'));
  });
}

test('--unsafe writes every URL as given (percent-encoded)', () => {
  assert.ok(render('![a](data:&#x09;image/png,x)\n', ['--unsafe']).includes('src="data:%09image/png,x"'));
});
