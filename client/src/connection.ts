// SPDX-License-Identifier: MIT
// One sidecar process and the JSON-RPC 2.0 traffic with it: one message per line (NDJSON) on its
// stdin and stdout; its stderr is kept as a short tail for error messages. It knows nothing of
// restarts: when the process goes away every request still waiting is rejected, and the owner
// (client.ts) decides what comes next.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { ProtocolError, RpcError, SidecarCrashedError, type SidecarExit } from './errors.js';
import { ErrorCode, Notification } from './protocol.js';

/**
 * A notification from the sidecar (progress, batchItem, batchFrame). A batchFrame's raw bytes
 * (params.bytes of them, sent right after its line) come as @p attachment.
 */
export type NotificationHandler = (method: string, params: Record<string, unknown>, attachment?: Buffer) => void;

/** The notification whose raw bytes are being read: the bytes that follow a batchFrame line. */
interface Attachment {
    method: string;
    params: Record<string, unknown>;
    handler: NotificationHandler | undefined;
    chunks: Buffer[];
    left: number;
}

interface Pending {
    method: string;
    resolve: (value: unknown) => void;
    reject: (err: Error) => void;
}

export interface ConnectionOptions {
    binary: string;
    args: string[];
    env: NodeJS.ProcessEnv;
    stderrLines: number;
}

/** Ids and batch ids remembered after their call ended, so that late messages are not reported. */
const RETIRED_MAX = 4096;

/**
 * Events: 'warning' (ProtocolError), 'stderr' (line: string), 'alert' (the notification's
 * params), 'exit' (SidecarExit), once.
 */
export class Connection extends EventEmitter {
    readonly child: ChildProcess;
    readonly pid: number | undefined;
    /** Why the client itself ended the process, when it did ('hang', 'closed'). */
    endReason: SidecarExit['reason'] | undefined;
    exitInfo: SidecarExit | undefined;
    /** Why the process could not be spawned (ENOENT, EACCES), when it could not. */
    spawnError: NodeJS.ErrnoException | undefined;
    readonly exited: Promise<SidecarExit>;

    private readonly pending = new Map<number, Pending>();
    private readonly routes = new Map<string, NotificationHandler>();
    /** Request ids given up by their caller (timeout, abort): their answers are dropped quietly. */
    private readonly abandoned = new Set<number>();
    /** Batch ids whose call ended: late notifications for them are dropped quietly. */
    private readonly retired = new Set<string>();
    private nextId = 1;
    /** The start of a line whose end has not arrived yet. */
    private partial: Buffer[] = [];
    /** The raw bytes being read after a batchFrame line, or null while reading lines. */
    private attachment: Attachment | null = null;
    private readonly stderrTail: string[] = [];
    private stderrPartial = '';
    private readonly stderrMax: number;
    private referenced = true;

