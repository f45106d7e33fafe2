// SPDX-License-Identifier: MIT
// The client: starts `fastmd serve`, checks it, supervises it (restart on death with bounded
// retries and backoff, kill on a missed health deadline) and offers the protocol's methods.
// Batches live in batch.ts; the wire in connection.ts.

import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BatchRun } from './batch.js';
import { findBinary, type BinarySource } from './binary.js';
import { Connection, describeExit, quoteStderr } from './connection.js';
import {
    cancelledBySignal as cancelled,
    ClosedError,
    FastmdError,
    ItemError,
    ProtocolError,
    RpcError,
    SidecarCrashedError,
    SidecarStartError,
    TimeoutError,
    type SidecarExit,
} from './errors.js';
import { ErrorCode, ExitCode, Method, Notification } from './protocol.js';
import type {
    BatchInput,
    BatchItemResult,
    BatchOptions,
    CallOptions,
    DigestFile,
    FastmdOptions,
    HealthResult,
    LogLevel,
    NormalizeOptions,
    NormalizeResult,
    TransformOptions,
    TransformResult,
} from './types.js';

const DEFAULTS = {
    maxRestarts: 3,
    restartBackoffMs: 100,
    maxBackoffMs: 2000,
    healthIntervalMs: 5000,
    healthTimeoutMs: 10000,
    startTimeoutMs: 10000,
    stderrLines: 20,
};

/** Information on a restart, given to the 'restart' event. */
export interface RestartInfo {
    /** How the previous sidecar went away (undefined when it never started). */
    exit: SidecarExit | undefined;
    /** Failures in a row, this one included. */
    failures: number;
    /** Delay before the next start. */
    delayMs: number;
    error: Error;
}

/** Information on a batch chunk sent again after a restart, given to the 'resubmit' event. */
export interface ResubmitInfo {
    /** Items of the chunk sent again (those whose results had not arrived). */
    items: number;
    /** Global index of the chunk's first item. */
    chunkStart: number;
    attempt: number;
}

/**
 * A running `fastmd serve` and the client of it. Create it with createFastmd().
 *
 * Events: 'ready' ({pid, version}), 'exit' (SidecarExit: a sidecar went away unexpectedly),
 * 'restart' (RestartInfo), 'resubmit' (ResubmitInfo), 'failed' (SidecarCrashedError: the restart
 * budget is spent), 'warning' (ProtocolError and other reports), 'stderr' (one line of the
 * sidecar's stderr), 'alert' ({name, value, threshold, state}: a threshold the sidecar was started
 * with, `args: ['--alert', 'p99Ms=250']`, was crossed or is clear again).
 */
export class Fastmd extends EventEmitter {
    /** The fastmd executable (the name asked for when none was found). */
    readonly binary: string;
    /** How the binary was found: the binary option, FASTMD_BINARY, the checkout's build, PATH. */
    readonly binarySource: BinarySource | undefined;
    readonly maxRestarts: number;
    /** The version the sidecar reported at its last start, when it reported one. */
    version: string | undefined;
    /** The worker threads the sidecar reported at its last start. */
    workers: number | undefined;

