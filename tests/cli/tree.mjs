// SPDX-License-Identifier: MIT
// Helpers the end-to-end tests share: run fastmd, a temporary folder, list a tree, and compare
// two trees byte for byte.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A function (args, env) that runs @p bin to its end with @p baseEnv plus env, and returns
 * spawnSync's result (stdout and stderr as text); it throws when bin cannot be started. */
export function runner(bin, baseEnv = process.env) {
  return (args, env = {}) => {
    const r = spawnSync(bin, args, {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      env: { ...baseEnv, ...env },
    });
    if (r.error) throw r.error;
    return r;
  };
}

/** Start @p bin with @p args (stdin and stdout ignored, stderr collected) and return the child,
 * whose `done` resolves to {code, stderr} once it has ended and its stderr is read: code is the
 * signal's name when a signal ended it, else the exit status. The promise exists from the spawn
 * on: a fast machine can finish a build before the caller's first await, and an 'exit' listener
 * added after that would never fire. */
export function start(bin, args, env = process.env) {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code: sig ?? code, stderr }));
  });
  return child;
}

/** Call fn(dir) in a fresh folder under the temporary directory named PREFIX-XXXXXX, and remove
 * the folder afterwards, whether fn returns, throws or rejects. */
export async function withTmp(prefix, fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

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

/** Every file under @p dir, as files() lists them, mapped to its bytes. */
export function snapshot(dir) {
  return new Map(files(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
}
