// SPDX-License-Identifier: MIT
// Helpers the end-to-end tests share: list a tree, and compare two trees byte for byte.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

/** Every file under @p dir, as '/'-separated relative paths, sorted. OUT/.fastmd/ (the build
 * state: keys, stat data, the lock) is not output and is left out. */
export function files(dir) {
  const out = [];
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === '.fastmd') continue;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Assert that trees @p a and @p b hold the same files with the same bytes. */
export function sameTree(a, b) {
  const fa = files(a);
  assert.deepEqual(fa, files(b));
  for (const f of fa) {
    if (!fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f)))) {
      assert.fail(`${f} differs between ${a} and ${b}`);
    }
  }
}