    private readonly opts: Required<
        Pick<
            FastmdOptions,
            | 'restartBackoffMs'
            | 'maxBackoffMs'
            | 'healthIntervalMs'
            | 'healthTimeoutMs'
            | 'startTimeoutMs'
            | 'stderrLines'
        >
    > &
        FastmdOptions;
    private current: Connection | null = null;
    private readyP: Promise<Connection>;
    private failures = 0;
    private final: SidecarCrashedError | null = null;
    private closing = false;
    private closeP: Promise<SidecarExit | undefined> | null = null;
    private healthTimer: NodeJS.Timeout | null = null;
    private wakeBackoff: (() => void) | null = null;
    private readonly batchPrefix = `c${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
    private batchSeq = 0;

    constructor(options: FastmdOptions = {}) {
        super();
        this.opts = { ...DEFAULTS, ...stripUndefined(options) };
        this.maxRestarts = options.maxRestarts ?? DEFAULTS.maxRestarts;
        let found: ReturnType<typeof findBinary> | undefined;
        try {
            found = findBinary(options.binary);
        } catch (e) {
            this.binary = options.binary ?? 'fastmd';
            this.readyP = Promise.reject(this.startFailed(e as SidecarStartError));
            this.readyP.catch(() => {});
            return;
        }
        this.binary = found.path;
        this.binarySource = found.source;
        this.readyP = this.launch(0);
    }

    /** Resolves once a sidecar answers; rejects with the final SidecarCrashedError. */
    async ready(): Promise<void> {
        await this.connection();
    }

    /** Process id of the running sidecar, if one runs. */
    get pid(): number | undefined {
        return this.current?.alive ? this.current.pid : undefined;
    }

    /** True once close() was called or the restart budget is spent. */
    get closed(): boolean {
        return this.closing || this.final !== null;
    }

    /** `ping`: {pong: true}. */
    ping(call?: CallOptions): Promise<{ pong: boolean }> {
        return this.call(Method.PING, undefined, call);
    }

    /** `health`: status, uptime, workers, queued and running batches. Answered even during a batch. */
    health(call?: CallOptions): Promise<HealthResult> {
        return this.call(Method.HEALTH, undefined, call);
    }

    /** `stats`: request, page, byte and failure counters and a latency histogram. */
    stats(call?: CallOptions): Promise<Record<string, unknown>>;
    stats(format: 'json', call?: CallOptions): Promise<Record<string, unknown>>;
    stats(format: 'prometheus', call?: CallOptions): Promise<string>;
    stats(a?: string | CallOptions, b?: CallOptions): Promise<unknown> {
        const format = typeof a === 'string' ? a : undefined;
        const call = typeof a === 'string' ? b : a;
        return this.call(Method.STATS, format ? { format } : undefined, call).then((r) => {
            // The Prometheus text may come as a string or wrapped in an object.
            if (format === 'prometheus' && r && typeof r === 'object') {
                const o = r as Record<string, unknown>;
                for (const k of ['text', 'prometheus', 'body']) if (typeof o[k] === 'string') return o[k];
            }
            return r;
        });
    }

    /**
     * `transform`: one page, in the original sidecar's result shape. A page that cannot be
     * transformed (broken front matter, a limit) rejects with ItemError. With content undefined,
     * the sidecar reads @p file from its root.
     */
    async transform(
        file: string,
        content: string | undefined,
        options?: TransformOptions,
        call?: CallOptions & { includeCode?: boolean },
    ): Promise<TransformResult> {
        const params: Record<string, unknown> = { file, options: options ?? {} };
        if (content !== undefined) params.content = content;
        if (call?.includeCode === false) params.includeCode = false;
        try {
            return await this.call<TransformResult>(Method.TRANSFORM, params, call);
        } catch (e) {
            if (e instanceof RpcError && e.code === ErrorCode.PAGE_FAILED && e.data && typeof e.data === 'object')
                throw new ItemError(file, 0, e.data as ConstructorParameters<typeof ItemError>[2]);
            throw e;
        }
    }

    /** `normalize`: strip a BOM, normalise line ends. */
    normalize(content: string, options: NormalizeOptions = {}, call?: CallOptions): Promise<NormalizeResult> {
        return this.call(Method.NORMALIZE, { content, ...options }, call);
    }

    /** `computeDigest`: XXH3-128 over the files' {path, size, mtime}, independent of their order. */
    computeDigest(files: DigestFile[], call?: CallOptions): Promise<{ digest: string }> {
        return this.call(Method.COMPUTE_DIGEST, { files }, call);
    }

    /**
     * Transforms @p files and resolves with one result per file, in input order. A failed page is
     * a result with ok: false, never a rejection. Rejects with CancelledError (signal),
     * TimeoutError (timeoutMs), SidecarCrashedError (the restart budget is spent), ClosedError.
     */
    transformBatch(files: readonly BatchInput[], options: BatchOptions = {}): Promise<BatchItemResult[]> {
        return new BatchRun(this, files, options, 'collect').collect();
    }

    /**
     * Like transformBatch, as an async iterator over the results in input order. Results are
     * requested only as fast as they are consumed (two chunks ahead), so memory stays bounded.
     * Leaving the loop early cancels the rest on the sidecar.
     */
    transformBatchStream(files: readonly BatchInput[], options: BatchOptions = {}): AsyncGenerator<BatchItemResult> {
        return new BatchRun(this, files, options, 'stream').stream();
    }

    /** Sends any request; resolves with its result. For methods this client has no wrapper for. */
    async call<T>(method: string, params?: unknown, call: CallOptions = {}): Promise<T> {
        const { signal, timeoutMs } = call;
        if (call.traceparent && params && typeof params === 'object')
            params = { ...(params as Record<string, unknown>), _meta: { traceparent: call.traceparent } };
        if (signal?.aborted) throw cancelled(signal);
        const conn = await this.connection();
        const { id, promise } = conn.request<T>(method, params);
        if (!signal && timeoutMs === undefined) {
            const r = await promise;
            this.noteSuccess();
            return r;
        }
        return new Promise<T>((resolve, reject) => {
            let timer: NodeJS.Timeout | undefined;
            const giveUp = (err: Error) => {
                cleanup();
                conn.notify(Notification.CANCEL_REQUEST, { id });
                conn.abandon(id);
                reject(err);
            };
            const onAbort = () => giveUp(cancelled(signal!));
            const cleanup = () => {
                if (timer) clearTimeout(timer);
                signal?.removeEventListener('abort', onAbort);
            };
            signal?.addEventListener('abort', onAbort, { once: true });
            if (timeoutMs !== undefined) timer = setTimeout(() => giveUp(new TimeoutError(timeoutMs, method)), timeoutMs);
            promise.then(
                (r) => {
                    cleanup();
                    this.noteSuccess();
                    resolve(r);
                },
                (e) => {
                    cleanup();
                    reject(e);
                },
            );
        });
    }

    /**
     * Shuts the sidecar down: `shutdown` (it finishes the work in flight, answers and exits 0),
     * then waits for it to exit; after @p timeoutMs it is killed. Work not yet sent is dropped
     * with ClosedError. Resolves with how the sidecar exited (undefined when none was running).
     */
    close({ timeoutMs = 10000 }: { timeoutMs?: number } = {}): Promise<SidecarExit | undefined> {
        if (this.closeP) return this.closeP;
        this.closing = true;
        this.stopHealth();
        this.wakeBackoff?.();
        this.closeP = (async () => {
            const conn = this.current;
            if (!conn || !conn.alive) return conn?.exitInfo;
            conn.endReason = 'closed';
            const killer = setTimeout(() => conn.kill('SIGKILL', 'closed'), timeoutMs);
            try {
                const { promise } = conn.request(Method.SHUTDOWN);
                await promise.catch(() => undefined);
                conn.endInput();
                return await conn.exited;
            } finally {
                clearTimeout(killer);
                this.current = null;
            }
        })();
        return this.closeP;
    }

    /*** Internal, used by batch.ts ***/

    /** The running sidecar's connection; waits while one restarts. @internal */
    async connection(): Promise<Connection> {
        if (this.closing) throw new ClosedError();
        if (this.final) throw this.final;
        if (this.current?.alive) return this.current;
        return this.readyP;
    }

    /** A batch ID no other live batch of this client uses. @internal */
    newBatchId(): string {
        return `${this.batchPrefix}-${++this.batchSeq}`;
    }

    /** A call was answered: the sidecar works, so the failures in a row start again from 0. @internal */
    noteSuccess(): void {
        this.failures = 0;
    }

    /** Reports a warning: the 'warning' event, else the logger, else process.emitWarning. @internal */
    report(err: Error, level: LogLevel = 'warn'): void {
        this.opts.logger?.(level, err.message);
        if (this.listenerCount('warning') > 0) this.emit('warning', err);
        else if (!this.opts.logger) process.emitWarning(err.message, { code: 'FASTMD_CLIENT' } as never);
    }

    /*** Supervision ***/

    private launch(delayMs: number): Promise<Connection> {
        const p = (async () => {
            let delay = delayMs;
            for (;;) {
                if (delay > 0) await this.sleep(delay);
                if (this.closing) throw new ClosedError();
                try {
                    const conn = await this.spawnOnce();
                    if (this.closing) {
                        conn.kill('SIGKILL', 'closed');
                        throw new ClosedError();
                    }
                    this.adopt(conn);
                    return conn;
                } catch (e) {
                    if (this.closing) throw e instanceof ClosedError ? e : new ClosedError();
                    // A usage error, a missing binary or root: no restart can help.
                    if (e instanceof SidecarStartError) throw this.startFailed(e);
                    this.failures++;
                    const err = e as Error;
                    if (this.failures > this.maxRestarts) throw this.giveUp(err);
                    delay = this.backoff();
                    this.noteRestart({ exit: (err as SidecarCrashedError).exit, failures: this.failures, delayMs: delay, error: err });
                }
            }
        })();
        p.catch(() => {}); // observed through connection()
        return p;
    }

    private async spawnOnce(): Promise<Connection> {
        const env: NodeJS.ProcessEnv = { ...process.env, ...this.opts.env };
        for (const [k, v] of Object.entries(this.opts.env ?? {})) if (v === undefined) delete env[k];
        const args = [...(this.opts.args ?? [])];
        if (this.opts.root !== undefined) {
            // Checked here, so that a missing root is reported as such (the sidecar would say so
            // too, with exit status 66). The root is not the sidecar's working directory: a
            // missing working directory makes spawn fail as if the binary were missing.
            const root = path.resolve(this.opts.root);
            let why: string | null = null;
            try {
                if (!fs.statSync(root).isDirectory()) why = 'not a directory';
            } catch (e) {
                why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message;
            }
            if (why !== null) throw new SidecarStartError('root', `the root ${root} cannot be used: ${why}`);
            args.push('--root', root);
        }
        if (this.opts.workers !== undefined) {
            args.push('--threads', String(this.opts.workers));
            env.FASTMD_WORKERS = String(this.opts.workers);
        }
        const conn = new Connection({
            binary: this.binary,
            args,
            env,
            stderrLines: this.opts.stderrLines,
        });
        conn.on('warning', (e: Error) => this.report(e));
        conn.on('stderr', (line: string) => this.emit('stderr', line));
        conn.on('alert', (params: Record<string, unknown>) => this.emit('alert', params));
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            conn.kill('SIGKILL', 'start-failed');
        }, this.opts.startTimeoutMs);
        try {
            const pong = await conn.request<{ pong?: unknown }>(Method.PING).promise;
            if (!pong || pong.pong !== true)
                throw new ProtocolError(`ping was answered with ${JSON.stringify(pong)}, not {"pong":true}`);
            const health = await conn.request<HealthResult>(Method.HEALTH).promise;
            if (!health || typeof health !== 'object' || typeof health.status !== 'string')
                throw new ProtocolError(`health was answered with ${JSON.stringify(health)}`);
            this.version = typeof health.version === 'string' ? health.version : this.version;
            this.workers = typeof health.workers === 'number' ? health.workers : undefined;
            return conn;
        } catch (e) {
            conn.endReason ??= 'start-failed';
            conn.kill('SIGKILL', 'start-failed');
            const info = await conn.exited;
            const stderr = conn.stderrLines();
            const fatal = this.fatalStart(conn, info, args, stderr);
            if (fatal && !timedOut) throw fatal;
            if (timedOut)
                throw new SidecarCrashedError(
                    `${this.binary} serve (pid ${info.pid}) did not answer ping within ${this.opts.startTimeoutMs} ms${quoteStderr(stderr)}`,
                    { exit: info, stderr },
                );
            if (e instanceof SidecarCrashedError) throw e;
            throw new SidecarCrashedError(`${this.binary} serve did not start: ${(e as Error).message}${quoteStderr(stderr)}`, {
                exit: info,
                stderr,
                cause: e,
            });
        } finally {
            clearTimeout(timer);
        }
    }

    /**
     * The start-up failures that no restart can fix: the binary cannot be spawned, or the sidecar
     * exited with a usage error (64) or a missing input (66: the root) before answering.
     */
    private fatalStart(conn: Connection, info: SidecarExit, args: string[], stderr: string[]): SidecarStartError | null {
        const how = this.binarySource === undefined ? '' : ` (found through ${describeSource(this.binarySource)})`;
        if (conn.spawnError) {
            const code = conn.spawnError.code ?? conn.spawnError.message;
            return new SidecarStartError('binary', `cannot run ${this.binary}${how}: ${code}`, {
                exit: info,
                stderr,
                cause: conn.spawnError,
            });
        }
        const cmd = [this.binary, 'serve', ...args].join(' ');
        if (info.exitCode === ExitCode.USAGE)
            return new SidecarStartError(
                'usage',
                `${cmd} rejected its arguments (exit status 64, a usage error)${quoteStderr(stderr)}`,
                { exit: info, stderr },
            );
        if (info.exitCode === ExitCode.NO_INPUT)
            return new SidecarStartError('root', `${cmd} cannot open its input (exit status 66)${quoteStderr(stderr)}`, {
                exit: info,
                stderr,
            });
        return null;
    }

    /** Makes @p err final: the client is unusable, and 'failed' is emitted. */
    private startFailed(err: SidecarStartError): SidecarStartError {
        this.final = err;
        this.stopHealth();
        this.opts.logger?.('error', err.message);
        if (this.listenerCount('failed') > 0) this.emit('failed', err);
        return err;
    }

    private adopt(conn: Connection): void {
        this.current = conn;
        conn.once('exit', (info: SidecarExit) => this.onExit(conn, info));
        this.startHealth(conn);
        this.emit('ready', { pid: conn.pid, version: this.version });
    }

    private onExit(conn: Connection, info: SidecarExit): void {
        if (conn !== this.current) return;
        this.current = null;
        this.stopHealth();
        if (this.closing) return;
        this.emit('exit', info);
        this.failures++;
        const err = new SidecarCrashedError(describeExit(this.binary, info, conn.stderrLines()), {
            exit: info,
            stderr: conn.stderrLines(),
            failures: this.failures,
        });
        if (this.failures > this.maxRestarts) {
            const fin = this.giveUp(err);
            this.readyP = Promise.reject(fin);
            this.readyP.catch(() => {});
            return;
        }
        const delay = this.backoff();
        this.noteRestart({ exit: info, failures: this.failures, delayMs: delay, error: err });
        this.readyP = this.launch(delay);
    }

    private noteRestart(info: RestartInfo): void {
        const msg = `${info.error.message}\nrestarting it in ${info.delayMs} ms (failure ${info.failures} of at most ${this.maxRestarts + 1} in a row)`;
        this.opts.logger?.('warn', msg);
        if (this.listenerCount('restart') > 0) this.emit('restart', info);
        else if (!this.opts.logger) process.emitWarning(msg, { code: 'FASTMD_RESTART' } as never);
    }

    private giveUp(last: Error): SidecarCrashedError {
        const stderr = last instanceof SidecarCrashedError ? last.stderr : [];
        const fin = new SidecarCrashedError(
            `fastmd serve failed ${this.failures} times in a row; the client gave up after ${this.maxRestarts} restarts. Last failure: ${last.message}`,
            {
                exit: last instanceof SidecarCrashedError ? last.exit : undefined,
                stderr,
                final: true,
                failures: this.failures,
                cause: last,
            },
        );
        this.final = fin;
        this.stopHealth();
        this.opts.logger?.('error', fin.message);
        if (this.listenerCount('failed') > 0) this.emit('failed', fin);
        return fin;
    }

    private backoff(): number {
        const n = Math.max(0, this.failures - 1);
        return Math.min(this.opts.maxBackoffMs, this.opts.restartBackoffMs * 2 ** n);
    }

    private sleep(ms: number): Promise<void> {
        return new Promise((resolve) => {
            const t = setTimeout(done, ms);
            function done() {
                clearTimeout(t);
                resolve();
            }
            this.wakeBackoff = done;
        });
    }

    /**
     * Sends `health` every healthIntervalMs. One unanswered after healthTimeoutMs means the
     * sidecar hangs (stopped, deadlocked, spinning): it is killed, and the exit handler restarts it.
     * An answer with status 'stalled' (its engine finished no page for --stall-seconds while work
     * waits) is the same hang, seen from inside: the same path.
     */
    private startHealth(conn: Connection): void {
        this.stopHealth();
        const every = this.opts.healthIntervalMs;
        if (!every || every <= 0) return;
        let outstanding = false;
        this.healthTimer = setInterval(() => {
            if (outstanding || !conn.alive) return;
            outstanding = true;
            const { promise } = conn.request<HealthResult>(Method.HEALTH);
            let answered = false;
            const deadline = setTimeout(() => {
                // An answer may sit unread behind a busy event loop: read what is there first.
                setImmediate(() => {
                    if (answered || !conn.alive || this.closing) return;
                    this.report(
                        new FastmdError(
                            `fastmd serve (pid ${conn.pid}) did not answer health within ${this.opts.healthTimeoutMs} ms: killing it`,
                        ),
                    );
                    conn.kill('SIGKILL', 'hang');
                });
            }, this.opts.healthTimeoutMs);
            deadline.unref();
            const done = () => {
                answered = true;
                outstanding = false;
                clearTimeout(deadline);
            };
            // An error answer is still an answer: the sidecar is alive.
            promise.then((h) => {
                done();
                if (h?.status !== 'stalled' || !conn.alive || this.closing) return;
                const why = Array.isArray(h.reasons) ? h.reasons.join('; ') : 'stalled';
                this.report(new FastmdError(`fastmd serve (pid ${conn.pid}) reports its engine stalled (${why}): killing it`));
                conn.kill('SIGKILL', 'hang');
            }, (e) => {
                done();
                if (!(e instanceof RpcError)) return;
            });
        }, every);
        this.healthTimer.unref();
    }

    private stopHealth(): void {
        if (this.healthTimer) clearInterval(this.healthTimer);
        this.healthTimer = null;
    }
}

/** Starts `fastmd serve` and resolves once it answered ping and health. */
export async function createFastmd(options: FastmdOptions = {}): Promise<Fastmd> {
    const client = new Fastmd(options);
    try {
        await client.ready();
    } catch (e) {
        await client.close().catch(() => undefined);
        throw e;
    }
    return client;
}


function describeSource(source: BinarySource): string {
    return source === 'option'
        ? 'the binary option'
        : source === 'checkout'
          ? "the repository checkout's build"
          : source;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
    const out: Partial<T> = {};
    for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    return out;
}
