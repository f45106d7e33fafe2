// SPDX-License-Identifier: MIT
// Finding the fastmd executable: the `binary` option, else FASTMD_BINARY, else a build of the
// repository checkout this package sits in (development only), else `fastmd` on PATH. When none
// is found the error lists every place that was tried, so that the fix is plain.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SidecarStartError } from './errors.js';

/** Where the binary was found. */
export type BinarySource = 'option' | 'FASTMD_BINARY' | 'checkout' | 'PATH';

export interface BinaryResolution {
    /** Absolute path of the executable. */
    path: string;
    source: BinarySource;
    /** What was tried before it, in order, one phrase each. */
    tried: string[];
}

/**
 * No fastmd executable was found; `tried` lists each place looked at and why it did not do. A
 * SidecarStartError (so a SidecarCrashedError with final: true): nothing is retried.
 */
export class BinaryNotFoundError extends SidecarStartError {
    readonly tried: string[];
    constructor(tried: string[]) {
        super(
            'binary',
            `the fastmd binary was not found. Tried:\n${tried.map((t) => `  - ${t}`).join('\n')}\n` +
                'Put fastmd on PATH (cmake --install, or the .deb), set FASTMD_BINARY to its path, ' +
                'or pass the binary option.',
        );
        this.tried = tried;
    }
}

/** Why @p file cannot be run, or null when it can. */
function unusable(file: string): string | null {
    let st: fs.Stats;
    try {
        st = fs.statSync(file);
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    }
    if (!st.isFile()) return 'not a regular file';
    try {
        fs.accessSync(file, fs.constants.X_OK);
    } catch {
        return 'not executable';
    }
    return null;
}

/**
 * The build of the repository checkout holding this package (<repo>/build/{release,ci}/fastmd),
 * when the package is used from a checkout (not from node_modules).
 */
function checkoutBuilds(): string[] {
    const here = path.dirname(fileURLToPath(import.meta.url));
    if (here.split(path.sep).includes('node_modules')) return [];
    // dist/ (or dist/test/client/src/ for the tests) -> client/ -> the repository.
    let dir = here;
    for (let i = 0; i < 6; i++) {
        if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'src', 'protocol.ts'))) {
            const repo = path.dirname(dir);
            if (!fs.existsSync(path.join(repo, 'CMakeLists.txt'))) return [];
            return ['release', 'ci'].map((p) => path.join(repo, 'build', p, 'fastmd'));
        }
        dir = path.dirname(dir);
    }
    return [];
}

/**
 * Finds the fastmd executable. An explicit @p explicit (the `binary` option) or FASTMD_BINARY
 * that names a missing or non-executable file is an error at once: it is what the user asked for.
 * A bare name without a slash in either is looked up on PATH.
 * @throws BinaryNotFoundError naming everything tried.
 */
export function findBinary(explicit?: string, env: NodeJS.ProcessEnv = process.env): BinaryResolution {
    const tried: string[] = [];
    const named = (value: string, source: 'option' | 'FASTMD_BINARY', label: string): BinaryResolution => {
        if (!value.includes('/')) {
            const hit = searchPath(value, env.PATH ?? '', tried, `${label} (${value}), looked up on PATH`);
            if (hit) return { path: hit, source, tried };
            throw new BinaryNotFoundError(tried);
        }
        const abs = path.resolve(value);
        const why = unusable(abs);
        if (why === null) return { path: abs, source, tried };
        tried.push(`${label}: ${abs}: ${why}`);
        throw new BinaryNotFoundError(tried);
    };
    if (explicit) return named(explicit, 'option', 'the binary option');
    tried.push('the binary option: not given');
    const fromEnv = env.FASTMD_BINARY;
    if (fromEnv) return named(fromEnv, 'FASTMD_BINARY', 'FASTMD_BINARY');
    tried.push('FASTMD_BINARY: not set');
    for (const built of checkoutBuilds()) {
        if (unusable(built) === null) return { path: built, source: 'checkout', tried };
        tried.push(`the repository's build ${built}: not built`);
    }
    const hit = searchPath('fastmd', env.PATH ?? '', tried, 'PATH');
    if (hit) return { path: hit, source: 'PATH', tried };
    throw new BinaryNotFoundError(tried);
}

/** Looks @p name up in the directories of @p pathVar; notes a miss in @p tried. */
function searchPath(name: string, pathVar: string, tried: string[], label: string): string | null {
    const dirs = pathVar.split(path.delimiter).filter((d) => d !== '');
    for (const d of dirs) {
        const p = path.resolve(d, name);
        if (unusable(p) === null) return p;
    }
    tried.push(
        dirs.length === 0
            ? `${label}: ${name} not looked up, PATH is empty`
            : `${label}: no executable ${name} in ${dirs.join(path.delimiter)}`,
    );
    return null;
}

/** The path findBinary() gives. @throws BinaryNotFoundError */
export function resolveBinary(explicit?: string): string {
    return findBinary(explicit).path;
}