    constructor(opts: ConnectionOptions) {
        super();
        this.stderrMax = opts.stderrLines;
        this.child = spawn(opts.binary, ['serve', ...opts.args], {
            env: opts.env,
            stdio: ['pipe', 'pipe', 'pipe'],
        });
        this.pid = this.child.pid;
        let resolveExit!: (e: SidecarExit) => void;
        this.exited = new Promise((r) => (resolveExit = r));

        const { stdin, stdout, stderr } = this.child;
        // Bytes, not text: a batchFrame line is followed by raw bytes, and each line is decoded
        // whole (so a character split between two reads stays whole).
        stdout!.on('data', (chunk: Buffer) => this.onStdout(chunk));
        stderr!.setEncoding('utf8');
        stderr!.on('data', (chunk: string) => this.onStderr(chunk));
        // A write to a sidecar that just died fails with EPIPE; the exit handler reports it.
        stdin!.on('error', () => {});
        stdout!.on('error', () => {});
        stderr!.on('error', () => {});

        let finished = false;
        const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
            if (finished) return;
            finished = true;
            if (this.stderrPartial !== '') this.pushStderr(this.stderrPartial);
            if (spawnError) this.pushStderr(`${spawnError.message}`);
            const info: SidecarExit = {
                pid: this.pid,
                exitCode: code,
                signal,
                reason: this.endReason ?? 'crash',
            };
            this.exitInfo = info;
            const err = new SidecarCrashedError(describeExit(opts.binary, info, this.stderrTail), {
                exit: info,
                stderr: [...this.stderrTail],
                cause: spawnError,
            });
            const waiting = [...this.pending.values()];
            this.pending.clear();
            for (const p of waiting) p.reject(err);
            this.setRef(false);
            resolveExit(info);
            this.emit('exit', info);
        };
        // 'close' comes once stdout is drained, so every answer the sidecar wrote is read first.
        // A grandchild that keeps the pipes open must not hold the exit back for long, though.
        this.child.on('close', (code, signal) => finish(code, signal));
        this.child.on('exit', (code, signal) => {
            setTimeout(() => {
                stdout!.destroy();
                stderr!.destroy();
                finish(code, signal);
            }, 1000).unref();
        });
        this.child.on('error', (err) => {
            // spawn failed (ENOENT, EACCES): no 'exit' follows.
            if (this.child.pid === undefined) {
                this.spawnError = err;
                finish(null, null, err);
            }
        });
    }

    get alive(): boolean {
        return this.exitInfo === undefined;
    }

    /** The last lines of the sidecar's stderr, oldest first. */
    stderrLines(): string[] {
        return [...this.stderrTail];
    }

    /**
     * Sends a request, followed by the raw bytes of @p attachment when given (its params say how
     * many: params.bytes); the promise settles with its result, or rejects with
     * RpcError/SidecarCrashedError.
     */
    request<T = unknown>(method: string, params?: unknown, attachment?: Buffer[]): { id: number; promise: Promise<T> } {
        const id = this.nextId++;
        const promise = new Promise<T>((resolve, reject) => {
            if (!this.alive) {
                reject(
                    new SidecarCrashedError(describeExit('fastmd serve', this.exitInfo!, this.stderrTail), {
                        exit: this.exitInfo,
                        stderr: [...this.stderrTail],
                    }),
                );
                return;
            }
            this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject });
            this.setRef(true);
            this.write({ jsonrpc: '2.0', id, method, params }, attachment);
        });
        return { id, promise };
    }

    /** Sends a notification (no answer expected). */
    notify(method: string, params?: unknown): void {
        if (this.alive) this.write({ jsonrpc: '2.0', method, params });
    }

    /** Gives up on request @p id: its promise never settles, and its answer is dropped quietly. */
    abandon(id: number): void {
        if (this.pending.delete(id)) {
            this.remember(this.abandoned, id);
            if (this.pending.size === 0) this.setRef(false);
        }
    }

    /** Routes the notifications that carry params.batchId === @p batchId to @p handler. */
    route(batchId: string, handler: NotificationHandler): void {
        this.routes.set(batchId, handler);
    }

    /** Ends a route; later notifications for the batch are dropped quietly. */
    unroute(batchId: string): void {
        if (this.routes.delete(batchId)) this.remember(this.retired, batchId);
    }

    /** Ends the process with @p signal, recording why (shown in the exit information). */
    kill(signal: NodeJS.Signals, reason: SidecarExit['reason']): void {
        if (!this.alive) return;
        this.endReason ??= reason;
        try {
            this.child.kill(signal);
        } catch {
            /* already gone */
        }
    }

    /** Closes the sidecar's stdin: the protocol says it then exits. */
    endInput(): void {
        this.child.stdin?.end();
    }

    private write(msg: unknown, attachment?: Buffer[]): void {
        // JSON.stringify escapes every control character, so the line holds no newline.
        const stdin = this.child.stdin!;
        if (!attachment || attachment.length === 0) {
            stdin.write(`${JSON.stringify(msg)}\n`);
            return;
        }
        // The line and its bytes in one go: nothing else may be written in between.
        stdin.cork();
        stdin.write(`${JSON.stringify(msg)}\n`);
        for (const b of attachment) if (b.length > 0) stdin.write(b);
        process.nextTick(() => stdin.uncork());
    }

    /**
     * Keeps the Node.js process alive only while an answer is awaited, so that a script that
     * forgets close() still ends; the sidecar then sees its stdin close and exits too.
     */
    private setRef(on: boolean): void {
        if (on === this.referenced) return;
        this.referenced = on;
        const streams = [this.child.stdin, this.child.stdout, this.child.stderr] as unknown as Array<
            { ref?: () => void; unref?: () => void } | null
        >;
        if (on) {
            this.child.ref();
            for (const s of streams) s?.ref?.();
        } else {
            this.child.unref();
            for (const s of streams) s?.unref?.();
        }
    }

    private remember<T>(set: Set<T>, value: T): void {
        set.add(value);
        if (set.size > RETIRED_MAX) set.delete(set.values().next().value as T);
    }

    private onStdout(chunk: Buffer): void {
        let pos = 0;
        while (pos < chunk.length) {
            const att = this.attachment;
            if (att) {
                const take = Math.min(att.left, chunk.length - pos);
                att.chunks.push(chunk.subarray(pos, pos + take));
                att.left -= take;
                pos += take;
                if (att.left === 0) this.deliverAttachment(att);
                continue;
            }
            const nl = chunk.indexOf(10, pos);
            if (nl === -1) {
                this.partial.push(chunk.subarray(pos));
                return;
            }
            let line = chunk.subarray(pos, nl);
            if (this.partial.length > 0) {
                this.partial.push(line);
                line = Buffer.concat(this.partial);
                this.partial = [];
            }
            pos = nl + 1;
            this.onLine(line.toString('utf8'));
        }
    }

    private deliverAttachment(att: Attachment): void {
        this.attachment = null;
        const bytes = att.chunks.length === 1 ? att.chunks[0]! : Buffer.concat(att.chunks);
        if (att.handler) att.handler(att.method, att.params, bytes);
    }

    private onLine(raw: string): void {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (line.trim() === '') return;
        let msg: unknown;
        try {
            msg = JSON.parse(line);
        } catch {
            this.warn(new ProtocolError('the sidecar wrote a line that is not JSON', line));
            return;
        }
        if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
            this.warn(new ProtocolError('the sidecar wrote a message that is not a JSON object', line));
            return;
        }
        const m = msg as Record<string, unknown>;
        if (typeof m.method === 'string') {
            if (m.id !== undefined) {
                this.warn(new ProtocolError(`the sidecar sent a request (${m.method}); the client takes none`, line));
                return;
            }
            const params = (m.params ?? {}) as Record<string, unknown>;
            if (m.method === Notification.ALERT) {
                this.emit('alert', params);
                return;
            }
            const batchId = typeof params.batchId === 'string' || typeof params.batchId === 'number'
                ? String(params.batchId)
                : undefined;
            const handler = batchId === undefined ? undefined : this.routes.get(batchId);
            if (!handler && (batchId === undefined || !this.retired.has(batchId)))
                this.warn(new ProtocolError(`notification ${m.method} for no batch of this client`, line));
            const bytes = params.bytes;
            if (m.method === Notification.BATCH_FRAME && typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes > 0) {
                // Its raw bytes follow: read them before the next line, even for no handler.
                this.attachment = { method: m.method, params, handler, chunks: [], left: bytes };
                return;
            }
            if (handler) handler(m.method, params, m.method === Notification.BATCH_FRAME ? Buffer.alloc(0) : undefined);
            return;
        }
        if (!('result' in m) && !('error' in m)) {
            this.warn(new ProtocolError('the sidecar wrote a message that is neither an answer nor a notification', line));
            return;
        }
        const id = m.id;
        const p = typeof id === 'number' ? this.pending.get(id) : undefined;
        if (!p) {
            if (typeof id === 'number' && this.abandoned.has(id)) return;
            const e = m.error as { code?: number; message?: string } | undefined;
            const what = e ? `error ${e.code}: ${e.message}` : 'a result';
            this.warn(new ProtocolError(`the sidecar answered with ${what} for unknown id ${JSON.stringify(id)}`, line));
            return;
        }
        this.pending.delete(id as number);
        if (this.pending.size === 0) this.setRef(false);
        if ('error' in m && m.error !== undefined && m.error !== null) {
            const e = m.error as { code?: unknown; message?: unknown; data?: unknown };
            p.reject(
                new RpcError(
                    p.method,
                    typeof e.code === 'number' ? e.code : ErrorCode.INTERNAL_ERROR,
                    typeof e.message === 'string' ? e.message : 'error',
                    e.data,
                ),
            );
        } else {
            p.resolve(m.result);
        }
    }

    private onStderr(chunk: string): void {
        const text = this.stderrPartial + chunk;
        const lines = text.split('\n');
        this.stderrPartial = lines.pop() ?? '';
        if (this.stderrPartial.length > 4096) {
            lines.push(this.stderrPartial);
            this.stderrPartial = '';
        }
        for (const l of lines) this.pushStderr(l);
    }

    private pushStderr(line: string): void {
        this.stderrTail.push(line);
        if (this.stderrTail.length > this.stderrMax) this.stderrTail.shift();
        this.emit('stderr', line);
    }

    private warn(err: ProtocolError): void {
        this.emit('warning', err);
    }
}

/** One sentence on how the sidecar went away, then its last stderr lines. */
export function describeExit(binary: string, info: SidecarExit, stderr: string[]): string {
    const how =
        info.reason === 'hang'
            ? `was killed after it stopped answering health checks`
            : info.exitCode !== null
              ? `exited with status ${info.exitCode}`
              : info.signal !== null
                ? `was killed by ${info.signal}`
                : `could not be started`;
    return `${binary} serve (pid ${info.pid ?? 'none'}) ${how}${quoteStderr(stderr)}`;
}

export function quoteStderr(stderr: string[]): string {
    const lines = stderr.filter((l) => l.trim() !== '');
    if (lines.length === 0) return '; it wrote nothing to stderr';
    return `; its last stderr lines:\n${lines.map((l) => `  | ${l}`).join('\n')}`;
}
